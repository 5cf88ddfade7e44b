// bench-hop-floor HOPS COUNT: the least a request/reply costs on this machine when it passes
// through HOPS other processes, each woken by the one before it, with nothing else to do.
// The application process sends 12 bytes down a chain of Unix socket pairs; HOPS-1 relays
// forward it, the last process answers, the answer comes back the same way. This is the PC/SC
// round trip without pcsc-lite, a driver or a card: app, pcscd, card process is 2 hops (vpcd
// and server-ccid's own emulated card), one more for a VSCard client behind server-ccid.
// Prints, like bench-pcsc-load:
//   RESULT apdus=N seconds=S p50_us=X p99_us=Y
// and every round trip in microseconds to $BENCH_SAMPLES when set.
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

constexpr std::size_t kMessageSize = 12; // a VSCard header's worth

[[noreturn]] void die(const char* what)
{
    std::perror(what);
    std::_Exit(1);
}

void readMessage(int fd, unsigned char* buffer)
{
    std::size_t done = 0;
    while (done < kMessageSize) {
        const ssize_t got = ::read(fd, buffer + done, kMessageSize - done);
        if (got <= 0)
            std::_Exit(0); // the chain is being torn down
        done += static_cast<std::size_t>(got);
    }
}

void writeMessage(int fd, const unsigned char* buffer)
{
    if (::write(fd, buffer, kMessageSize) != static_cast<ssize_t>(kMessageSize))
        die("bench-hop-floor: write");
}

// A relay passes each message right and its answer left; the end of the chain (right < 0)
// answers itself.
[[noreturn]] void serve(int left, int right)
{
    unsigned char buffer[kMessageSize];
    for (;;) {
        readMessage(left, buffer);
        if (right >= 0) {
            writeMessage(right, buffer);
            readMessage(right, buffer);
        }
        writeMessage(left, buffer);
    }
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 3 || std::atoi(argv[1]) < 1 || std::atoi(argv[2]) < 1) {
        std::fprintf(stderr, "usage: bench-hop-floor HOPS COUNT\n");
        return 2;
    }
    const int hops = std::atoi(argv[1]);
    const int count = std::atoi(argv[2]);
    // pairs[i] links process i (0: this one) with process i+1.
    std::vector<int> leftEnds, rightEnds;
    for (int i = 0; i < hops; ++i) {
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0)
            die("bench-hop-floor: socketpair");
        leftEnds.push_back(pair[0]);
        rightEnds.push_back(pair[1]);
    }
    std::vector<pid_t> children;
    for (int i = 1; i <= hops; ++i) {
        const pid_t child = ::fork();
        if (child < 0)
            die("bench-hop-floor: fork");
        if (child == 0) {
            const int left = rightEnds[static_cast<std::size_t>(i - 1)];
            const int right = i < hops ? leftEnds[static_cast<std::size_t>(i)] : -1;
            for (int fd : leftEnds)
                if (fd != right)
                    ::close(fd);
            for (int fd : rightEnds)
                if (fd != left)
                    ::close(fd);
            serve(left, right);
        }
        children.push_back(child);
    }
    const int chain = leftEnds[0];
    for (std::size_t i = 0; i < rightEnds.size(); ++i) {
        ::close(rightEnds[i]);
        if (i > 0)
            ::close(leftEnds[i]);
    }

    unsigned char buffer[kMessageSize] = {0x00, 0x20, 0x00, 0x00};
    auto roundTrip = [&] {
        writeMessage(chain, buffer);
        readMessage(chain, buffer);
    };
    for (int i = 0; i < std::min(count / 10 + 5, 50); ++i)
        roundTrip();
    std::vector<double> micros;
    micros.reserve(static_cast<std::size_t>(count));
    const auto begin = std::chrono::steady_clock::now();
    for (int i = 0; i < count; ++i) {
        const auto start = std::chrono::steady_clock::now();
        roundTrip();
        micros.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                .count());
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    ::close(chain); // every relay reads end of file in turn and exits
    for (pid_t child : children)
        ::waitpid(child, nullptr, 0);

    std::vector<double> sorted = micros;
    std::sort(sorted.begin(), sorted.end());
    auto percentile = [&](double p) {
        return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(p * sorted.size()))];
    };
    std::printf("RESULT apdus=%d seconds=%.6f p50_us=%.1f p99_us=%.1f\n", count, seconds,
                percentile(0.50), percentile(0.99));
    if (const char* path = std::getenv("BENCH_SAMPLES")) {
        if (FILE* out = std::fopen(path, "w")) {
            for (double value : micros)
                std::fprintf(out, "%.1f\n", value);
            std::fclose(out);
        }
    }
    return 0;
}
