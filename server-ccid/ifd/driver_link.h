// The driver's end of the link to server-ccid: one per reader.conf entry, shared by its slots.
// A thread keeps the connection (and reconnects while the server is down) and turns
// NotifySlotChange into card events. Replies go to the callers waiting for them; while
// callers wait, one of them reads the socket itself (the others are handed their replies), so
// that a reply wakes its caller directly instead of the link's thread, which then stays out
// of the way until the link has been idle a moment. Every call from pcscd returns within a
// bounded time, whatever the server does.
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

    void runGuarded() noexcept; // the thread: run() with nothing escaping
    void run();
    int connectToServer();
    void serve(int fd);
    // One recv on the link and every whole frame in it handled; false when the link broke.
    // Only the holder of the reading turn calls it, without mutex_.
    bool readOnceGuarded(int fd) noexcept; // readOnce, a failure counted as a broken link
    bool readOnce(int fd);
    void onFrame(const link::Frame& frame);
    void onSlotChange(const Bytes& notification);
    void markDisconnected();
    bool writeAll(const Bytes& bytes);
    void sleepUnlessStopping(std::chrono::milliseconds duration);

    const std::string socketPath_;
    const unsigned slotCount_;
    std::mutex mutex_;
    // Two conditions, so that a reply wakes only its caller, not pcscd's event threads (one
    // per slot, each in waitForEvent): card events, connection changes, stopping.
    std::condition_variable changed_;
    // Replies, connection changes, stopping: what exchange() waits for.
    std::condition_variable replied_;
    std::vector<Slot> slots_;
    std::uint64_t linkGeneration_ = 0; // moves on with every connection that ends
    bool welcomed_ = false;
    bool stopping_ = false;
    std::uint8_t nextSeq_ = 0;
    // The reading turn: who may recv on the link now (the link's thread or one caller).
    bool readerActive_ = false;
    bool threadReading_ = false; // the link's thread has the turn, blocked in poll
    bool linkBroken_ = false;    // a caller's recv saw the link end
    int waitingCallers_ = 0;
    std::chrono::steady_clock::time_point lastExchange_;
    link::FrameDecoder decoder_; // used only by the holder of the reading turn
    int readFd_ = -1;
    int fd_ = -1;
    int wakePipe_[2] = {-1, -1};
    std::mutex writeMutex_;
    std::thread thread_;
};

} // namespace vscard::ifd
