// server-ccid through a real private pcscd, judged by OpenSC's opensc-tool: readers, ATRs,
// byte-exact APDU round trips, extended APDUs, a client killed mid-APDU, a server restarted
// under a running pcscd.
#include "pcsc_rig.h"

#include <QtTest>

#include <csignal>

using vscard::test::colonAtr;
using vscard::test::kCacAtr;
using vscard::test::kDualAtr;
using vscard::test::kT1OnlyAtr;
using vscard::test::PcscRig;
using vscard::test::receivedBytes;
using vscard::test::waitReady;

namespace {

// opensc-tool -l until the reader line says what we expect; pcscd learns of cards by events.
bool waitForReaderState(PcscRig& rig, int reader, bool cardPresent)
{
    const QString expected =
        QStringLiteral("%1    %2").arg(reader).arg(cardPresent ? "Yes" : "No ");
    for (int attempt = 0; attempt < 100; ++attempt) {
        if (rig.opensc({"-l"}).output.contains(expected))
            return true;
        QTest::qWait(100);
    }
    return false;
}

// The response scriptor printed after "< ", hex bytes only (it wraps long ones over lines).
QString scriptorResponse(const QString& output)
{
    const int start = output.lastIndexOf("< ");
    if (start < 0)
        return {};
    QString response = output.mid(start + 2);
    response.truncate(response.indexOf(" : "));
    return response.simplified();
}

} // namespace

class TestPcscSystem : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void opensc_threeCards_listedWithTheirAtrs();
    void opensc_everyApduCase_roundTripsByteExact_data();
    void opensc_everyApduCase_roundTripsByteExact();
    void opensc_extendedApdu_passesOnlyToExtendedClient();
    void clientKilledMidApdu_transmitFailsAndCardGone();
    void serverRestarted_underRunningPcscd_readersComeBack();
    void serverDownAtPcscdStart_emptySlotsThenCards();
    void powerCapableClient_powerReachesCard();
    void cardRemovedAndInserted_seenByPcscd();
    void pcap_tsharkDecodesCcidAndApdus_pinMasked();
    void slowCard_timeExtensionKeepsCommandAlive();
    void slots_concurrent_oneBusySlotDoesNotBlockAnother();
};

void TestPcscSystem::opensc_threeCards_listedWithTheirAtrs()
{
    PcscRig rig;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    QProcess* client = rig.startClient({"--reader", "CAC=" + kCacAtr, "--reader",
                                        "T1=" + kT1OnlyAtr, "--reader", "Dual=" + kDualAtr});
    QVERIFY(waitReady(client));
    QVERIFY2(waitForReaderState(rig, 2, true), qPrintable(rig.opensc({"-l"}).output));
    const QString list = rig.opensc({"-l"}).output;
    QVERIFY2(list.contains("0    Yes             vscard 00 00"), qPrintable(list));
    QVERIFY2(list.contains("1    Yes             vscard 00 01"), qPrintable(list));
    QVERIFY2(list.contains("2    Yes             vscard 00 02"), qPrintable(list));
    QVERIFY2(list.contains("3    No              vscard 00 03"), qPrintable(list));
    // Card events reach pcscd through the driver's poll function, not pcscd's 400 ms polling.
    QVERIFY(rig.pcscdLog().contains("Using the reader polling thread"));
    QVERIFY(!rig.pcscdLog().contains("Using the pcscd polling thread"));
    // The server says which VSCard reader sits in which PC/SC slot.
    QVERIFY(
        rig.serverLog().contains("added reader 1 \"T1\" in slot 1, PC/SC reader \"vscard 00 01\""));
    const auto readerList =
        rig.run(VSCARD_SERVER_BIN_FOR_TESTS, {"--list", "--pcsc-socket", rig.pcscSocket()});
    QVERIFY2(readerList.output.contains(
                 QStringLiteral("slot 2: \"vscard 00 02\" <- reader \"Dual\" (id 2) of "
                                "%1#")
                     .arg(rig.clientEndpoint())),
             qPrintable(readerList.output));
    const QString atrs[] = {kCacAtr, kT1OnlyAtr, kDualAtr};
    for (int reader = 0; reader < 3; ++reader) {
        const auto result = rig.opensc({"-r", QString::number(reader), "-a"});
        QCOMPARE(result.exitCode, 0);
        QCOMPARE(result.output.trimmed(), colonAtr(atrs[reader]));
    }
}

