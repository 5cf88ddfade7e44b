// APDU round trips from a QEMU guest to vscclient's emulated card: QEMU's chardev with and
// without nodelay=on, vscclient re-arming TCP_QUICKACK after each read or not. QEMU writes a
// message in two pieces; without nodelay Nagle holds the second until our ACK, and delayed
// ACKs make that up to 40 ms per message. Prints milliseconds per APDU and each configuration
// against the best one; asserts only that every run completed. VSCARD_BENCH_FULL=1: more APDUs.
#include "guest_vm.h"
#include "pcsc_rig.h"

#include <QProcess>
#include <QRegularExpression>
#include <QtTest>

using vscard::test::GuestVm;

class BenchQemuLatency : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void roundTrips_nodelayAndQuickAck();
};

void BenchQemuLatency::roundTrips_nodelayAndQuickAck()
{
    QTemporaryDir work;
    const QString database = work.filePath("db");
    const QString problem = vscard::test::makeTestDatabase(database, "12345678");
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    const int apdus = qEnvironmentVariableIntValue("VSCARD_BENCH_FULL") ? 400 : 60;

    struct Config {
        const char* name;
        bool nodelay;
        bool quickAck;
        double msPerApdu = 0;
    };
    Config configs[] = {{"nodelay=on,  quickack re-armed", true, true},
                        {"nodelay=on,  delayed ACKs", true, false},
                        {"nodelay=off, quickack re-armed", false, true},
                        {"nodelay=off, delayed ACKs", false, false}};
    // One opensc-tool, one connection, the same short command over and over (VERIFY's PIN
    // status: a case 1 APDU answered 63Cx), timed with the guest's own clock.
    QString sends;
    for (int i = 0; i < apdus; ++i)
        sends += " -s '00 20 00 00'";
    const QString commands =
        "wait-card 60\n"
        "opensc-tool -s '00 20 00 00' > /dev/null\n"
        "start=$(cut -d' ' -f1 /proc/uptime)\n"
        "opensc-tool" +
        sends +
        " > /tmp/out\n"
        "end=$(cut -d' ' -f1 /proc/uptime)\n"
        "echo \"ANSWERS $(grep -c 'SW1=0x63' /tmp/out) ELAPSED $start $end\"\n";
    for (Config& config : configs) {
        GuestVm guest(commands);
        guest.devices[5] = guest.devices[5] + (config.nodelay ? ",nodelay=on" : "");
        QVERIFY2(guest.start(), qPrintable(guest.error()));
        QProcess client;
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        if (!config.quickAck)
            environment.insert("VSCARD_CLIENT_NO_QUICKACK", "1");
        client.setProcessEnvironment(environment);
        client.start(
            VSCARD_VSCCLIENT_BIN,
            {"-e", QStringLiteral("db=\"sql:%1\" use_hw=no soft=(,Bench,CAC,,cert1)").arg(database),
             "127.0.0.1", QString::number(guest.port())});
        QVERIFY2(guest.waitForEnd(), qPrintable(guest.error()));
        client.kill();
        client.waitForFinished();
        const auto match =
            QRegularExpression("ANSWERS (\\d+) ELAPSED ([0-9.]+) ([0-9.]+)").match(guest.output());
        QVERIFY2(match.hasMatch() && match.captured(1).toInt() == apdus,
                 qPrintable(guest.output()));
        config.msPerApdu =
            (match.captured(3).toDouble() - match.captured(2).toDouble()) * 1000.0 / apdus;
    }
    double best = configs[0].msPerApdu;
    for (const Config& config : configs)
        best = std::min(best, config.msPerApdu);
    std::printf("\nAPDU round trips guest -> QEMU usb-ccid -> vscclient (%d APDUs each, TCG)\n",
                apdus);
    for (const Config& config : configs)
        std::printf("  %-32s %7.2f ms/APDU  %5.2fx the best\n", config.name, config.msPerApdu,
                    config.msPerApdu / best);
}

QTEST_GUILESS_MAIN(BenchQemuLatency)
#include "bench_qemu_latency.moc"
