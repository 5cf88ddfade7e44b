// The driver's end of the link to server-ccid: one per reader.conf entry, shared by its slots.
// A thread keeps the connection (and reconnects while the server is down), matches CCID replies
// to the callers waiting for them, and turns NotifySlotChange into card events. Every call
// from pcscd returns within a bounded time, whatever the server does.
#pragma once

#include "vscard/ccid/ccid_wire.h"
#include "vscard/ccid/link_wire.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vscard::ifd {

class DriverLink {
public:
    DriverLink(std::string socketPath, unsigned slotCount);
    ~DriverLink();
    DriverLink(const DriverLink&) = delete;
    DriverLink& operator=(const DriverLink&) = delete;

    unsigned slotCount() const { return slotCount_; }
    const std::string& socketPath() const { return socketPath_; }

    // Sends a CCID command for the slot and waits for its reply. The wait ends with an error
    // when the link drops or the server stays silent (no reply and no time extension) too long.
    Result<ccid::Message, std::string> exchange(ccid::Message command);

    // The card state pcscd should see now. A card that was replaced since the previous call
    // is reported absent once, so that pcscd notices the change.
    bool reportPresence(std::uint8_t slot);
    // Blocks until the slot's card state changes, stopWaiting() is called, or the timeout.
    void waitForEvent(std::uint8_t slot, int timeoutMs);
    // Interrupts the current wait, or the next one if none is running.
    void stopWaiting(std::uint8_t slot);

private:
    struct Slot {
        bool present = false;
        std::uint64_t cardGeneration = 0; // moves on with every card that arrives
        bool reportedPresent = false;     // what pcscd last heard
        std::uint64_t reportedGeneration = 0;
        bool revisit = false; // pcscd must look again at once
        std::uint64_t events = 0;
        std::uint64_t eventsSeen = 0;
        bool stopRequested = false;
        bool waiting = false;
        std::uint8_t seq = 0;
        std::optional<ccid::Message> reply;
        std::chrono::steady_clock::time_point lastHeard;
    };

    void run();
    int connectToServer();
    void serve(int fd);
    void onFrame(const link::Frame& frame);
    void onSlotChange(const Bytes& notification);
    void markDisconnected();
    bool writeAll(const Bytes& bytes);
    void sleepUnlessStopping(std::chrono::milliseconds duration);

    const std::string socketPath_;
    const unsigned slotCount_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<Slot> slots_;
    std::uint64_t linkGeneration_ = 0; // moves on with every connection that ends
    bool welcomed_ = false;
    bool stopping_ = false;
    std::uint8_t nextSeq_ = 0;
    int fd_ = -1;
    int wakePipe_[2] = {-1, -1};
    std::mutex writeMutex_;
    std::thread thread_;
};

} // namespace vscard::ifd
