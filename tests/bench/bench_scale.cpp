// Scale: one server-ccid with 1, 4, 16, 64 and 256 readers spread over up to 16 VSCard clients
// (scripted cards answering at once), driven through the driver socket by bench-ccid-load (pcscd
// itself stops at 16 readers). For each count: throughput at saturation (one APDU in flight per
// reader), server CPU time per APDU, p99 latency both saturated and paced (20 APDUs per second
// per reader, a busy guest), and the server's peak RSS. One server per count, all kept up, visited
// in interleaved rounds; figures are medians over the rounds. Issue 9's goals: CPU per APDU flat
// within 1.5x, saturation throughput at 256 at least that at 1, paced p99 at 256 under 10x the
// 1-reader one, RSS under 64 MiB. Asserts only that every run completed.
#include "bench_report.h"
#include "pcsc_rig.h"

#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QtTest>

#include <unistd.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace {

struct Load {
    double apdus = 0;
    double seconds = 0;
    double p50 = 0;
    double p99 = 0;
};

// utime + stime of a process, in seconds.
double cpuSeconds(qint64 pid)
{
    QFile file(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!file.open(QIODevice::ReadOnly))
        return 0;
    const QByteArray text = file.readAll();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
    return (fields.value(11).toDouble() + fields.value(12).toDouble()) /
           static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// VmHWM (peak resident set) of a process, in MiB.
double peakRssMiB(qint64 pid)
{
    QFile file(QStringLiteral("/proc/%1/status").arg(pid));
    if (!file.open(QIODevice::ReadOnly))
        return 0;
    const auto match = QRegularExpression("VmHWM:\\s+(\\d+) kB").match(file.readAll());
    return match.captured(1).toDouble() / 1024.0;
}

} // namespace

class BenchScale : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void readers_oneToTwoHundredFiftySix();

private:
    bool load(const QString& socket, int readers, double seconds, double rate, Load& result);
};

bool BenchScale::load(const QString& socket, int readers, double seconds, double rate, Load& result)
{
    QProcess process;
    process.setProcessChannelMode(QProcess::MergedChannels);
    QStringList arguments{socket, QString::number(readers), QString::number(seconds)};
    if (rate > 0)
        arguments << QString::number(rate);
    process.start(VSCARD_BENCH_CCID_LOAD, arguments);
    process.waitForFinished(static_cast<int>(seconds * 1000) + 60000);
    const QString output = QString::fromUtf8(process.readAll());
    const auto match = QRegularExpression("RESULT apdus=(\\d+) seconds=([0-9.]+) "
                                          "p50_us=([0-9.]+) p99_us=([0-9.]+)")
                           .match(output);
    if (!match.hasMatch()) {
        qWarning().noquote() << "bench-ccid-load:" << output;
        return false;
    }
    result = {match.captured(1).toDouble(), match.captured(2).toDouble(),
              match.captured(3).toDouble(), match.captured(4).toDouble()};
    return true;
}

