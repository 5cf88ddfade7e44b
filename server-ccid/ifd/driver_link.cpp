#include "driver_link.h"

#include "driver_log.h"
#include "vscard/fault_injection.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace vscard::ifd {

namespace {

using Clock = std::chrono::steady_clock;

// How long a command may go without a reply or a time extension; the server sends a time
// extension every second while a card works.
constexpr auto kSilenceLimit = std::chrono::seconds(5);
constexpr auto kReconnectInterval = std::chrono::milliseconds(500);
// How long after a caller's last exchange the callers keep reading the link themselves: back
// to back APDUs never hand the socket to the link's thread and back.
constexpr auto kCallerReadingGrace = std::chrono::milliseconds(50);
// A caller reading for itself looks up from poll this often to check its deadline.
constexpr int kCallerPollMs = 100;

} // namespace

DriverLink::DriverLink(std::string socketPath, unsigned slotCount)
    : socketPath_(std::move(socketPath)), slotCount_(slotCount), slots_(slotCount)
{
    if (::pipe2(wakePipe_, O_CLOEXEC | O_NONBLOCK) != 0)
        log("cannot create a pipe: %s", std::strerror(errno));
    thread_ = std::thread([this] { runGuarded(); });
}

DriverLink::~DriverLink()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    replied_.notify_all();
    const char wake = 1;
    [[maybe_unused]] const ssize_t written = ::write(wakePipe_[1], &wake, 1);
    if (thread_.joinable())
        thread_.join();
    ::close(wakePipe_[0]);
    ::close(wakePipe_[1]);
}

void DriverLink::sleepUnlessStopping(std::chrono::milliseconds duration)
{
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, duration, [this] { return stopping_; });
}

void DriverLink::runGuarded() noexcept
{
    // This thread runs in pcscd: an exception escaping it would terminate pcscd with every
    // reader. One that gets here is logged, and the link starts over after a pause.
    for (;;) {
        try {
            run();
            return;
        } catch (const std::exception& error) {
            log("link thread for %s: %s; connecting again", socketPath_.c_str(), error.what());
        } catch (...) {
            log("link thread for %s failed; connecting again", socketPath_.c_str());
        }
        try {
            markDisconnected();
            sleepUnlessStopping(kReconnectInterval);
        } catch (...) {
        }
    }
}

void DriverLink::run()
{
    bool reportedDown = false;
    for (;;) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_)
                return;
        }
        vscard::faultPoint("driver link thread"); // the restart in runGuarded, under test
        const int fd = connectToServer();
        if (fd < 0) {
            if (!reportedDown)
                log("server-ccid is not listening on %s (%s); slots stay empty until it does",
                    socketPath_.c_str(), std::strerror(errno));
            reportedDown = true;
            sleepUnlessStopping(kReconnectInterval);
            continue;
        }
        reportedDown = false;
        try {
            serve(fd);
        } catch (const std::exception& error) {
            log("link to server-ccid on %s: %s; connecting again", socketPath_.c_str(),
                error.what());
        }
        markDisconnected();
        ::close(fd);
    }
}

