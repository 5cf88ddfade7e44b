// Throughput of the VSCard decoder when the stream arrives in pieces of different sizes, side by
// side with the whole stream in one piece (the baseline): the cost of reassembly. Prints
// figures; asserts only that every message came out. Smoke mode by default; set
// VSCARD_BENCH_FULL=1 for a run long enough to compare machines.
#include "bench_report.h"
#include "hex_bytes.h"
#include "vscard/vscard_wire.h"

#include <QElapsedTimer>
#include <QtTest>

#include <cstdio>

using namespace vscard;

namespace {

struct Figures {
    double seconds;
    std::size_t messages;
};

// A typical CAC session: short commands, responses of a few bytes to a couple of KiB.
Bytes typicalStream(std::size_t exchanges)
{
    Bytes stream;
    const Bytes command = test::fromHex("8052000002010200");
    for (std::size_t i = 0; i < exchanges; ++i) {
        const Bytes wire = encodeMessage(MessageType::Apdu, 0, command);
        stream.insert(stream.end(), wire.begin(), wire.end());
        const Bytes response(2 + (i * 37) % 2048, static_cast<std::uint8_t>(i));
        const Bytes reply = encodeMessage(MessageType::Apdu, 0, response);
        stream.insert(stream.end(), reply.begin(), reply.end());
    }
    return stream;
}

Figures decodeInChunks(const Bytes& stream, std::size_t chunk)
{
    QElapsedTimer timer;
    timer.start();
    MessageDecoder decoder;
    std::size_t messages = 0;
    for (std::size_t offset = 0; offset < stream.size(); offset += chunk) {
        decoder.feed(ByteView(stream).subspan(offset, std::min(chunk, stream.size() - offset)));
        while (auto next = decoder.next()) {
            if (!*next)
                return {0, 0};
            ++messages;
        }
    }
    return {static_cast<double>(timer.nsecsElapsed()) / 1e9, messages};
}

} // namespace

class BenchVscardCodec : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void decoder_chunkSizes_throughputTable();
};

void BenchVscardCodec::decoder_chunkSizes_throughputTable()
{
    const bool full = qEnvironmentVariableIntValue("VSCARD_BENCH_FULL") != 0;
    const std::size_t exchanges = full ? 200000 : 5000;
    const Bytes stream = typicalStream(exchanges);
    const double megabytes = static_cast<double>(stream.size()) / 1e6;

    std::printf("VSCard decoder, %zu messages, %.1f MB (%s mode)\n", exchanges * 2, megabytes,
                full ? "full" : "smoke");
    std::printf("%-28s %12s %10s %12s\n", "chunking", "msgs/s", "MB/s", "vs baseline");
    double baseline = 0;
    vscard::bench::Report report("vscard_codec");
    const std::pair<const char*, std::size_t> cases[] = {
        {"64 KiB reads (baseline)", 65536},
        {"whole stream in one piece", stream.size()},
        {"TCP segments (1448 B)", 1448},
        {"header-sized (12 B)", 12},
        {"byte by byte", 1},
    };
    for (const auto& [name, chunk] : cases) {
        const Figures figures = decodeInChunks(stream, chunk);
        QCOMPARE(figures.messages, exchanges * 2);
        const double rate = static_cast<double>(figures.messages) / figures.seconds;
        if (baseline == 0)
            baseline = rate;
        std::printf("%-28s %12.0f %10.1f %11.2fx\n", name, rate, megabytes / figures.seconds,
                    rate / baseline);
        report.add(name, QJsonObject{{"chunk_bytes", static_cast<double>(chunk)},
                                     {"messages_per_s", rate},
                                     {"mb_per_s", megabytes / figures.seconds},
                                     {"vs_baseline", rate / baseline}});
    }
    std::printf("  results: %s\n", qPrintable(report.write()));
}

QTEST_APPLESS_MAIN(BenchVscardCodec)
#include "bench_vscard_codec.moc"