void BenchScale::readers_oneToTwoHundredFiftySix()
{
    const bool full = vscard::bench::fullRun();
    const QList<int> counts = full ? QList<int>{1, 4, 16, 64, 256} : QList<int>{1, 16, 256};
    // Every reader count gets its own server, all started first and kept up; then rounds visit
    // the counts in turn (alternating direction), so a slow minute of this shared machine lands
    // on every count rather than on one. Each figure is the median of its rounds.
    const int rounds = full ? 4 : 2;
    const double seconds = full ? 3 : 1;
    const double pacedRate = 20;
    // A p99 needs samples past the hundredth: with one reader at 20 per second a short paced run
    // would report its maximum, so paced runs last until they have this many APDUs.
    const double pacedSamples = full ? 300 : 60;
    vscard::bench::Report report("scale");

    std::vector<std::unique_ptr<vscard::test::PcscRig>> rigs;
    for (const int readers : counts) {
        auto rig = std::make_unique<vscard::test::PcscRig>();
        rig->serverTrace.clear();
        // The stack's capacity, not the per-client flood limit's.
        rig->extraServerArguments = {"--max-readers", "256", "--client-rate", "0"};
        QVERIFY2(rig->startServer(), qPrintable(rig->error()));
        const int clients = std::min(readers, 16);
        for (int client = 0; client < clients; ++client) {
            QStringList arguments{"--quiet"};
            for (int i = 0; i < readers / clients; ++i)
                arguments
                    << "--reader"
                    << QStringLiteral("C%1R%2=%3").arg(client).arg(i).arg(vscard::test::kCacAtr);
            rig->startClient(arguments);
        }
        QTRY_VERIFY_WITH_TIMEOUT(rig->serverLog().count("inserted a card") == readers, 60000);
        rigs.push_back(std::move(rig));
    }

    struct Runs {
        std::vector<double> throughput, p50Saturated, p99Saturated, p50Paced, p99Paced, cpu;
    };
    std::vector<Runs> runs(counts.size());
    for (int round = 0; round < rounds; ++round) {
        for (int step = 0; step < counts.size(); ++step) {
            const int index = round % 2 == 0 ? step : static_cast<int>(counts.size()) - 1 - step;
            vscard::test::PcscRig& rig = *rigs[index];
            const int readers = counts[index];
            const double cpuBefore = cpuSeconds(rig.serverPid());
            Load saturated;
            QVERIFY(load(rig.pcscSocket(), readers, seconds, 0, saturated));
            const double cpu = cpuSeconds(rig.serverPid()) - cpuBefore;
            Load paced;
            const double pacedSeconds = std::max(seconds, pacedSamples / (pacedRate * readers));
            QVERIFY(load(rig.pcscSocket(), readers, pacedSeconds, pacedRate, paced));
            Runs& into = runs[index];
            into.throughput.push_back(saturated.apdus / saturated.seconds);
            into.p50Saturated.push_back(saturated.p50);
            into.p99Saturated.push_back(saturated.p99);
            into.cpu.push_back(cpu * 1e6 / saturated.apdus);
            into.p50Paced.push_back(paced.p50);
            into.p99Paced.push_back(paced.p99);
        }
    }

    using vscard::bench::median;
    const auto array = [](const std::vector<double>& values) {
        QJsonArray result;
        for (const double value : values)
            result.append(value);
        return result;
    };
    struct Row {
        int readers;
        double throughput, p99Saturated, p99Paced, cpuMicrosPerApdu, rssMiB;
    };
    QList<Row> rows;
    for (int index = 0; index < counts.size(); ++index) {
        const Runs& of = runs[index];
        const Row row{counts[index],           median(of.throughput),
                      median(of.p99Saturated), median(of.p99Paced),
                      median(of.cpu),          peakRssMiB(rigs[index]->serverPid())};
        rows.append(row);
        report.add(QString::number(row.readers) + " readers",
                   QJsonObject{{"readers", row.readers},
                               {"clients", std::min(row.readers, 16)},
                               {"rounds", rounds},
                               {"seconds_per_run", seconds},
                               {"saturation_apdus_per_s", row.throughput},
                               {"saturation_p50_us", median(of.p50Saturated)},
                               {"saturation_p99_us", row.p99Saturated},
                               {"paced_rate_per_reader", pacedRate},
                               {"paced_p50_us", median(of.p50Paced)},
                               {"paced_p99_us", row.p99Paced},
                               {"server_cpu_us_per_apdu", row.cpuMicrosPerApdu},
                               {"server_peak_rss_mib", row.rssMiB},
                               {"per_round_saturation_apdus_per_s", array(of.throughput)},
                               {"per_round_paced_p99_us", array(of.p99Paced)},
                               {"per_round_server_cpu_us_per_apdu", array(of.cpu)}});
    }

    std::printf("\nScale: server-ccid driven through its driver socket (medians of %d interleaved "
                "rounds, %.0f s per run)\n",
                rounds, seconds);
    std::printf("  %8s %12s %14s %14s %14s %10s\n", "readers", "sat. APDU/s", "sat. p99 us",
                "paced p99 us", "CPU us/APDU", "RSS MiB");
    for (const Row& row : rows)
        std::printf("  %8d %12.0f %14.1f %14.1f %14.2f %10.1f\n", row.readers, row.throughput,
                    row.p99Saturated, row.p99Paced, row.cpuMicrosPerApdu, row.rssMiB);
    const Row& one = rows.first();
    const Row& most = rows.last();
    report.target("(5) server CPU per APDU, 256 readers vs 1",
                  most.cpuMicrosPerApdu / one.cpuMicrosPerApdu, 1.5, true);
    report.target("(5) saturation throughput, 256 readers vs 1", most.throughput / one.throughput,
                  1.0);
    report.target("(5) paced p99, 256 readers vs 1", most.p99Paced / one.p99Paced, 10, true);
    report.target("(5) peak RSS with 256 readers / 64 MiB", most.rssMiB / 64.0, 1.0, true);
    std::printf("  results: %s\n", qPrintable(report.write()));
}

QTEST_GUILESS_MAIN(BenchScale)
#include "bench_scale.moc"