int DriverLink::connectToServer()
{
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    if (socketPath_.size() >= sizeof address.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    std::memcpy(address.sun_path, socketPath_.c_str(), socketPath_.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        const int saved = errno;
        ::close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

void DriverLink::serve(int fd)
{
    {
        std::lock_guard lock(writeMutex_);
        fd_ = fd;
    }
    {
        std::lock_guard lock(mutex_);
        decoder_ = link::FrameDecoder();
        readFd_ = fd;
        linkBroken_ = false;
    }
    if (!writeAll(link::encodeGreeting(link::FrameKind::Hello,
                                       link::Greeting{link::kLinkVersion, slotCount_})))
        return;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            // Callers read for themselves while they wait, and for a moment after: a card event
            // in between waits at most that long.
            for (;;) {
                if (stopping_ || linkBroken_) {
                    replied_.wait(lock, [this] { return !readerActive_; });
                    return;
                }
                const auto idleSince = lastExchange_ + kCallerReadingGrace;
                if (!readerActive_ && waitingCallers_ == 0 && Clock::now() >= idleSince)
                    break;
                if (readerActive_ || waitingCallers_ > 0)
                    replied_.wait(lock);
                else
                    replied_.wait_until(lock, idleSince);
            }
            readerActive_ = true;
            threadReading_ = true;
        }
        pollfd fds[2] = {{fd, POLLIN, 0}, {wakePipe_[0], POLLIN, 0}};
        const int ready = ::poll(fds, 2, -1);
        bool broken = false;
        if (ready > 0 && fds[1].revents != 0) {
            char drained[64];
            while (::read(wakePipe_[0], drained, sizeof drained) > 0) {
            }
        }
        if (ready > 0 && fds[0].revents != 0)
            broken = !readOnceGuarded(fd);
        std::lock_guard lock(mutex_);
        readerActive_ = false;
        threadReading_ = false;
        linkBroken_ = linkBroken_ || broken;
        replied_.notify_all();
    }
}

bool DriverLink::readOnceGuarded(int fd) noexcept
{
    // The thread holds the reading turn here: a failure must hand it back like a broken link.
    try {
        return readOnce(fd);
    } catch (const std::exception& error) {
        log("reading from server-ccid on %s: %s; the link is dropped", socketPath_.c_str(),
            error.what());
    } catch (...) {
        log("reading from server-ccid on %s failed; the link is dropped", socketPath_.c_str());
    }
    return false;
}

bool DriverLink::readOnce(int fd)
{
    vscard::faultPoint("driver-read");
    std::uint8_t buffer[16384];
    ssize_t received;
    do {
        received = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    } while (received < 0 && errno == EINTR);
    if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return true;
    if (received <= 0) {
        log("server-ccid on %s closed the link", socketPath_.c_str());
        return false;
    }
    decoder_.feed(ByteView(buffer, static_cast<std::size_t>(received)));
    while (auto frame = decoder_.next()) {
        if (!*frame) {
            log("link from %s broken: %s", socketPath_.c_str(), frame->error().message.c_str());
            return false;
        }
        onFrame(**frame);
    }
    return true;
}

void DriverLink::onFrame(const link::Frame& frame)
{
    switch (frame.kind) {
    case link::FrameKind::Welcome: {
        const auto greeting = link::parseGreeting(frame.payload);
        std::lock_guard lock(mutex_);
        welcomed_ = greeting && greeting->version == link::kLinkVersion;
        if (welcomed_)
            log("connected to server-ccid on %s, %u slots", socketPath_.c_str(), slotCount_);
        else
            log("server-ccid on %s speaks another link version", socketPath_.c_str());
        return;
    }
    case link::FrameKind::Interrupt: onSlotChange(frame.payload); return;
    case link::FrameKind::Bulk: {
        auto message = ccid::parseMessage(frame.payload);
        if (!message) {
            log("bad CCID reply: %s", message.error().message.c_str());
            return;
        }
        std::lock_guard lock(mutex_);
        if (message->slot >= slots_.size())
            return;
        Slot& slot = slots_[message->slot];
        if (!slot.waiting || slot.seq != message->seq)
            return; // an answer nobody waits for any more
        slot.lastHeard = Clock::now();
        if (ccid::commandStatusOf(message->specific[0]) != ccid::CommandStatus::TimeExtension)
            slot.reply = std::move(*message);
        replied_.notify_all();
        return;
    }
    default: return;
    }
}

void DriverLink::onSlotChange(const Bytes& notification)
{
    if (notification.empty() ||
        notification[0] != static_cast<std::uint8_t>(ccid::MessageType::NotifySlotChange))
        return;
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        const std::size_t byte = 1 + (i * 2) / 8;
        if (byte >= notification.size())
            break;
        const unsigned bits = notification[byte] >> ((i * 2) % 8);
        const bool present = (bits & 1) != 0;
        const bool changed = (bits & 2) != 0;
        Slot& slot = slots_[i];
        if (changed && present)
            ++slot.cardGeneration;
        if (changed || present != slot.present) {
            slot.present = present;
            ++slot.events;
        }
    }
    changed_.notify_all();
}

void DriverLink::markDisconnected()
{
    {
        std::lock_guard lock(writeMutex_);
        fd_ = -1;
    }
    std::unique_lock lock(mutex_);
    // No caller may be reading the socket when it closes (its number could be reused).
    readFd_ = -1;
    replied_.wait(lock, [this] { return !readerActive_; });
    welcomed_ = false;
    ++linkGeneration_;
    for (Slot& slot : slots_) {
        if (slot.present) {
            slot.present = false;
            ++slot.events;
        }
    }
    changed_.notify_all();
    replied_.notify_all();
}

bool DriverLink::writeAll(const Bytes& bytes)
{
    std::lock_guard lock(writeMutex_);
    std::size_t sent = 0;
    while (fd_ >= 0 && sent < bytes.size()) {
        const ssize_t written = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        sent += static_cast<std::size_t>(written);
    }
    return sent == bytes.size();
}

