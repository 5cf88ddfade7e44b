// server-ccid's reader imported into a real guest over USB/IP: Debian's kernel with vhci-hcd,
// Debian's usbip, udevd, pcscd, libccid and OpenSC, unmodified. The guest reaches the host
// through a virtio-serial port (stream-mux carries each of its USB/IP connections), never a
// network. Its stock libccid drives our reader: OpenSC names the emulated CAC, lists the
// certificates and signs (the host verifies), the guest sees the card removed and inserted,
// and the reader survives detach and re-attach.
#include "guest_vm.h"
#include "pcsc_rig.h"

#include <QFile>
#include <QRegularExpression>
#include <QtTest>

using vscard::test::GuestVm;

namespace {

const QString kPin = "12345678";

// The guest's USB/IP connections leave it through a virtio-serial port, which stream-mux
// carries on both sides; the guest gets stream-mux too.
void connectUsbipPort(GuestVm& guest)
{
    guest.devices = {"-device",
                     "virtio-serial-pci",
                     "-chardev",
                     QStringLiteral("socket,id=usbip,host=127.0.0.1,port=%1,server=on,wait=off")
                         .arg(guest.port()),
                     "-device",
                     "virtserialport,chardev=usbip,name=vscard.usbip"};
    guest.files = {VSCARD_STREAM_MUX};
}

} // namespace

class TestUsbipGuest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void importedReader_drivenByTheGuestsStockStack();
    void importedPivCard_namedAndSignsInTheGuest();

private:
    QTemporaryDir work_;
    QString database_;
};

void TestUsbipGuest::initTestCase()
{
    database_ = work_.filePath("db");
    const QString problem = vscard::test::makeTestDatabase(database_, kPin);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
}

void TestUsbipGuest::importedReader_drivenByTheGuestsStockStack()
{
    const quint16 usbipPort = vscard::test::freeLoopbackPort();
    vscard::test::PcscRig rig;
    rig.extraServerArguments = {"--usbip", QStringLiteral("tcp:127.0.0.1:%1").arg(usbipPort)};
    QVERIFY2(rig.startServer(), qPrintable(rig.error()));
    QProcess* client = rig.startProgram(
        VSCARD_VSCCLIENT_BIN,
        {"-e",
         QStringLiteral("db=\"sql:%1\" use_hw=no soft=(,Test CAC,CAC,,cert1,cert2,cert3)")
             .arg(database_),
         "--connect", rig.clientEndpoint()},
        "vscclient.log");
    QVERIFY(client);
    QTRY_VERIFY_WITH_TIMEOUT(rig.serverLog().contains("Test CAC"), 20000);

    const QString signedText = "signed in a guest over USB/IP";
    GuestVm guest(QStringLiteral("/stream-mux guest 3240 /dev/vport0p1 2>/tmp/mux.log &\n"
                                 "sleep 0.5\n"
                                 "usbip list -r 127.0.0.1 2>/dev/null | grep -E '^ +1-'\n"
                                 "usbip attach -r 127.0.0.1 -b 1-1 && echo ATTACHED\n"
                                 "wait-card 60\n"
                                 "opensc-tool -l\n"
                                 "opensc-tool -n\n"
                                 "pkcs11-tool -O\n") +
                  vscard::test::guestSignScript(kPin, signedText) +
                  // The host removes and inserts the card while the guest watches.
                  vscard::test::watchCardStatesScript(3) +
                  "usbip detach -p 0 && echo DETACHED\n"
                  "sleep 2\n"
                  "opensc-tool -l\n"
                  "usbip attach -r 127.0.0.1 -b 1-1 && echo ATTACHED AGAIN\n"
                  "wait-card 60\n"
                  "opensc-tool -n\n");
    connectUsbipPort(guest);
    QVERIFY2(guest.start(), qPrintable(guest.error()));
    QProcess* mux = rig.startProgram(
        VSCARD_STREAM_MUX, {"host", QString::number(guest.port()), QString::number(usbipPort)},
        "stream-mux.log");
    QVERIFY(mux);

    auto states = [&] { return vscard::test::guestStates(guest); };
    auto waitForState = [&](int count, const QString& state) {
        return vscard::test::waitForGuestState(guest, count, state);
    };
    auto tell = [&](const QByteArray& command) {
        client->write(command + "\n");
        client->waitForBytesWritten(1000);
    };
    QVERIFY2(waitForState(1, "STATE 1"), qPrintable(guest.console() + rig.serverLog()));
    tell("remove 0");
    QVERIFY2(waitForState(2, "STATE 0"), qPrintable(guest.console()));
    tell("insert 0");
    QVERIFY2(waitForState(3, "STATE 1"), qPrintable(guest.console()));
    QVERIFY2(guest.waitForEnd(), qPrintable(guest.error()));

    const QString output = QString(guest.output()).remove(QLatin1Char('\r'));
    const QString context = output + "\n--- server ---\n" + rig.serverLog() +
                            "\n--- stream-mux ---\n" + rig.log("stream-mux.log");
    QVERIFY2(output.contains(QRegularExpression("1-1: .*\\(08e6:4433\\)")), qPrintable(context));
    QVERIFY2(output.contains("ATTACHED\n"), qPrintable(context));
    // The stock libccid (the reader's ID is in its list) names it after the interface string.
    QVERIFY2(output.contains(QRegularExpression("Yes .*\\[Test CAC\\] \\(vscard-1-1\\) 00 00")),
             qPrintable(context));
    QCOMPARE(output.count("Common Access Card (CAC)"), 2); // before detach and after re-attach
    QCOMPARE(output.count("Certificate Object; type = X.509 cert"), 3);
    QVERIFY(output.contains("CN=vscard test 1"));
    QCOMPARE(states(), (QStringList{"STATE 1", "STATE 0", "STATE 1"}));
    QVERIFY2(output.contains("DETACHED\nNo smart card readers found."), qPrintable(context));
    QVERIFY2(output.contains("ATTACHED AGAIN"), qPrintable(context));
    QVERIFY2(rig.serverLog().contains("reader 1-1 is free"), qPrintable(context));

    const QString verified =
        vscard::test::verifyGuestSignature(output, signedText, database_, work_.path());
    QVERIFY2(verified.isEmpty(), qPrintable(verified + "\n" + context));
}

