// A connection storm against a serving card: issue 20's probe as figures. A healthy card
// (scripted VSCard client) answers a heartbeat APDU every 50 ms through the driver link (the
// real driver, dlopened, as pcscd would reach it), first in calm, then while one address
// holds 500 idle TCP connections and makes 2,000 connect/close cycles, with the server's
// default caps. Printed side by side: heartbeat p50, p99, worst round trip and the largest
// gap between heartbeats, calm and storm, their ratios, and how long after the storm a new
// VSCard client from the same address waits for the server's Init. Asserts only that every
// heartbeat was answered with 90 00 (the card must never be lost); times are figures.
#include "bench_report.h"
#include "loaded_ifd_driver.h"
#include "pcsc_rig.h"

#include <QElapsedTimer>
#include <QRegularExpression>
#include <QtTest>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Beat {
    Clock::time_point start;
    double microseconds = 0;
    bool answered = false;
};

struct Figures {
    double p50 = 0, p99 = 0, worst = 0, largestGapMs = 0;
    int beats = 0, failed = 0;
};

Figures summarize(const std::vector<Beat>& beats)
{
    Figures figures;
    std::vector<double> latencies;
    for (std::size_t i = 0; i < beats.size(); ++i) {
        latencies.push_back(beats[i].microseconds);
        figures.failed += beats[i].answered ? 0 : 1;
        if (i > 0)
            figures.largestGapMs = std::max(
                figures.largestGapMs,
                std::chrono::duration<double, std::milli>(beats[i].start - beats[i - 1].start)
                    .count());
    }
    figures.beats = static_cast<int>(beats.size());
    figures.p50 = vscard::bench::percentile(latencies, 0.5);
    figures.p99 = vscard::bench::percentile(latencies, 0.99);
    figures.worst = latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());
    return figures;
}

int connectTcp(quint16 port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// A VSCard client's Init; the server answers with its own (24 bytes).
const QByteArray kInit = QByteArray::fromHex("00000001000000000000000C565343440000000200000000");

// Milliseconds from connect until the server's Init has arrived; -1 if it did not in 10 s.
double msUntilServed(quint16 port)
{
    QElapsedTimer waited;
    waited.start();
    const int fd = connectTcp(port);
    if (fd < 0)
        return -1;
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    (void)!::send(fd, kInit.constData(), static_cast<std::size_t>(kInit.size()), MSG_NOSIGNAL);
    std::array<char, 64> answer{};
    std::size_t got = 0;
    while (got < 24) {
        const ssize_t part = ::recv(fd, answer.data() + got, answer.size() - got, 0);
        if (part <= 0)
            break;
        got += static_cast<std::size_t>(part);
    }
    ::close(fd);
    return got >= 24 ? static_cast<double>(waited.nsecsElapsed()) / 1e6 : -1;
}

} // namespace

class BenchConnectionStorm : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void storm();
};

