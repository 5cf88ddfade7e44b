#include "in_process_ccid_server.h"

#include "vscard/ccid/ccid_device.h"
#include "vscard/ccid/link_wire.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace vscard::test {

namespace {

// Answers at once, on the server's thread, as the device model expects of a CardPort.
class EchoCard : public ccid::CardPort {
public:
    bool acceptsExtendedApdu() const override { return true; }
    bool forwardsPower() const override { return false; }
    void transmit(Bytes command, Completion done) override
    {
        done(InProcessCcidServer::echoAnswer(command));
    }
    void power(PowerAction, Completion done) override { done(InProcessCcidServer::atr()); }
};

bool writeAll(int fd, const Bytes& bytes)
{
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        const ssize_t written = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return false;
        sent += static_cast<std::size_t>(written);
    }
    return true;
}

} // namespace

Bytes InProcessCcidServer::atr()
{
    return {0x3B, 0x7A, 0x18, 0x00, 0x00, 0x73, 0x66, 0x74,
            0x65, 0x20, 0x63, 0x64, 0x31, 0x34, 0x34};
}

Bytes InProcessCcidServer::echoAnswer(ByteView command)
{
    Bytes answer;
    if (command.size() > 5)
        answer.assign(command.begin() + 5,
                      command.begin() + 5 + std::min<std::size_t>(command[4], command.size() - 5));
    answer.push_back(0x90);
    answer.push_back(0x00);
    return answer;
}

InProcessCcidServer::InProcessCcidServer(std::string socketPath, std::uint16_t slots)
    : socketPath_(std::move(socketPath)), slots_(slots)
{
}

InProcessCcidServer::~InProcessCcidServer()
{
    stop();
}

bool InProcessCcidServer::start()
{
    stop();
    if (::pipe2(wake_, O_CLOEXEC) != 0)
        return false;
    const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socketPath_.c_str(), sizeof address.sun_path - 1);
    ::unlink(socketPath_.c_str());
    if (listener < 0 ||
        ::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener, 4) != 0) {
        const int saved = errno;
        if (listener >= 0)
            ::close(listener);
        errno = saved;
        return false;
    }
    thread_ = std::thread([this, listener] { run(listener); });
    return true;
}

void InProcessCcidServer::stop()
{
    if (!thread_.joinable())
        return;
    const char wake = 1;
    [[maybe_unused]] const ssize_t written = ::write(wake_[1], &wake, 1);
    thread_.join();
    ::close(wake_[0]);
    ::close(wake_[1]);
    wake_[0] = wake_[1] = -1;
    ::unlink(socketPath_.c_str());
}

void InProcessCcidServer::run(int listener)
{
    int client = -1;
    link::FrameDecoder decoder;
    std::unique_ptr<ccid::CcidDevice> device;
    auto dropClient = [&] {
        device.reset();
        if (client >= 0)
            ::close(client);
        client = -1;
        decoder = link::FrameDecoder();
    };
    for (;;) {
        pollfd fds[3] = {{wake_[0], POLLIN, 0}, {listener, POLLIN, 0}, {client, POLLIN, 0}};
        if (::poll(fds, client >= 0 ? 3 : 2, -1) < 0 && errno != EINTR)
            break;
        if (fds[0].revents != 0)
            break;
        if (fds[1].revents != 0) {
            const int accepted = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
            if (accepted >= 0 && client >= 0)
                ::close(accepted); // one driver at a time, as server-ccid's pcsc socket
            else if (accepted >= 0)
                client = accepted;
        }
        if (client < 0 || (fds[2].revents == 0))
            continue;
        std::uint8_t buffer[16384];
        const ssize_t received = ::recv(client, buffer, sizeof buffer, 0);
        if (received <= 0) {
            dropClient();
            continue;
        }
        decoder.feed(ByteView(buffer, static_cast<std::size_t>(received)));
        bool broken = false;
        while (auto frame = decoder.next()) {
            if (!*frame) {
                broken = true;
                break;
            }
            const link::Frame& f = **frame;
            if (f.kind == link::FrameKind::Hello && !device) {
                const auto hello = link::parseGreeting(f.payload);
                if (!hello) {
                    broken = true;
                    break;
                }
                const auto slots =
                    static_cast<std::uint16_t>(std::min<std::uint32_t>(hello->slotCount, slots_));
                const int fd = client;
                ccid::CcidDevice::Output output;
                output.bulkIn = [fd](const Bytes& reply) {
                    writeAll(fd, link::encodeFrame(link::FrameKind::Bulk, reply));
                };
                output.interrupt = [fd](const Bytes& notification) {
                    writeAll(fd, link::encodeFrame(link::FrameKind::Interrupt, notification));
                };
                output.log = [](const std::string&) {};
                ccid::DeviceConfig config;
                config.slotCount = slots;
                device = std::make_unique<ccid::CcidDevice>(config, output);
                writeAll(client, link::encodeGreeting(link::FrameKind::Welcome,
                                                      link::Greeting{link::kLinkVersion, slots}));
                for (std::uint16_t slot = 0; slot < slots; ++slot)
                    device->insertCard(static_cast<std::uint8_t>(slot),
                                       std::make_shared<EchoCard>(), atr());
                ++greeted_;
            } else if (f.kind == link::FrameKind::Bulk && device) {
                device->handleCommand(f.payload);
            } else {
                broken = true;
                break;
            }
        }
        if (broken)
            dropClient();
    }
    dropClient();
    ::close(listener);
}

} // namespace vscard::test