Result<ccid::Message, std::string> DriverLink::exchange(ccid::Message command)
{
    std::uint64_t generation = 0;
    {
        std::lock_guard lock(mutex_);
        if (!welcomed_)
            return fail(std::string("server-ccid is not connected"));
        if (command.slot >= slots_.size())
            return fail(std::string("no such slot"));
        Slot& slot = slots_[command.slot];
        command.seq = nextSeq_++;
        slot.waiting = true;
        slot.seq = command.seq;
        slot.reply.reset();
        slot.lastHeard = Clock::now();
        generation = linkGeneration_;
        ++waitingCallers_;
    }
    const bool sent = writeAll(link::encodeFrame(link::FrameKind::Bulk, ccid::encode(command)));
    std::unique_lock lock(mutex_);
    if (!sent && linkGeneration_ == generation && !linkBroken_) {
        // A failed write (EPIPE, ECONNRESET) is a broken link. The link's thread must hear it
        // from here: while callers keep failing like this, its turn to read the end of the
        // stream never comes, and it would never connect again (tst_driver_in_process).
        linkBroken_ = true;
        const char wake = 1;
        [[maybe_unused]] const ssize_t written = ::write(wakePipe_[1], &wake, 1);
    }
    Slot& slot = slots_[command.slot];
    auto finish = [&] {
        slot.waiting = false;
        --waitingCallers_;
        lastExchange_ = Clock::now();
        replied_.notify_all();
    };
    while (sent) {
        if (slot.reply) {
            auto reply = std::move(*slot.reply);
            slot.reply.reset();
            finish();
            return reply;
        }
        if (linkGeneration_ != generation || stopping_ || linkBroken_)
            break;
        if (Clock::now() - slot.lastHeard >= kSilenceLimit) {
            finish();
            return fail(std::string("server-ccid did not answer"));
        }
        if (!readerActive_ && readFd_ >= 0) {
            // Take the reading turn: the reply wakes this thread itself.
            readerActive_ = true;
            const int fd = readFd_;
            lock.unlock();
            pollfd pfd{fd, POLLIN, 0};
            const int ready = ::poll(&pfd, 1, kCallerPollMs);
            const bool broken = ready > 0 && !readOnceGuarded(fd);
            lock.lock();
            readerActive_ = false;
            if (broken) {
                linkBroken_ = true;
                const char wake = 1;
                [[maybe_unused]] const ssize_t written = ::write(wakePipe_[1], &wake, 1);
            }
            replied_.notify_all();
            continue;
        }
        if (threadReading_) {
            // The link's thread sits in poll: it yields the turn when woken.
            const char wake = 1;
            [[maybe_unused]] const ssize_t written = ::write(wakePipe_[1], &wake, 1);
        }
        replied_.wait_until(lock, slot.lastHeard + kSilenceLimit);
    }
    finish();
    return fail(std::string("the link to server-ccid dropped"));
}

bool DriverLink::reportPresence(std::uint8_t slotIndex)
{
    std::lock_guard lock(mutex_);
    if (slotIndex >= slots_.size())
        return false;
    Slot& slot = slots_[slotIndex];
    slot.eventsSeen = slot.events;
    if (!slot.present) {
        slot.reportedPresent = false;
        return false;
    }
    if (slot.reportedPresent && slot.reportedGeneration != slot.cardGeneration) {
        // Another card arrived since pcscd last looked: show it the gap, then the new card at
        // its very next look.
        slot.reportedPresent = false;
        slot.revisit = true;
        return false;
    }
    slot.reportedPresent = true;
    slot.reportedGeneration = slot.cardGeneration;
    return true;
}

void DriverLink::waitForEvent(std::uint8_t slotIndex, int timeoutMs)
{
    std::unique_lock lock(mutex_);
    if (slotIndex >= slots_.size())
        return;
    Slot& slot = slots_[slotIndex];
    changed_.wait_for(lock, std::chrono::milliseconds(timeoutMs), [&] {
        return stopping_ || slot.stopRequested || slot.revisit || slot.events != slot.eventsSeen;
    });
    slot.stopRequested = false;
    slot.revisit = false;
}

void DriverLink::stopWaiting(std::uint8_t slotIndex)
{
    {
        std::lock_guard lock(mutex_);
        if (slotIndex < slots_.size())
            slots_[slotIndex].stopRequested = true;
    }
    changed_.notify_all();
}

} // namespace vscard::ifd
