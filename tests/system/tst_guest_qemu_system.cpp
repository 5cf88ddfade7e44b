// Inside a real guest: QEMU 7.2's CCID reader (usb-ccid on qemu-xhci, ccid-card-passthru) with
// our vscclient on the host, judged by the guest's own unmodified stack (Debian's kernel,
// pcscd, libccid, OpenSC). An emulated CAC is named by opensc-tool, listed by pkcs11-tool and
// signs in the guest; the host verifies the signature with the certificate.
#include "guest_vm.h"
#include "pcsc_rig.h"

#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QtTest>

using vscard::test::GuestVm;

namespace {

const QString kPin = "12345678";

} // namespace

class TestGuestQemu : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void emulatedCac_guestOpenscNamesListsAndSigns();
    void emulatedPiv_guestOpenscNamesAndSigns();
    void pcscPassthrough_guestGetsTheSameAtrAndAnswers_data();
    void pcscPassthrough_guestGetsTheSameAtrAndAnswers();
    void cardEventsAndClientDeath_seenInTheGuest();
    void qemusEmulatedCard_onOurLibrary_guestNamesTheCard_data();
    void qemusEmulatedCard_onOurLibrary_guestNamesTheCard();

private:
    QTemporaryDir work_;
    QString database_;
};

void TestGuestQemu::initTestCase()
{
    database_ = work_.filePath("db");
    const QString problem = vscard::test::makeTestDatabase(database_, kPin);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
}

void TestGuestQemu::emulatedCac_guestOpenscNamesListsAndSigns()
{
    const QString signedText = "signed in a QEMU guest";
    GuestVm guest("wait-card 60\n"
                  "opensc-tool -n\n"
                  "pkcs11-tool -O\n" +
                  vscard::test::guestSignScript(kPin, signedText));
    QVERIFY2(guest.start(), qPrintable(guest.error()));
    QProcess client;
    client.setProcessChannelMode(QProcess::MergedChannels);
    client.start(VSCARD_VSCCLIENT_BIN,
                 {"-e",
                  QStringLiteral("db=\"sql:%1\" use_hw=no soft=(,Test,CAC,,cert1,cert2,cert3)")
                      .arg(database_),
                  "127.0.0.1", QString::number(guest.port())});
    QVERIFY2(guest.waitForEnd(), qPrintable(guest.error()));
    client.terminate();
    client.waitForFinished(10000);
    const QString output = guest.output();
    QVERIFY2(output.contains("Common Access Card (CAC)"),
             qPrintable(output + QString::fromUtf8(client.readAll())));
    QCOMPARE(output.count("Certificate Object; type = X.509 cert"), 3);
    for (int i = 1; i <= 3; ++i)
        QVERIFY(output.contains(QStringLiteral("CN=vscard test %1").arg(i)));

    const QString verified =
        vscard::test::verifyGuestSignature(output, signedText, database_, work_.path());
    QVERIFY2(verified.isEmpty(), qPrintable(verified + "\n" + output));
}

void TestGuestQemu::emulatedPiv_guestOpenscNamesAndSigns()
{
    // A PIV card made from the database's certificates (cert1 in 9A, PIN the password),
    // through vscclient into QEMU's ccid-card-passthru.
    const QString signedText = "signed by a PIV card in a QEMU guest";
    GuestVm guest("wait-card 60\n"
                  "opensc-tool -n\n"
                  "pkcs15-tool -D | grep -E 'Private RSA Key|PKCS#15 Card'\n" +
                  vscard::test::guestSignScript(kPin, signedText, "01"));
    QVERIFY2(guest.start(), qPrintable(guest.error()));
    QProcess client;
    client.setProcessChannelMode(QProcess::MergedChannels);
    client.start(
        VSCARD_VSCCLIENT_BIN,
        {"-e",
         QStringLiteral("db=\"sql:%1\" use_hw=no soft=(,Test PIV,PIV,,cert1,cert2)").arg(database_),
         "127.0.0.1", QString::number(guest.port())});
    QVERIFY2(guest.waitForEnd(), qPrintable(guest.error()));
    client.terminate();
    client.waitForFinished(10000);
    const QString output = guest.output();
    const QString context = output + QString::fromUtf8(client.readAll());
    QVERIFY2(output.contains("Personal Identity Verification Card"), qPrintable(context));
    // OpenSC's token is named after the first certificate; its key sits in 9A.
    QVERIFY2(output.contains("PKCS#15 Card [vscard test 1]") &&
                 output.contains("Private RSA Key [PIV AUTH key]"),
             qPrintable(context));
    const QString verified =
        vscard::test::verifyGuestSignature(output, signedText, database_, work_.path());
    QVERIFY2(verified.isEmpty(), qPrintable(verified + "\n" + context));
}

