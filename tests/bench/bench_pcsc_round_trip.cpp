// PC/SC round trips as an application sees them: SCardTransmit of a short APDU through a
// private pcscd to (a) an emulated card inside server-ccid, through our driver, and (b) a
// VSCard client that answers at once, one hop further; against vsmartcard's vpcd driver
// (Debian's vsmartcard-vpcd) in the same kind of pcscd with a responder that answers at once,
// stock and with TCP_NODELAY forced on vpcd's socket. pcscd runs without -d and server-ccid
// without --trace, as in production. Prints APDU/s, p50 and p99 and the ratios of issue 9's
// goals; asserts only that every run completed.
#include "bench_report.h"
#include "guest_vm.h"
#include "pcsc_rig.h"

#include <QProcess>
#include <QRegularExpression>
#include <QTcpServer>
#include <QtTest>

namespace {

const QString kApdu = "00 20 00 00"; // VERIFY without data: the PIN's status, no PIN sent

bool portIsFree(quint16 port)
{
    QTcpServer probe;
    return probe.listen(QHostAddress::LocalHost, port);
}

struct Run {
    QString name;
    double apdusPerSecond = 0;
    double p50 = 0;
    double p99 = 0;
};

} // namespace

class BenchPcscRoundTrip : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void roundTrips_oursAgainstVpcd();

private:
    // bench-pcsc-load against one reader of the rig's pcscd.
    bool measure(vscard::test::PcscRig& rig, const QString& reader, int count, Run& run);
    vscard::bench::Report report_{"pcsc_round_trip"};
};

bool BenchPcscRoundTrip::measure(vscard::test::PcscRig& rig, const QString& reader, int count,
                                 Run& run)
{
    const QString samples = rig.filePath("samples.txt");
    QProcess load;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert("PCSCLITE_CSOCK_NAME", rig.pcscdSocket());
    environment.insert("BENCH_SAMPLES", samples);
    environment.remove("LD_PRELOAD");
    load.setProcessEnvironment(environment);
    load.setProcessChannelMode(QProcess::MergedChannels);
    load.start(VSCARD_BENCH_PCSC_LOAD, {reader, QString::number(count), kApdu});
    if (!load.waitForFinished(600000))
        return false;
    const QString output = QString::fromUtf8(load.readAll());
    const auto match = QRegularExpression("RESULT apdus=(\\d+) seconds=([0-9.]+) p50_us=([0-9.]+) "
                                          "p99_us=([0-9.]+)")
                           .match(output);
    if (!match.hasMatch()) {
        qWarning().noquote() << run.name << ":" << output << rig.pcscdLog().right(2000);
        return false;
    }
    run.apdusPerSecond = match.captured(1).toDouble() / match.captured(2).toDouble();
    run.p50 = match.captured(3).toDouble();
    run.p99 = match.captured(4).toDouble();
    std::vector<double> values;
    QFile file(samples);
    if (file.open(QIODevice::ReadOnly))
        for (const QByteArray& line : file.readAll().split('\n'))
            if (!line.isEmpty())
                values.push_back(line.toDouble());
    report_.samples(run.name, values);
    report_.add(run.name, QJsonObject{{"apdus", count},
                                      {"apdus_per_s", run.apdusPerSecond},
                                      {"p50_us", run.p50},
                                      {"p99_us", run.p99}});
    return true;
}

