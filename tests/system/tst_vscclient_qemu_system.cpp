// vscclient against QEMU 7.2's ccid-card-passthru (Debian's qemu-system-x86_64, a usb-ccid on
// qemu-xhci, the chardev a TCP server): the handshake, readers added and removed, cards
// inserted and removed, each acknowledged by QEMU without a protocol error, the stale card
// QEMU keeps across connections cleared, and a restarted QEMU reconnected to. No guest runs:
// QEMU's device model speaks the protocol without one.
#include "guest_vm.h"
#include "pcsc_rig.h"

#include <QProcess>
#include <QRegularExpression>
#include <QtTest>

namespace {

// QEMU with a CCID reader whose card comes from a VSCard client on port.
class Qemu {
public:
    explicit Qemu(quint16 port) : port_(port) {}
    ~Qemu() { stop(); }

    bool start()
    {
        process_.setProcessChannelMode(QProcess::MergedChannels);
        process_.start(
            "qemu-system-x86_64",
            {"-machine", "pc", "-nodefaults", "-display", "none", "-S", "-monitor", "none",
             "-serial", "none", "-device", "qemu-xhci", "-device", "usb-ccid", "-chardev",
             QStringLiteral("socket,id=ccid,host=127.0.0.1,port=%1,server=on,wait=off").arg(port_),
             "-device", "ccid-card-passthru,chardev=ccid"});
        if (!process_.waitForStarted(10000))
            return false;
        return vscard::test::waitForListener(port_, 10000);
    }
    void stop()
    {
        if (process_.state() != QProcess::NotRunning) {
            process_.kill();
            process_.waitForFinished(5000);
        }
        output_ += QString::fromUtf8(process_.readAll());
    }
    QString output()
    {
        output_ += QString::fromUtf8(process_.readAll());
        return output_;
    }

private:
    quint16 port_;
    QProcess process_;
    QString output_;
};

QString wireLog(QProcess& client)
{
    return QString::fromUtf8(client.readAllStandardError());
}

} // namespace

class TestVscclientQemu : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void exampleScenario_againstQemu_everyStepAcknowledged();
    void qemuRestarted_clientReconnectsAndClearsTheStaleCard();

private:
    QTemporaryDir work_;
    QString database_;
};

void TestVscclientQemu::initTestCase()
{
    database_ = work_.filePath("db");
    const QString problem = vscard::test::makeTestDatabase(database_, "12345678");
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
}

void TestVscclientQemu::exampleScenario_againstQemu_everyStepAcknowledged()
{
    const quint16 port = vscard::test::freeLoopbackPort();
    Qemu qemu(port);
    QVERIFY2(qemu.start(), qPrintable(qemu.output()));
    QProcess client;
    client.start(VSCARD_VSCCLIENT_BIN,
                 {"--trace", "vscard.wire", "--script", VSCARD_EXAMPLE_SCENARIO, "127.0.0.1",
                  QString::number(port)});
    QVERIFY(client.waitForFinished(60000));
    const QString log = wireLog(client);
    QVERIFY2(client.exitCode() == 0, qPrintable(log));
    // QEMU announces nothing beyond its protocol and offers one reader, id 0, each round.
    QVERIFY(log.contains("<- tcp:127.0.0.1:" + QString::number(port) +
                         " Init reader undefined, 12 bytes: version 0.0.2, capabilities 00000000"));
    QCOMPARE(log.count(QRegularExpression("-> \\S+ ReaderAdd reader undefined")), 3);
    QCOMPARE(log.count(QRegularExpression("-> \\S+ ATR reader 0")), 3);
    QCOMPARE(log.count(QRegularExpression("-> \\S+ ReaderRemove reader 0")), 3);
    // Every message we sent was acknowledged, none refused.
    const int sent =
        log.count(QRegularExpression("-> \\S+ (ReaderAdd|ReaderRemove|ATR|CardRemove)"));
    QCOMPARE(log.count(QRegularExpression("<- \\S+ Error reader \\d+, 4 bytes: SUCCESS")), sent);
    QVERIFY(!log.contains(QRegularExpression("<- \\S+ Error reader \\S+, 4 bytes: (?!SUCCESS)")));
    QVERIFY2(!qemu.output().contains("ccid"), qPrintable(qemu.output()));
}

void TestVscclientQemu::qemuRestarted_clientReconnectsAndClearsTheStaleCard()
{
    const quint16 port = vscard::test::freeLoopbackPort();
    Qemu first(port);
    QVERIFY2(first.start(), qPrintable(first.output()));
    QProcess client;
    client.setProcessChannelMode(QProcess::SeparateChannels);
    client.start(VSCARD_VSCCLIENT_BIN,
                 {"--trace", "vscard.wire", "-e",
                  QStringLiteral("db=\"sql:%1\" use_hw=no soft=(,Test,CAC,,cert1)").arg(database_),
                  "127.0.0.1", QString::number(port)});
    QString log;
    auto waitFor = [&](const QRegularExpression& what, int count) {
        for (int waited = 0; waited < 30000; waited += 100) {
            log += wireLog(client);
            if (log.count(what) >= count)
                return true;
            QTest::qWait(100);
        }
        return false;
    };
    const QRegularExpression atrAcknowledged("card inserted in reader 0");
    QVERIFY2(waitFor(atrAcknowledged, 1), qPrintable(log));
    first.stop();
    Qemu second(port);
    QVERIFY2(second.start(), qPrintable(second.output()));
    QVERIFY2(waitFor(atrAcknowledged, 2), qPrintable(log));
    QCOMPARE(client.state(), QProcess::Running);
    // After the reconnection: reader added, the card QEMU might still hold removed, the ATR.
    const QString again = log.mid(log.lastIndexOf("Init reader undefined, 12 bytes: version 0.0.2, "
                                                  "capabilities 00000003"));
    const int add = again.indexOf(QRegularExpression("-> \\S+ ReaderAdd"));
    const int clear = again.indexOf(QRegularExpression("-> \\S+ CardRemove reader 0"));
    const int atr = again.indexOf(QRegularExpression("-> \\S+ ATR reader 0"));
    QVERIFY2(add >= 0 && add < clear && clear < atr, qPrintable(again));
    client.terminate();
    QVERIFY(client.waitForFinished(10000));
    QCOMPARE(client.exitCode(), 0);
}

QTEST_GUILESS_MAIN(TestVscclientQemu)
#include "tst_vscclient_qemu_system.moc"
