// bench-pcsc-load READER COUNT APDU: an application's view of a reader's speed. Connects to
// READER through pcsc-lite (PCSCLITE_CSOCK_NAME picks the pcscd), sends APDU (hex) COUNT
// times with SCardTransmit after a short warm-up, and prints one line:
//   RESULT apdus=N seconds=S p50_us=X p99_us=Y sw=XXXX
// Each SCardTransmit is timed alone: the figures are round trips, not pipelined throughput.
#include <winscard.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

std::vector<unsigned char> fromHex(const std::string& text)
{
    std::vector<unsigned char> bytes;
    std::string digits;
    for (char c : text)
        if (std::isxdigit(static_cast<unsigned char>(c)))
            digits += c;
    for (std::size_t i = 0; i + 1 < digits.size(); i += 2)
        bytes.push_back(static_cast<unsigned char>(std::stoi(digits.substr(i, 2), nullptr, 16)));
    return bytes;
}

int fail(const char* what, LONG rv)
{
    std::fprintf(stderr, "bench-pcsc-load: %s: %s\n", what, pcsc_stringify_error(rv));
    return 1;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 4) {
        std::fprintf(stderr, "usage: bench-pcsc-load READER COUNT APDUHEX\n");
        return 2;
    }
    const std::string reader = argv[1];
    const int count = std::atoi(argv[2]);
    const auto apdu = fromHex(argv[3]);
    SCARDCONTEXT context = 0;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context);
    if (rv != SCARD_S_SUCCESS)
        return fail("SCardEstablishContext", rv);
    SCARDHANDLE card = 0;
    DWORD protocol = 0;
    // The card may still be settling in a reader that just appeared: a few tries.
    for (int attempt = 0; attempt < 50; ++attempt) {
        rv = SCardConnect(context, reader.c_str(), SCARD_SHARE_SHARED,
                          SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card, &protocol);
        if (rv == SCARD_S_SUCCESS)
            break;
        struct timespec pause = {0, 100000000};
        nanosleep(&pause, nullptr);
    }
    if (rv != SCARD_S_SUCCESS)
        return fail("SCardConnect", rv);
    const SCARD_IO_REQUEST* pci = protocol == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0;
    unsigned char response[258];
    DWORD responseLength = 0;
    auto transmit = [&] {
        responseLength = sizeof response;
        return SCardTransmit(card, pci, apdu.data(), static_cast<DWORD>(apdu.size()), nullptr,
                             response, &responseLength);
    };
    for (int i = 0; i < std::min(count / 10 + 5, 50); ++i)
        if ((rv = transmit()) != SCARD_S_SUCCESS)
            return fail("SCardTransmit (warm-up)", rv);
    std::vector<double> micros;
    micros.reserve(static_cast<std::size_t>(count));
    const auto begin = std::chrono::steady_clock::now();
    for (int i = 0; i < count; ++i) {
        const auto start = std::chrono::steady_clock::now();
        if ((rv = transmit()) != SCARD_S_SUCCESS)
            return fail("SCardTransmit", rv);
        micros.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                .count());
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    std::sort(micros.begin(), micros.end());
    auto percentile = [&](double p) {
        return micros[std::min(micros.size() - 1, static_cast<std::size_t>(p * micros.size()))];
    };
    std::printf("RESULT apdus=%d seconds=%.6f p50_us=%.1f p99_us=%.1f sw=%02X%02X\n", count,
                seconds, percentile(0.50), percentile(0.99),
                responseLength >= 2 ? response[responseLength - 2] : 0,
                responseLength >= 2 ? response[responseLength - 1] : 0);
    // Every round trip, for the latency plot.
    if (const char* path = std::getenv("BENCH_SAMPLES")) {
        if (FILE* out = std::fopen(path, "w")) {
            for (double value : micros)
                std::fprintf(out, "%.1f\n", value);
            std::fclose(out);
        }
    }
    SCardDisconnect(card, SCARD_LEAVE_CARD);
    SCardReleaseContext(context);
    return 0;
}