void TestUsbipGuest::importedPivCard_namedAndSignsInTheGuest()
{
    // A blank PIV card hosted by the server: the host generates its key and writes the
    // certificate, the guest imports the reader over USB/IP and signs with OpenSC.
    const quint16 usbipPort = vscard::test::freeLoopbackPort();
    vscard::test::PcscRig rig;
    rig.extraServerArguments = {"--usbip", QStringLiteral("tcp:127.0.0.1:%1").arg(usbipPort),
                                "--card",
                                QStringLiteral("emulated:use_hw=no soft=(,Test PIV,PIV,state=%1)")
                                    .arg(work_.filePath("piv"))};
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    QVERIFY(rig.waitForCard("vscard 00 00", true));
    const QString publicKey = work_.filePath("9a.pub");
    const QString certificate = work_.filePath("9a.crt");
    const auto run = [&](const QString& script) { return rig.run("sh", {"-c", script}, 120000); };
    const auto provisioned =
        run(QStringLiteral("yubico-piv-tool -r vscard -a generate -s 9a -A RSA2048 -o %1 && "
                           "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                           "-keyout %3.key -out %3.ca -subj /CN=ca -days 1 && "
                           "openssl x509 -new -force_pubkey %1 -subj '/CN=guest PIV' -CA %3.ca "
                           "-CAkey %3.key -days 1 -out %2 && "
                           "yubico-piv-tool -r vscard -a import-certificate -s 9a -i %2")
                .arg(publicKey, certificate, work_.filePath("ca")));
    QVERIFY2(provisioned.exitCode == 0, qPrintable(provisioned.output));
    rig.stopPcscd(); // the guest's pcscd is the card's user now

    const QString signedText = "signed by a PIV card in a guest over USB/IP";
    GuestVm guest(QStringLiteral("/stream-mux guest 3240 /dev/vport0p1 2>/tmp/mux.log &\n"
                                 "sleep 0.5\n"
                                 "usbip attach -r 127.0.0.1 -b 1-1 && echo ATTACHED\n"
                                 "wait-card 60\n"
                                 "opensc-tool -n\n") +
                  vscard::test::guestSignScript("123456", signedText, "01"));
    connectUsbipPort(guest);
    QVERIFY2(guest.start(), qPrintable(guest.error()));
    QVERIFY(rig.startProgram(VSCARD_STREAM_MUX,
                             {"host", QString::number(guest.port()), QString::number(usbipPort)},
                             "stream-mux.log"));
    QVERIFY2(guest.waitForEnd(), qPrintable(guest.error()));
    const QString output = QString(guest.output()).remove(QLatin1Char('\r'));
    const QString context = output + "\n--- server ---\n" + rig.serverLog();
    QVERIFY2(output.contains("ATTACHED\n"), qPrintable(context));
    QVERIFY2(output.contains("Personal Identity Verification Card"), qPrintable(context));
    // The signature made in the guest verifies on the host with the key the card gave out.
    const auto signature = QRegularExpression("SIGNATURE ([0-9a-f]+)").match(output);
    QVERIFY2(signature.hasMatch() && signature.captured(1).size() == 512, qPrintable(context));
    QFile file(work_.filePath("guest-piv.sig"));
    QFile data(work_.filePath("guest-piv.data"));
    QVERIFY(file.open(QIODevice::WriteOnly) && data.open(QIODevice::WriteOnly));
    file.write(QByteArray::fromHex(signature.captured(1).toLatin1()));
    data.write((signedText + "\n").toUtf8());
    file.close();
    data.close();
    const auto verified = run(QStringLiteral("openssl dgst -sha256 -verify %1 -signature %2 %3")
                                  .arg(publicKey, file.fileName(), data.fileName()));
    QVERIFY2(verified.output.contains("Verified OK"), qPrintable(verified.output + context));
}

QTEST_GUILESS_MAIN(TestUsbipGuest)
#include "tst_usbip_guest_system.moc"
