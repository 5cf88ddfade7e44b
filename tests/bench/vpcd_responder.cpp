// bench-vpcd-responder PORT: the card side of vsmartcard's vpcd driver, answering at once. vpcd
// (in pcscd, DEVICENAME 127.0.0.1:PORT) connects here for its first slot and to PORT+1 for its
// second (Debian's vpcd 3.3 crashes pcscd when nobody listens there); each message is a 2-byte
// big-endian length and its bytes: 1-byte control codes (0 off, 1 on, 2 reset, 4 ATR wanted) or an
// APDU, answered 90 00. TCP_NODELAY on our side: what is measured is vpcd's socket.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace {

bool readAll(int fd, std::uint8_t* data, std::size_t size)
{
    while (size > 0) {
        const ssize_t got = ::read(fd, data, size);
        if (got <= 0)
            return false;
        data += got;
        size -= static_cast<std::size_t>(got);
    }
    return true;
}

bool send(int fd, const std::vector<std::uint8_t>& payload)
{
    std::vector<std::uint8_t> message{static_cast<std::uint8_t>(payload.size() >> 8),
                                      static_cast<std::uint8_t>(payload.size())};
    message.insert(message.end(), payload.begin(), payload.end());
    return ::write(fd, message.data(), message.size()) == static_cast<ssize_t>(message.size());
}

void serve(int fd)
{
    const std::vector<std::uint8_t> atr{0x3B, 0x02, 0x14, 0x50};
    for (;;) {
        std::uint8_t header[2];
        if (!readAll(fd, header, 2))
            return;
        std::vector<std::uint8_t> message((header[0] << 8) | header[1]);
        if (!readAll(fd, message.data(), message.size()))
            return;
        if (message.size() == 1) {
            if (message[0] == 4 && !send(fd, atr))
                return;
            continue; // power off, on, reset: no answer
        }
        if (!send(fd, {0x90, 0x00}))
            return;
    }
}

int listenOn(int port)
{
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener, 4) != 0) {
        std::perror("bench-vpcd-responder: listen");
        std::exit(1);
    }
    return listener;
}

// Each connection is served in a thread of its own: vpcd keeps both slots connected.
void acceptLoop(int listener)
{
    const int one = 1;
    for (;;) {
        const int fd = ::accept(listener, nullptr, nullptr);
        if (fd < 0)
            continue;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        std::thread([fd] {
            serve(fd);
            ::close(fd);
        }).detach();
    }
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: bench-vpcd-responder PORT\n");
        return 2;
    }
    const int port = std::atoi(argv[1]);
    const int first = listenOn(port);
    const int second = listenOn(port + 1);
    std::printf("listening\n");
    std::fflush(stdout);
    std::thread(acceptLoop, second).detach();
    acceptLoop(first);
}
