// The server side of the pcscd driver's link, in the test's own process and Qt-free: a thread
// that listens on a Unix socket as server-ccid does, greets the driver, and serves the CCID
// device model (vscard::ccid::CcidDevice) with an echo card in every slot. It can be stopped
// and started again on the same path, as a restarting server-ccid would be. Made for tests of
// the driver dlopened in-process, under ASan and TSan (nothing of Qt runs on its thread).
#pragma once

#include "vscard/bytes.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace vscard::test {

class InProcessCcidServer {
public:
    // The ATR of every echo card.
    static Bytes atr();
    // What an echo card answers to a command APDU: its data field, then 90 00.
    static Bytes echoAnswer(ByteView command);

    InProcessCcidServer(std::string socketPath, std::uint16_t slots);
    ~InProcessCcidServer();
    InProcessCcidServer(const InProcessCcidServer&) = delete;
    InProcessCcidServer& operator=(const InProcessCcidServer&) = delete;

    // Listens (false with errno set if it cannot); stop() closes the listener and the link.
    bool start();
    void stop();
    // How many links it has greeted since it was made.
    int greeted() const { return greeted_.load(); }

private:
    void run(int listener);

    std::string socketPath_;
    std::uint16_t slots_;
    int wake_[2] = {-1, -1};
    std::thread thread_;
    std::atomic<int> greeted_{0};
};

} // namespace vscard::test