void TestPcscSystem::opensc_everyApduCase_roundTripsByteExact_data()
{
    QTest::addColumn<QString>("atr");
    // Over T=0 a case 4 command goes without Le (ISO 7816-3), so the card answers 61xx and
    // OpenSC fetches all of it; over T=1 Le reaches the card and limits the answer.
    QTest::addColumn<QString>("case4Answer");
    QTest::newRow("CAC, T=0") << kCacAtr << "11 22 33";
    QTest::newRow("T=1 only") << kT1OnlyAtr << "11 22";
    QTest::newRow("dual protocol: pcscd picks T=1") << kDualAtr << "11 22";
}

void TestPcscSystem::opensc_everyApduCase_roundTripsByteExact()
{
    QFETCH(QString, atr);
    QFETCH(QString, case4Answer);
    PcscRig rig;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    QVERIFY(waitReady(rig.startClient({"--reader", "card=" + atr})));
    QVERIFY(waitForReaderState(rig, 0, true));
    const auto result = rig.opensc({"-r", "0", "-s", "00 A4 04 00 02 3F 00 00", // case 4: echo
                                    "-s", "00 B0 00 00 10",                     // case 2: INS + i
                                    "-s", "80 CA 01 02 03 11 22 33 02", // case 4, Le shorter
                                    "-s", "00 DA 01 02 02 AB CD",       // case 3: 61 02, then
                                                                        // GET RESPONSE by OpenSC
                                    "-s", "00 70 00 00"});              // case 1
    QVERIFY2(result.exitCode == 0, qPrintable(result.output));
    QCOMPARE(receivedBytes(result.output, 0), QString("3F 00"));
    QCOMPARE(receivedBytes(result.output, 1),
             QString("B0 B1 B2 B3 B4 B5 B6 B7 B8 B9 BA BB BC BD BE BF"));
    QCOMPARE(receivedBytes(result.output, 2), case4Answer);
    QCOMPARE(receivedBytes(result.output, 3), QString());
    QCOMPARE(result.output.count("Received (SW1=0x90, SW2=0x00)"), 5);
}

void TestPcscSystem::opensc_extendedApdu_passesOnlyToExtendedClient()
{
    PcscRig rig;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    QVERIFY(waitReady(rig.startClient({"--extended", "--reader", "ext=" + kT1OnlyAtr})));
    QVERIFY(waitReady(rig.startClient({"--reader", "short=" + kT1OnlyAtr})));
    QVERIFY(waitForReaderState(rig, 1, true));
    // Case 4E: 300 data bytes, Le 0000.
    QStringList data;
    for (int i = 0; i < 300; ++i)
        data << QString::asprintf("%02X", i & 0xFF);
    const QString apdu = "00 CB 3F FF 00 01 2C " + data.join(' ') + " 00 00";

    // OpenSC sends extended APDUs only to cards its drivers know, so scriptor (pcsc-tools)
    // sends this one: it hands PC/SC the bytes as they are.
    const auto extended =
        rig.run("scriptor", {"-r", "vscard 00 00"}, 30000, apdu.toLatin1() + "\n");
    QCOMPARE(scriptorResponse(extended.output), data.join(' ') + " 90 00");

    // The other client announced no extended APDUs: the reader answers 6700 itself.
    const auto refused = rig.run("scriptor", {"-r", "vscard 00 01"}, 30000, apdu.toLatin1() + "\n");
    QCOMPARE(scriptorResponse(refused.output), QString("67 00"));
    QVERIFY(rig.serverLog().contains("answered 6700 locally"));
}