void TestGuestQemu::pcscPassthrough_guestGetsTheSameAtrAndAnswers_data()
{
    QTest::addColumn<QString>("atr");
    QTest::addColumn<bool>("usable");
    QTest::newRow("T=0") << vscard::test::kCacAtr << true;
    // QEMU 7.2's usb-ccid announces T=0 alone (dwProtocols 1): the guest's libccid sees the
    // card but refuses to connect to one that speaks only T=1. Only QEMU can change that.
    QTest::newRow("T=1 only") << vscard::test::kT1OnlyAtr << false;
}

// A card in a reader of a private pcscd on the host (the test card behind an 'upstream'
// server-ccid), shared with vscclient --pcsc, seen in the guest through QEMU's reader.
void TestGuestQemu::pcscPassthrough_guestGetsTheSameAtrAndAnswers()
{
    QFETCH(QString, atr);
    QFETCH(bool, usable);
    vscard::test::PcscRig upstream;
    upstream.pcscName = "upstream";
    QVERIFY2(upstream.start(), qPrintable(upstream.error()));
    QProcess* card = upstream.startClient({"--reader", "Real=" + atr});
    QVERIFY(vscard::test::waitReady(card));
    QVERIFY(upstream.waitForCard("upstream 00 00", true));

    GuestVm guest("wait-card 60\n"
                  "opensc-tool -a\n"
                  "opensc-tool -s '00 B0 00 00 04' -s '00 D6 00 00 03 01 02 03 02' "
                  "-s '00 10 00 00'\n"
                  "grep -E 'not supported by reader' /tmp/pcscd.log | head -1\n");
    guest.kernelArguments = "VSCARD_PCSCD_DEBUG=1";
    QVERIFY2(guest.start(), qPrintable(guest.error()));
    QProcess* client =
        upstream.startProgram(VSCARD_VSCCLIENT_BIN,
                              {"--pcsc", "--reader", "upstream 00 00", "--trace", "vscard.wire",
                               "127.0.0.1", QString::number(guest.port())},
                              "vscclient.log", {"PCSCLITE_CSOCK_NAME=" + upstream.pcscdSocket()});
    QVERIFY(client);
    QVERIFY2(guest.waitForEnd(), qPrintable(guest.error()));
    const QString output = guest.output();
    QVERIFY2(output.contains(vscard::test::colonAtr(atr)),
             qPrintable(output + upstream.log("vscclient.log")));
    if (!usable) {
        QVERIFY2(output.contains("Failed to connect to card"), qPrintable(output));
        QVERIFY2(output.contains("Protocol T=1 not supported by reader"), qPrintable(output));
        return;
    }
    // The test card: case 2 answers INS, INS+1, ...; case 4 its data cut to Le; case 1 9000.
    QVERIFY2(
        output.contains(QRegularExpression("Received \\(SW1=0x90, SW2=0x00\\):\\s*B0 B1 B2 B3")),
        qPrintable(output + upstream.log("vscclient.log")));
    QVERIFY2(output.contains(QRegularExpression("Received \\(SW1=0x90, SW2=0x00\\):\\s*01 02 ")),
             qPrintable(output));
    QCOMPARE(output.count("Received (SW1=0x90, SW2=0x00)"), 3);
}