void BenchPcscRoundTrip::roundTrips_oursAgainstVpcd()
{
    const bool full = vscard::bench::fullRun();
    const int count = full ? 5000 : 300;
    const int stockCount = full ? 200 : 25; // stock vpcd: ~40 ms per APDU
    QTemporaryDir work;
    const QString database = work.filePath("db");
    QVERIFY(vscard::test::makeTestDatabase(database, "12345678").isEmpty());

    Run emulated{"server-ccid, emulated card"};
    {
        vscard::test::PcscRig rig;
        rig.pcscdDebug = false;
        rig.serverTrace.clear();
        rig.extraServerArguments = {
            "--card", QStringLiteral("emulated:db=\"sql:%1\" use_hw=no soft=(,Bench,CAC,,cert1)")
                          .arg(database)};
        QVERIFY2(rig.start(), qPrintable(rig.error()));
        QVERIFY(measure(rig, "vscard 00 00", count, emulated));
    }
    Run client{"server-ccid, VSCard client"};
    {
        vscard::test::PcscRig rig;
        rig.pcscdDebug = false;
        rig.serverTrace.clear();
        QVERIFY2(rig.start(), qPrintable(rig.error()));
        QVERIFY(vscard::test::waitReady(
            rig.startClient({"--quiet", "--reader", "Bench=" + vscard::test::kCacAtr})));
        QVERIFY(measure(rig, "vscard 00 00", count, client));
    }
    auto vpcdRun = [&](Run& run, bool noDelay, int apdus) {
        quint16 port = vscard::test::freeLoopbackPort();
        while (port == 65535 || !portIsFree(port + 1))
            port = vscard::test::freeLoopbackPort();
        vscard::test::PcscRig rig;
        rig.pcscdDebug = false;
        rig.readerConf = QStringLiteral("FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME 127.0.0.1:0x%1\n"
                                        "LIBPATH %2\nCHANNELID 0x%1\n")
                             .arg(port, 4, 16, QLatin1Char('0'))
                             .arg(VSCARD_VPCD_DRIVER);
        if (noDelay)
            rig.pcscdPreload = VSCARD_BENCH_NODELAY;
        QProcess* responder =
            rig.startProgram(VSCARD_BENCH_VPCD_RESPONDER, {QString::number(port)}, "responder.log");
        QVERIFY(responder && responder->waitForReadyRead(5000));
        QVERIFY2(rig.start(false), qPrintable(rig.error()));
        QVERIFY(measure(rig, "Virtual PCD 00 00", apdus, run));
    };
    Run vpcdNoDelay{"vpcd, TCP_NODELAY forced"};
    vpcdRun(vpcdNoDelay, true, count);
    Run vpcdStock{"vpcd, stock"};
    vpcdRun(vpcdStock, false, stockCount);

    std::printf("\nPC/SC round trips of '%s' (%d APDUs, stock vpcd %d), private pcscd\n",
                qPrintable(kApdu), count, stockCount);
    std::printf("  %-30s %10s %10s %10s %12s\n", "configuration", "APDU/s", "p50 us", "p99 us",
                "vs vpcd+ND");
    for (const Run* run : {&emulated, &client, &vpcdNoDelay, &vpcdStock})
        std::printf("  %-30s %10.0f %10.1f %10.1f %11.2fx\n", qPrintable(run->name),
                    run->apdusPerSecond, run->p50, run->p99,
                    run->apdusPerSecond / vpcdNoDelay.apdusPerSecond);
    report_.target("(1a) emulated card in server-ccid vs vpcd+TCP_NODELAY, APDU/s",
                   emulated.apdusPerSecond / vpcdNoDelay.apdusPerSecond, 1.2);
    report_.target("(1b) VSCard client via server-ccid vs vpcd+TCP_NODELAY, APDU/s",
                   client.apdusPerSecond / vpcdNoDelay.apdusPerSecond, 0.8);
    report_.target("(1a) emulated card vs stock vpcd, APDU/s",
                   emulated.apdusPerSecond / vpcdStock.apdusPerSecond, 100);
    report_.target("(1b) VSCard client vs stock vpcd, APDU/s",
                   client.apdusPerSecond / vpcdStock.apdusPerSecond, 100);
    std::printf("  results: %s\n", qPrintable(report_.write()));
}

QTEST_GUILESS_MAIN(BenchPcscRoundTrip)
#include "bench_pcsc_round_trip.moc"