void TestPcscSystem::clientKilledMidApdu_transmitFailsAndCardGone()
{
    PcscRig rig;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    QProcess* client = rig.startClient({"--delay-ms", "60000", "--reader", "slow=" + kCacAtr});
    QVERIFY(waitReady(client));
    QVERIFY(waitForReaderState(rig, 0, true));
    QProcess* waiting = rig.startOpensc({"-r", "0", "-s", "00 B0 00 00 04"});
    // Kill the client the moment a command reaches it (OpenSC's first probe of the card), not
    // after some guessed delay.
    QByteArray seen;
    QTRY_VERIFY_WITH_TIMEOUT((seen += client->readAllStandardOutput()).contains("apdu "), 20000);
    ::kill(static_cast<pid_t>(client->processId()), SIGKILL);
    QVERIFY(waiting->waitForFinished(20000));
    const QString output = QString::fromUtf8(waiting->readAll());
    QVERIFY2(!output.contains("Received (SW1=0x90"), qPrintable(output));
    QVERIFY2(output.contains("Failed") || output.contains("failed") || waiting->exitCode() != 0,
             qPrintable(output));
    QVERIFY2(waitForReaderState(rig, 0, false), qPrintable(rig.opensc({"-l"}).output));
    QVERIFY(rig.serverLog().contains("disconnected while a command waited for its card"));
}

void TestPcscSystem::serverRestarted_underRunningPcscd_readersComeBack()
{
    PcscRig rig;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    QVERIFY(waitReady(rig.startClient({"--reader", "first=" + kCacAtr})));
    QVERIFY(waitForReaderState(rig, 0, true));
    rig.stopServer();
    QVERIFY(waitForReaderState(rig, 0, false));
    QVERIFY(rig.startServer());
    QVERIFY(waitReady(rig.startClient({"--reader", "second=" + kDualAtr})));
    QVERIFY2(waitForReaderState(rig, 0, true), qPrintable(rig.pcscdLog()));
    QCOMPARE(rig.opensc({"-r", "0", "-a"}).output.trimmed(), colonAtr(kDualAtr));
}

void TestPcscSystem::serverDownAtPcscdStart_emptySlotsThenCards()
{
    PcscRig rig;
    QVERIFY2(rig.start(false), qPrintable(rig.error()));
    QVERIFY2(waitForReaderState(rig, 3, false), qPrintable(rig.pcscdLog()));
    QVERIFY(rig.pcscdLog().contains("slots stay empty until it does"));
    QVERIFY(rig.startServer());
    QVERIFY(waitReady(rig.startClient({"--reader", "late=" + kCacAtr})));
    QVERIFY2(waitForReaderState(rig, 0, true), qPrintable(rig.pcscdLog()));
}

void TestPcscSystem::powerCapableClient_powerReachesCard()
{
    PcscRig rig;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    QVERIFY(waitReady(rig.startClient({"--power", "--reader", "powered=" + kCacAtr})));
    QVERIFY(waitForReaderState(rig, 0, true));
    QCOMPARE(rig.opensc({"-r", "0", "-a"}).output.trimmed(), colonAtr(kCacAtr));
    // pcscd powered the card up: with card-power announced, the client was asked to.
    QVERIFY(rig.serverLog().contains("<- PowerRequest reader 0, 4 bytes: cold-reset"));
    QVERIFY(rig.serverLog().contains("-> PowerResponse reader 0, 15 bytes: 3B 7A 18"));
    QCOMPARE(receivedBytes(rig.opensc({"-r", "0", "-s", "00 B0 00 00 02"}).output),
             QString("B0 B1"));
}

void TestPcscSystem::cardRemovedAndInserted_seenByPcscd()
{
    PcscRig rig;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    QProcess* client = rig.startClient({"--reader", "toggled=" + kCacAtr});
    QVERIFY(waitReady(client));
    QVERIFY(waitForReaderState(rig, 0, true));
    client->write("remove 0\n");
    QVERIFY(waitForReaderState(rig, 0, false));
    client->write("insert 0\n");
    QVERIFY(waitForReaderState(rig, 0, true));
    const auto result = rig.opensc({"-r", "0", "-s", "00 B0 00 00 02"});
    QCOMPARE(receivedBytes(result.output), QString("B0 B1"));
}