// The guest watches its reader while the host removes and inserts the card, kills the client
// (QEMU then keeps the card "inserted"), and starts a client without a card, whose first
// ReaderAdd clears what QEMU kept.
void TestGuestQemu::cardEventsAndClientDeath_seenInTheGuest()
{
    GuestVm guest("wait-card 60\n" + vscard::test::watchCardStatesScript(5));
    QVERIFY2(guest.start(), qPrintable(guest.error()));
    auto startClient = [&](const QStringList& arguments) {
        auto client = std::make_unique<QProcess>();
        client->setProcessChannelMode(QProcess::MergedChannels);
        client->start(VSCARD_VSCCLIENT_BIN,
                      arguments + QStringList{"127.0.0.1", QString::number(guest.port())});
        return client;
    };
    // The guest's state lines ("STATE 1": a card present, "STATE 0": none).
    auto states = [&] { return vscard::test::guestStates(guest); };
    auto waitForState = [&](int count, const QString& state) {
        return vscard::test::waitForGuestState(guest, count, state, 120000);
    };
    auto first = startClient(
        {"-e", QStringLiteral("db=\"sql:%1\" use_hw=no soft=(,Test,CAC,,cert1)").arg(database_)});
    QVERIFY2(waitForState(1, "STATE 1"), qPrintable(guest.console()));
    first->write("remove 0\n");
    QVERIFY2(waitForState(2, "STATE 0"), qPrintable(guest.console()));
    first->write("insert 0\n");
    QVERIFY2(waitForState(3, "STATE 1"), qPrintable(guest.console()));
    // The client dies: QEMU keeps the card inserted, the guest still sees it.
    first->kill();
    first->waitForFinished(5000);
    QTest::qWait(3000);
    QCOMPARE(states().size(), 3);
    // A new client without a card: its ReaderAdd is followed by a CardRemove.
    auto second = startClient({});
    second->write("add-reader Empty\n");
    QVERIFY2(waitForState(4, "STATE 0"), qPrintable(guest.console()));
    QCOMPARE(states(), (QStringList{"STATE 1", "STATE 0", "STATE 1", "STATE 0"}));
    second->kill();
}

void TestGuestQemu::qemusEmulatedCard_onOurLibrary_guestNamesTheCard_data()
{
    QTest::addColumn<bool>("ours");
    QTest::newRow("our libcacard.so.0") << true;
    // Debian's libcacard meets QEMU's 64-byte quirk on the CCC (docs/protocol.md).
    QTest::newRow("Debian's libcacard") << false;
}

// QEMU's own ccid-card-emulated, the card inside QEMU: with our libcacard.so.0 through
// LD_LIBRARY_PATH (the README's way) the guest's OpenSC names the CAC; with Debian's it does not.
void TestGuestQemu::qemusEmulatedCard_onOurLibrary_guestNamesTheCard()
{
    QFETCH(bool, ours);
    GuestVm guest("wait-card 60\nopensc-tool -n\npkcs11-tool -O 2>&1 | grep -c 'X.509 cert'\n");
    guest.devices = {"-device",
                     "qemu-xhci",
                     "-device",
                     "usb-ccid",
                     "-device",
                     "ccid-card-emulated,backend=certificates,db=sql:" + database_ +
                         ",cert1=cert1,cert2=cert2,cert3=cert3"};
    if (ours) {
        guest.environment << "LD_LIBRARY_PATH=" + QFileInfo(VSCARD_LIBCACARD).absolutePath();
        if (!vscard::test::asanRuntime().isEmpty())
            guest.environment << "LD_PRELOAD=" + vscard::test::asanRuntime()
                              << "ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0";
    }
    QVERIFY2(guest.start(), qPrintable(guest.error()));
    QVERIFY2(guest.waitForEnd(), qPrintable(guest.error()));
    const QString output = guest.output();
    if (ours) {
        QVERIFY2(output.contains("Common Access Card (CAC)"), qPrintable(output));
        QVERIFY2(
            output.contains(QRegularExpression("^3\\s*$", QRegularExpression::MultilineOption)),
            qPrintable(output));
    } else {
        QVERIFY2(output.contains("Unsupported card"), qPrintable(output));
    }
}

QTEST_GUILESS_MAIN(TestGuestQemu)
#include "tst_guest_qemu_system.moc"
