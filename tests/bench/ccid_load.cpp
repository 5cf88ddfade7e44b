// bench-ccid-load SOCKET SLOTS SECONDS [RATE]: drives server-ccid through its driver socket the
// way pcscd's driver does, but with as many slots as CCID allows (pcscd stops at 16). Powers
// every slot's card on, then keeps one XfrBlock in flight per slot for SECONDS: back to back
// (saturation), or RATE APDUs per second per slot (paced). Prints
//   RESULT apdus=N seconds=S p50_us=X p99_us=Y
// Latency runs from the write of a command to the read of its reply; time extensions are not
// replies.
#include "vscard/ccid/ccid_wire.h"
#include "vscard/ccid/link_wire.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace vscard;
using Clock = std::chrono::steady_clock;

namespace {

int connection = -1;
link::FrameDecoder decoder;

void die(const char* what)
{
    std::fprintf(stderr, "bench-ccid-load: %s\n", what);
    std::exit(1);
}

void send(link::FrameKind kind, const Bytes& payload)
{
    const Bytes frame = link::encodeFrame(kind, payload);
    std::size_t done = 0;
    while (done < frame.size()) {
        const ssize_t written = ::write(connection, frame.data() + done, frame.size() - done);
        if (written <= 0)
            die("write failed");
        done += static_cast<std::size_t>(written);
    }
}

// The next frame, waiting at most timeoutMs (-1: for ever); nullopt on timeout.
std::optional<link::Frame> nextFrame(int timeoutMs)
{
    for (;;) {
        if (auto next = decoder.next()) {
            if (!*next)
                die("bad frame from the server");
            return **next;
        }
        pollfd fd{connection, POLLIN, 0};
        const int ready = ::poll(&fd, 1, timeoutMs);
        if (ready == 0)
            return std::nullopt;
        std::uint8_t buffer[65536];
        const ssize_t got = ::read(connection, buffer, sizeof buffer);
        if (got <= 0)
            die("the server closed the link");
        decoder.feed(ByteView(buffer, static_cast<std::size_t>(got)));
    }
}

Bytes command(ccid::MessageType type, std::uint8_t slot, std::uint8_t seq, Bytes data = {})
{
    ccid::Message message;
    message.type = static_cast<std::uint8_t>(type);
    message.slot = slot;
    message.seq = seq;
    message.data = std::move(data);
    return ccid::encode(message);
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 4 && argc != 5) {
        std::fprintf(stderr, "usage: bench-ccid-load SOCKET SLOTS SECONDS [RATE]\n");
        return 2;
    }
    const unsigned slots = static_cast<unsigned>(std::atoi(argv[2]));
    const double seconds = std::atof(argv[3]);
    const double rate = argc == 5 ? std::atof(argv[4]) : 0;
    connection = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, argv[1], sizeof address.sun_path - 1);
    if (::connect(connection, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        die("cannot connect to the driver socket");
    {
        const Bytes hello =
            link::encodeGreeting(link::FrameKind::Hello, link::Greeting{link::kLinkVersion, slots});
        if (::write(connection, hello.data(), hello.size()) != static_cast<ssize_t>(hello.size()))
            die("write failed");
    }
    for (;;) {
        const auto frame = nextFrame(10000);
        if (!frame)
            die("no welcome");
        if (frame->kind == link::FrameKind::Welcome) {
            const auto granted = link::parseGreeting(frame->payload);
            if (!granted || granted->slotCount < slots)
                die("the server granted fewer slots");
            break;
        }
    }
    // Every card powered on first.
    for (unsigned slot = 0; slot < slots; ++slot)
        send(link::FrameKind::Bulk,
             command(ccid::MessageType::IccPowerOn, static_cast<std::uint8_t>(slot), 0));
    for (unsigned powered = 0; powered < slots;) {
        const auto frame = nextFrame(20000);
        if (!frame)
            die("cards did not power on");
        if (frame->kind != link::FrameKind::Bulk)
            continue;
        const auto reply = ccid::parseMessage(frame->payload);
        if (!reply ||
            ccid::commandStatusOf(reply->specific[0]) == ccid::CommandStatus::TimeExtension)
            continue;
        if (ccid::commandStatusOf(reply->specific[0]) != ccid::CommandStatus::Ok)
            die("a card did not power on");
        ++powered;
    }

    const Bytes apdu{0x00, 0x20, 0x00, 0x00};
    std::vector<Clock::time_point> sentAt(slots);
    std::vector<Clock::time_point> dueAt(slots);
    std::vector<bool> inFlight(slots, false);
    std::vector<std::uint8_t> seq(slots, 0);
    std::vector<double> micros;
    micros.reserve(1 << 20);
    const auto period =
        rate > 0
            ? std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate))
            : Clock::duration::zero();
    const auto begin = Clock::now();
    const auto end =
        begin + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    // Paced slots start spread over one period, as independent guests would.
    for (unsigned slot = 0; slot < slots; ++slot)
        dueAt[slot] = begin + period * slot / std::max(slots, 1u);
    std::size_t outstanding = 0;
    for (;;) {
        const auto now = Clock::now();
        if (now < end) {
            for (unsigned slot = 0; slot < slots; ++slot) {
                if (inFlight[slot] || dueAt[slot] > now)
                    continue;
                sentAt[slot] = Clock::now();
                send(link::FrameKind::Bulk,
                     command(ccid::MessageType::XfrBlock, static_cast<std::uint8_t>(slot),
                             ++seq[slot], apdu));
                inFlight[slot] = true;
                ++outstanding;
            }
        } else if (outstanding == 0) {
            break;
        }
        int timeoutMs = -1;
        if (outstanding < slots && now < end && rate > 0) {
            auto next = end;
            for (unsigned slot = 0; slot < slots; ++slot)
                if (!inFlight[slot])
                    next = std::min(next, dueAt[slot]);
            timeoutMs = static_cast<int>(
                std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count());
            timeoutMs = std::max(timeoutMs, 0);
        }
        const auto frame = nextFrame(outstanding == 0 ? std::max(timeoutMs, 0) : timeoutMs);
        if (!frame || frame->kind != link::FrameKind::Bulk)
            continue;
        const auto reply = ccid::parseMessage(frame->payload);
        if (!reply || reply->slot >= slots || !inFlight[reply->slot] ||
            ccid::commandStatusOf(reply->specific[0]) == ccid::CommandStatus::TimeExtension)
            continue;
        const auto received = Clock::now();
        micros.push_back(
            std::chrono::duration<double, std::micro>(received - sentAt[reply->slot]).count());
        inFlight[reply->slot] = false;
        --outstanding;
        dueAt[reply->slot] = rate > 0 ? sentAt[reply->slot] + period : received;
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
    std::sort(micros.begin(), micros.end());
    if (micros.empty())
        die("no APDU answered");
    std::printf("RESULT apdus=%zu seconds=%.6f p50_us=%.1f p99_us=%.1f\n", micros.size(), elapsed,
                micros[micros.size() / 2],
                micros[std::min(micros.size() - 1, micros.size() * 99 / 100)]);
    return 0;
}