void TestPcscSystem::pcap_tsharkDecodesCcidAndApdus_pinMasked()
{
    PcscRig rig;
    const QString capture = rig.filePath("ccid.pcap");
    rig.extraServerArguments = {"--pcap", capture};
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    QVERIFY(waitReady(rig.startClient({"--reader", "card=" + kCacAtr})));
    QVERIFY(waitForReaderState(rig, 0, true));
    const auto result =
        rig.opensc({"-r", "0", "-s", "00 20 00 80 04 31 32 33 34", "-s", "00 B0 00 00 04"});
    QVERIFY2(result.exitCode == 0, qPrintable(result.output));

    // tshark finds the CCID reader from the capture's own descriptor: no -d for usbccid.
    const auto decoded = rig.run("tshark", {"-r", capture, "-d", "usbccid.subdissector,iso7816",
                                            "-Y", "usbccid", "-T", "fields", "-E", "separator=,",
                                            "-e", "usbccid.bMessageType", "-e", "iso7816.apdu.ins",
                                            "-e", "iso7816.apdu.body", "-e", "iso7816.apdu.sw1"});
    QVERIFY2(decoded.exitCode == 0, qPrintable(decoded.output));
    const QStringList lines = decoded.output.split('\n');
    QVERIFY2(lines.contains("0x6f,0x20,2a2a2a2a,"), qPrintable(decoded.output)); // PIN masked
    QVERIFY2(lines.contains("0x6f,0xb0,,"), qPrintable(decoded.output));
    QVERIFY2(lines.contains("0x80,,b0b1b2b3,0x90"), qPrintable(decoded.output));
    QVERIFY2(lines.contains("0x62,,,"), qPrintable(decoded.output)); // IccPowerOn
    QFile file(capture);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QVERIFY(!file.readAll().contains(QByteArray::fromHex("002000800431323334")));
    // The trace (the rig runs the server with --trace 'vscard.*') shows the VERIFY, not the PIN.
    QVERIFY(rig.serverLog().contains("VERIFY 00 20 00 80 (case 3S) Lc=4 data=<4 bytes masked>"));
    QVERIFY(!rig.serverLog().contains("31 32 33 34"));
}

void TestPcscSystem::slowCard_timeExtensionKeepsCommandAlive()
{
    // The card takes 7 s; the driver gives up after 5 s of silence, so only the server's
    // time extensions (one a second) can keep the command alive.
    PcscRig rig;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    QVERIFY(waitReady(rig.startClient({"--delay-ms", "7000", "--reader", "slow=" + kT1OnlyAtr})));
    QVERIFY(waitForReaderState(rig, 0, true));
    const auto result = rig.run("scriptor", {"-r", "vscard 00 00"}, 60000, "00 B0 00 00 02\n");
    QCOMPARE(scriptorResponse(result.output), QString("B0 B1 90 00"));
    QVERIFY(rig.serverLog().contains("time-extension"));
}

void TestPcscSystem::slots_concurrent_oneBusySlotDoesNotBlockAnother()
{
    PcscRig rig;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    QProcess* stuck = rig.startClient({"--delay-ms", "600000", "--reader", "stuck=" + kT1OnlyAtr});
    QVERIFY(waitReady(stuck));
    QVERIFY(waitReady(rig.startClient({"--reader", "quick=" + kT1OnlyAtr})));
    QVERIFY(waitForReaderState(rig, 1, true));
    // A command waits on slot 0 and stays waiting...
    QProcess* waiting = rig.startOpensc({"-r", "0", "-s", "00 B0 00 00 02"});
    QByteArray seen;
    QTRY_VERIFY_WITH_TIMEOUT((seen += stuck->readAllStandardOutput()).contains("apdu "), 20000);
    // ...while slot 1 answers.
    const auto quick = rig.run("scriptor", {"-r", "vscard 00 01"}, 30000, "00 B0 00 00 02\n");
    QCOMPARE(scriptorResponse(quick.output), QString("B0 B1 90 00"));
    QCOMPARE(waiting->state(), QProcess::Running);
}

QTEST_GUILESS_MAIN(TestPcscSystem)
#include "tst_pcsc_system.moc"