void BenchConnectionStorm::storm()
{
    vscard::test::PcscRig rig(1);
    rig.serverTrace.clear();
    rig.extraServerArguments << "--listen"
                             << "tcp:127.0.0.1:0";
    QVERIFY2(rig.startServer(), qPrintable(rig.error()));
    static const QRegularExpression tcp("accepting VSCard clients on tcp:127.0.0.1:(\\d+)");
    QTRY_VERIFY_WITH_TIMEOUT(tcp.match(rig.serverLog()).hasMatch(), 10000);
    const auto port = static_cast<quint16>(tcp.match(rig.serverLog()).captured(1).toUInt());
    QVERIFY(vscard::test::waitReady(
        rig.startClient({"--reader", "Healthy=" + vscard::test::kCacAtr, "--quiet"})));
    vscard::test::LoadedIfdDriver driver;
    QVERIFY2(driver.load(VSCARD_IFD_LIB), dlerror());
    QByteArray device = (rig.pcscSocket() + ":slots=1").toUtf8();
    QCOMPARE(driver.create(0, device.data()), RESPONSECODE(IFD_SUCCESS));
    QTRY_COMPARE_WITH_TIMEOUT(driver.presence(0), RESPONSECODE(IFD_ICC_PRESENT), 10000);
    std::array<UCHAR, MAX_ATR_SIZE> atr{};
    DWORD atrLength = atr.size();
    QCOMPARE(driver.power(0, IFD_POWER_UP, atr.data(), &atrLength), RESPONSECODE(IFD_SUCCESS));

    std::mutex mutex;
    std::vector<Beat> beats;
    std::atomic<bool> stop{false};
    std::thread heart([&] {
        while (!stop) {
            Beat beat;
            beat.start = Clock::now();
            beat.answered = driver.selectAnswers9000(0);
            beat.microseconds =
                std::chrono::duration<double, std::micro>(Clock::now() - beat.start).count();
            {
                const std::lock_guard lock(mutex);
                beats.push_back(beat);
            }
            std::this_thread::sleep_until(beat.start + std::chrono::milliseconds(50));
        }
    });
    const auto beatsSince = [&](Clock::time_point from, Clock::time_point to) {
        const std::lock_guard lock(mutex);
        std::vector<Beat> picked;
        for (const Beat& beat : beats)
            if (beat.start >= from && beat.start < to)
                picked.push_back(beat);
        return picked;
    };

    const int holdSeconds = vscard::bench::fullRun() ? 12 : 3;
    const auto calmStart = Clock::now();
    QTest::qWait(holdSeconds * 1000);
    const auto stormStart = Clock::now();
    std::vector<int> held;
    for (int i = 0; i < 500; ++i)
        if (const int fd = connectTcp(port); fd >= 0)
            held.push_back(fd);
    for (int i = 0; i < 2000; ++i)
        if (const int fd = connectTcp(port); fd >= 0)
            ::close(fd);
    const double servedDuring = msUntilServed(port);
    QTest::qWait(holdSeconds * 1000);
    for (const int fd : held)
        ::close(fd);
    const auto stormEnd = Clock::now();
    QTest::qWait(300);
    const double servedAfter = msUntilServed(port);
    stop = true;
    heart.join();
    driver.close(0);

    const Figures calm = summarize(beatsSince(calmStart, stormStart));
    const Figures storm = summarize(beatsSince(stormStart, stormEnd));
    std::printf("\nConnection storm: 500 idle TCP connections held %d s and 2,000 connect/close "
                "cycles from 127.0.0.1, default caps; heartbeat every 50 ms through the driver\n",
                holdSeconds);
    std::printf("  %-8s %7s %7s %10s %10s %10s %14s\n", "phase", "beats", "failed", "p50 us",
                "p99 us", "worst us", "largest gap ms");
    for (const auto& [name, figures] : {std::pair{"calm", calm}, std::pair{"storm", storm}})
        std::printf("  %-8s %7d %7d %10.0f %10.0f %10.0f %14.0f\n", name, figures.beats,
                    figures.failed, figures.p50, figures.p99, figures.worst, figures.largestGapMs);
    std::printf("  ratios storm/calm: p50 %.2f, p99 %.2f, largest gap %.2f\n",
                storm.p50 / std::max(calm.p50, 1.0), storm.p99 / std::max(calm.p99, 1.0),
                storm.largestGapMs / std::max(calm.largestGapMs, 1.0));
    std::printf("  a new client from the same address: %s during the storm (its cap is "
                "taken), served %.1f ms after connecting once the storm is over\n",
                servedDuring < 0 ? "refused" : "served", servedAfter);

    vscard::bench::Report report("connection_storm");
    for (const auto& [name, figures] : {std::pair{"calm", calm}, std::pair{"storm", storm}})
        report.add(name, QJsonObject{{"beats", figures.beats},
                                     {"failed", figures.failed},
                                     {"p50_us", figures.p50},
                                     {"p99_us", figures.p99},
                                     {"worst_us", figures.worst},
                                     {"largest_gap_ms", figures.largestGapMs}});
    report.add("new client after the storm", QJsonObject{{"served_ms", servedAfter}});
    std::printf("  figures in %s\n", qPrintable(report.write()));

    QCOMPARE(calm.failed, 0);
    QCOMPARE(storm.failed, 0);
    QVERIFY2(storm.beats > 0, "no heartbeat during the storm");
    QVERIFY2(servedAfter >= 0, "a new client was not served after the storm");
}

QTEST_GUILESS_MAIN(BenchConnectionStorm)
#include "bench_connection_storm.moc"
