// vscclient against server-ccid behind a private pcscd, judged by OpenSC and scriptor: an
// emulated CAC signs (openssl verifies), a scripted card gets exactly the APDUs scriptor
// sends and answers what the script says, scripts pass and fail with their exit status and
// line, the documented attach/detach scenario runs, and a restarted host gets the readers
// and cards back.
#include "pcsc_rig.h"

#include <QFile>
#include <QRegularExpression>
#include <QtTest>

using vscard::test::PcscRig;
using vscard::test::ToolResult;

namespace {

const QString kPin = "12345678";
const QString kScriptedAtr = "3B8F8001804F0CA000000306030001000000006A";

bool waitForExit(QProcess* process, int timeoutMs = 60000)
{
    return process->state() == QProcess::NotRunning || process->waitForFinished(timeoutMs);
}

} // namespace

class TestVscclientSystem : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void emulatedCac_pkcs11SignsThroughServer();
    void certificateOptions_likeLibcacardsVscclient();
    void scriptedCard_getsScriptorsApdusAndAnswers();
    void failingScripts_exitWithTheirLine();
    void exampleScenario_attachDetach_runsAgainstServer();
    void hostRestart_clientRestoresReadersAndCards();
    void hostKilledMidApdu_clientSurvivesAndRestores();
    void pcscPassthrough_apdusByteExactAndCardEvents();
    void pcscPassthrough_cardGoneMidApdu_hostGetsAnError();
    void pcscPassthrough_lastPinTry_neverForwarded();
    void pcscPassthrough_verifiedPin_keepsLocalApplicationsOut();
    void pcscPassthrough_exclusive_localApplicationsCannotConnect();
    void pcscAndEmulated_oneProcess_pcscdRestartFollowed();

private:
    QProcess* startClient(PcscRig& rig, const QStringList& arguments, const QString& log);
    // vscclient --pcsc on upstream's pcscd, connected to rig.
    QProcess* startPcscClient(PcscRig& rig, PcscRig& upstream, const QStringList& arguments = {});
    bool startUpstream(PcscRig& upstream, const QStringList& cards = {});
    QString writeScript(const QString& name, const QString& text);
    ToolResult pkcs11(PcscRig& rig, QStringList arguments);

    QTemporaryDir work_;
    QString database_;
};

void TestVscclientSystem::initTestCase()
{
    QVERIFY(work_.isValid());
    database_ = work_.filePath("db");
    const QString problem = vscard::test::makeTestDatabase(database_, kPin);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
}

QProcess* TestVscclientSystem::startClient(PcscRig& rig, const QStringList& arguments,
                                           const QString& log)
{
    return rig.startProgram(VSCARD_VSCCLIENT_BIN,
                            QStringList{"--connect", rig.clientEndpoint()} + arguments, log);
}

QString TestVscclientSystem::writeScript(const QString& name, const QString& text)
{
    const QString path = work_.filePath(name);
    QFile file(path);
    file.open(QIODevice::WriteOnly);
    file.write(text.toUtf8());
    return path;
}

ToolResult TestVscclientSystem::pkcs11(PcscRig& rig, QStringList arguments)
{
    return rig.run("pkcs11-tool", QStringList{"--module", VSCARD_OPENSC_PKCS11} + arguments,
                   120000);
}

void TestVscclientSystem::emulatedCac_pkcs11SignsThroughServer()
{
    PcscRig rig;
    const QString auditLog = work_.filePath("audit.log");
    rig.extraServerArguments << "--audit"
                             << "file:" + auditLog;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    QProcess* client = startClient(
        rig,
        {"-e", QStringLiteral("db=\"sql:%1\" use_hw=no soft=(,Test,CAC,,cert1,cert2,cert3)")
                   .arg(database_)},
        "vscclient.log");
    QVERIFY2(rig.waitForCard("vscard 00 00", true), qPrintable(rig.log("vscclient.log")));
    const QString data = work_.filePath("data.txt");
    QFile file(data);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("signed by an emulated CAC shared by vscclient\n");
    file.close();
    const QString signature = work_.filePath("sig.bin");
    const auto signing =
        pkcs11(rig, {"--login", "--pin", kPin, "--sign", "--mechanism", "SHA256-RSA-PKCS", "--id",
                     "0001", "-i", data, "-o", signature});
    QVERIFY2(signing.exitCode == 0, qPrintable(signing.output + rig.log("vscclient.log")));
    const auto verified = rig.run(
        "sh", {"-c", QStringLiteral("certutil -d sql:%1 -L -n cert1 -a | openssl x509 -pubkey "
                                    "-noout > %2.pub && openssl dgst -sha256 -verify %2.pub "
                                    "-signature %2 %3")
                         .arg(database_, signature, data)});
    QVERIFY2(verified.output.contains("Verified OK"), qPrintable(verified.output));
    QCOMPARE(client->state(), QProcess::Running);
    // The login is in the server's audit trail, as the client's card answered it, PIN unseen.
    QFile audit(auditLog);
    QVERIFY(audit.open(QIODevice::ReadOnly));
    const QString events = QString::fromUtf8(audit.readAll());
    QVERIFY2(events.contains(QRegularExpression(
                 "verify slot 0 reader \"Test\" by unix:\\S+: PIN 00 accepted \\(9000\\)")),
             qPrintable(events));
    QVERIFY(events.contains(QRegularExpression("card-insert unix:\\S+ slot 0 ATR 3B 7A 18")));
    QVERIFY(!events.contains(QString::fromLatin1(kPin.toLatin1().toHex(' ')).toUpper()));
}

void TestVscclientSystem::certificateOptions_likeLibcacardsVscclient()
{
    PcscRig rig;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    startClient(rig,
                {"-e", QStringLiteral("db=\"sql:%1\" use_hw=no").arg(database_), "-c", "cert1",
                 "-c", "cert3"},
                "vscclient.log");
    QVERIFY2(rig.waitForCard("vscard 00 00", true), qPrintable(rig.log("vscclient.log")));
    QVERIFY(rig.serverLog().contains("\"Virtual Reader\""));
    const auto objects = pkcs11(rig, {"-O"});
    QCOMPARE(objects.output.count("Certificate Object; type = X.509 cert"), 2);
    QVERIFY(objects.output.contains("CN=vscard test 1"));
    QVERIFY(objects.output.contains("CN=vscard test 3"));
}

void TestVscclientSystem::scriptedCard_getsScriptorsApdusAndAnswers()
{
    PcscRig rig;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    const QString script = writeScript(
        "scripted.vsc", QStringLiteral("add-reader Scripted\n"
                                       "insert %1\n"
                                       "# what scriptor sends, and what the card answers\n"
                                       "expect-apdu 00A4040007A000000003000000 30s\n"
                                       "respond 6F0A8408A0000000030000009000\n"
                                       "expect-apdu 80CA9F7F00\n"
                                       "respond 6A88\n")
                            .arg(kScriptedAtr));
    QProcess* client = startClient(rig, {"--script", script}, "vscclient.log");
    QVERIFY2(rig.waitForCard("vscard 00 00", true), qPrintable(rig.log("vscclient.log")));
    const auto scriptor = rig.run("scriptor", {"-r", "vscard 00 00"}, 60000,
                                  "00 A4 04 00 07 A0 00 00 00 03 00 00 00\n80 CA 9F 7F 00\n");
    if (!scriptor.output.contains("< 6F 0A 84 08 A0 00 00 00 03 00 00 00 90 00"))
        qWarning("%s\n%s", qPrintable(rig.serverLog()), qPrintable(rig.log("vscclient.log")));
    QVERIFY2(scriptor.output.contains("< 6F 0A 84 08 A0 00 00 00 03 00 00 00 90 00"),
             qPrintable(scriptor.output));
    QVERIFY2(scriptor.output.contains("< 6A 88"), qPrintable(scriptor.output));
    QVERIFY(waitForExit(client));
    QCOMPARE(client->exitCode(), 0);
}

void TestVscclientSystem::failingScripts_exitWithTheirLine()
{
    PcscRig rig;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    // A command the client does not know, on line 3.
    const QString unknown = writeScript("unknown.vsc", "add-reader One\n\nteleport 0\n");
    QProcess* first = startClient(rig, {"--script", unknown}, "unknown.log");
    QVERIFY(waitForExit(first));
    QCOMPARE(first->exitCode(), 1);
    QVERIFY2(rig.log("unknown.log").contains(unknown + ":3: unknown command \"teleport\""),
             qPrintable(rig.log("unknown.log")));

    // The card gets an APDU the script did not expect: the host still gets an answer.
    const QString wrong = writeScript(
        "wrong.vsc", QStringLiteral("add-reader Two\ninsert %1\nexpect-apdu 00B0000000 30s\n")
                         .arg(kScriptedAtr));
    QProcess* second = startClient(rig, {"--script", wrong}, "wrong.log");
    QVERIFY2(rig.waitForCard("vscard 00 00", true), qPrintable(rig.log("wrong.log")));
    const auto scriptor = rig.run("scriptor", {"-r", "vscard 00 00"}, 60000, "00 84 00 00 08\n");
    QVERIFY2(scriptor.output.contains("< 6F 00"), qPrintable(scriptor.output));
    QVERIFY(waitForExit(second));
    QCOMPARE(second->exitCode(), 1);
    QVERIFY2(rig.log("wrong.log")
                 .contains(wrong + ":3: expected APDU 00 B0 00 00 00, got 00 84 "
                                   "00 00 08"),
             qPrintable(rig.log("wrong.log")));

    // Waiting for an APDU that never comes fails after the timeout given.
    const QString silent = writeScript("silent.vsc", "add-reader Three\nwait-apdu 1 300ms\n");
    QProcess* third = startClient(rig, {"--script", silent}, "silent.log");
    QVERIFY(waitForExit(third));
    QCOMPARE(third->exitCode(), 1);
    QVERIFY2(rig.log("silent.log").contains(silent + ":2: 1 APDU(s) expected within 300 ms"),
             qPrintable(rig.log("silent.log")));
}

void TestVscclientSystem::exampleScenario_attachDetach_runsAgainstServer()
{
    PcscRig rig;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    QProcess* client = startClient(rig, {"--script", VSCARD_EXAMPLE_SCENARIO}, "scenario.log");
    QVERIFY(waitForExit(client));
    QVERIFY2(client->exitCode() == 0, qPrintable(rig.log("scenario.log")));
    const QString server = rig.serverLog();
    QCOMPARE(server.count(QRegularExpression("added reader \\d+ \"Scenario Reader\"")), 3);
    QCOMPARE(server.count("inserted a card"), 3);
    QCOMPARE(server.count("removed the card"), 3);
    QCOMPARE(server.count(QRegularExpression("removed reader \\d+ from slot")), 3);
    const QString output = QString::fromUtf8(client->readAllStandardOutput());
    QCOMPARE(output.count("card inserted in reader"), 3);
}

void TestVscclientSystem::hostRestart_clientRestoresReadersAndCards()
{
    PcscRig rig;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    QProcess* client = startClient(
        rig,
        {"-e", QStringLiteral("db=\"sql:%1\" use_hw=no soft=(,Test,CAC,,cert1)").arg(database_)},
        "vscclient.log");
    QVERIFY2(rig.waitForCard("vscard 00 00", true), qPrintable(rig.log("vscclient.log")));
    rig.stopServer();
    QVERIFY(rig.waitForCard("vscard 00 00", false));
    QVERIFY(rig.startServer());
    QVERIFY2(rig.waitForCard("vscard 00 00", true), qPrintable(rig.log("vscclient.log")));
    QVERIFY(pkcs11(rig, {"-O"}).output.contains("CN=vscard test 1"));
    QCOMPARE(client->state(), QProcess::Running);
    QVERIFY(rig.log("vscclient.log").contains("trying again in"));
}

void TestVscclientSystem::hostKilledMidApdu_clientSurvivesAndRestores()
{
    PcscRig rig;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    // A scripted card on the console that nobody answers: the command stays with the client.
    QProcess* client = startClient(rig, {}, "vscclient.log");
    client->write(QStringLiteral("add-reader Slow\ninsert %1\n").arg(kScriptedAtr).toUtf8());
    QVERIFY2(rig.waitForCard("vscard 00 00", true), qPrintable(rig.log("vscclient.log")));
    QProcess& scriptor = *rig.startTool("scriptor", {"-r", "vscard 00 00"});
    scriptor.write("00 B0 00 00 04\n");
    scriptor.closeWriteChannel();
    for (int waited = 0; waited < 10000 && !rig.serverLog().contains("<- APDU reader 0");
         waited += 100)
        QTest::qWait(100);
    QVERIFY2(rig.serverLog().contains("<- APDU reader 0"), qPrintable(rig.serverLog()));
    rig.killServer();
    QVERIFY2(scriptor.waitForFinished(20000), "the application waits for ever");
    QVERIFY(rig.waitForCard("vscard 00 00", false));
    QCOMPARE(client->state(), QProcess::Running);
    QVERIFY(rig.startServer());
    QVERIFY2(rig.waitForCard("vscard 00 00", true), qPrintable(rig.log("vscclient.log")));
    client->write("list\n");
    QVERIFY(client->waitForReadyRead(5000));
    QTest::qWait(200);
    QVERIFY(QString::fromUtf8(client->readAllStandardOutput())
                .contains("0 \"Slow\" (host id 0): card"));
}

QProcess* TestVscclientSystem::startPcscClient(PcscRig& rig, PcscRig& upstream,
                                               const QStringList& arguments)
{
    return rig.startProgram(VSCARD_VSCCLIENT_BIN,
                            QStringList{"--connect", rig.clientEndpoint(), "--pcsc"} + arguments,
                            "vscclient.log", {"PCSCLITE_CSOCK_NAME=" + upstream.pcscdSocket()});
}

// A second server and pcscd whose PC/SC readers ("upstream 00 0N") play this machine's real
// readers for vscclient --pcsc.
bool TestVscclientSystem::startUpstream(PcscRig& upstream, const QStringList& cards)
{
    upstream.pcscName = "upstream";
    for (const QString& card : cards)
        upstream.extraServerArguments << "--card" << card;
    return upstream.start();
}

void TestVscclientSystem::pcscPassthrough_apdusByteExactAndCardEvents()
{
    PcscRig upstream;
    QVERIFY2(startUpstream(upstream), qPrintable(upstream.error()));
    QProcess* card = upstream.startClient({"--reader", "Real=" + vscard::test::kT1OnlyAtr});
    QVERIFY(vscard::test::waitReady(card));
    QVERIFY(upstream.waitForCard("upstream 00 00", true));

    PcscRig rig;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    startPcscClient(rig, upstream, {"--reader", "upstream*"});
    QVERIFY2(rig.waitForCard("vscard 00 00", true), qPrintable(rig.log("vscclient.log")));
    QVERIFY(rig.serverLog().contains("\"upstream 00 00\""));
    // Readers beyond the first exist upstream (4 slots) but hold nothing: shared, empty.
    QVERIFY(rig.waitForCard("vscard 00 01", false));
    QVERIFY2(rig.opensc({"-r", "vscard 00 00", "-a"})
                 .output.contains(vscard::test::colonAtr(vscard::test::kT1OnlyAtr)),
             qPrintable(rig.opensc({"-l"}).output));

    // The test card answers case 1 with 9000, case 2 with INS, INS+1, ..., case 4 with its
    // data cut to Le: all byte for byte through both servers and both pcscds.
    const auto scriptor = rig.run("scriptor", {"-r", "vscard 00 00"}, 60000,
                                  "00 10 00 00\n00 B0 00 00 04\n00 D6 00 00 03 01 02 03 02\n");
    QVERIFY2(scriptor.output.contains("< 90 00 : Normal processing"), qPrintable(scriptor.output));
    QVERIFY2(scriptor.output.contains("< B0 B1 B2 B3 90 00"), qPrintable(scriptor.output));
    QVERIFY2(scriptor.output.contains("< 01 02 90 00"), qPrintable(scriptor.output));
    QVERIFY(upstream.serverLog().contains("PC_to_RDR_XfrBlock"));

    card->write("remove 0\n");
    QVERIFY2(rig.waitForCard("vscard 00 00", false), qPrintable(rig.log("vscclient.log")));
    card->write("insert 0\n");
    QVERIFY2(rig.waitForCard("vscard 00 00", true), qPrintable(rig.log("vscclient.log")));
    QVERIFY(rig.log("vscclient.log").contains("card removed from \"upstream 00 00\""));
}

void TestVscclientSystem::pcscPassthrough_cardGoneMidApdu_hostGetsAnError()
{
    PcscRig upstream;
    QVERIFY2(startUpstream(upstream), qPrintable(upstream.error()));
    QProcess* card = upstream.startClient(
        {"--reader", "Slow=" + vscard::test::kT1OnlyAtr, "--delay-ms", "4000"});
    QVERIFY(vscard::test::waitReady(card));
    PcscRig rig;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    startPcscClient(rig, upstream, {"--reader", "upstream 00 00"});
    QVERIFY2(rig.waitForCard("vscard 00 00", true), qPrintable(rig.log("vscclient.log")));

    QProcess& scriptor = *rig.startTool("scriptor", {"-r", "vscard 00 00"});
    scriptor.write("00 B0 00 00 04\n");
    scriptor.closeWriteChannel();
    QTest::qWait(1500); // the command is with the slow card now
    card->kill();       // the card's owner vanishes: the real reader loses its card
    QVERIFY2(scriptor.waitForFinished(20000), "scriptor hangs: the host never got an answer");
    const QString output = QString::fromUtf8(scriptor.readAll());
    QVERIFY2(!output.contains("< B0 B1 B2 B3"), qPrintable(output));
    QVERIFY2(rig.waitForCard("vscard 00 00", false), qPrintable(rig.log("vscclient.log")));
}

void TestVscclientSystem::pcscPassthrough_lastPinTry_neverForwarded()
{
    PcscRig upstream;
    QVERIFY2(startUpstream(upstream, {QStringLiteral("emulated:db=\"sql:%1\" use_hw=no "
                                                     "soft=(,Real CAC,CAC,,cert1,cert2,cert3)")
                                          .arg(database_)}),
             qPrintable(upstream.error()));
    QVERIFY(upstream.waitForCard("upstream 00 00", true));
    PcscRig rig;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    startPcscClient(rig, upstream, {"--reader", "upstream 00 00"});
    QVERIFY2(rig.waitForCard("vscard 00 00", true), qPrintable(rig.log("vscclient.log")));

    // Two wrong PINs reach the card; the third would leave it blocked and is not forwarded.
    for (int i = 0; i < 2; ++i)
        QVERIFY(pkcs11(rig, {"--login", "--pin", "00000000", "-O"})
                    .output.contains("CKR_PIN_INCORRECT"));
    const auto third = pkcs11(rig, {"--login", "--pin", "00000000", "-O"});
    QVERIFY2(!third.output.contains("CKR_PIN_LOCKED"), qPrintable(third.output));
    QVERIFY(
        rig.log("vscclient.log").contains("VERIFY not forwarded, the card has one PIN try left"));
    const auto status = upstream.run("scriptor", {"-r", "upstream 00 00"}, 60000,
                                     "00 A4 04 00 07 A0 00 00 00 79 01 00 00\n00 20 00 00\n");
    QVERIFY2(status.output.contains("< 63 C1"), qPrintable(status.output));
    // Not even the right PIN is risked on the last try ...
    QVERIFY(!pkcs11(rig, {"--login", "--pin", kPin, "-O", "--type", "privkey"})
                 .output.contains("Private Key Object; RSA"));
    // ... until a local application restores the tries with it.
    const auto restored = upstream.run(
        "scriptor", {"-r", "upstream 00 00"}, 60000,
        "00 A4 04 00 07 A0 00 00 00 79 01 00 00\n00 20 00 00 08 31 32 33 34 35 36 37 38\n");
    QVERIFY2(restored.output.contains("< 90 00"), qPrintable(restored.output));
    QVERIFY(pkcs11(rig, {"--login", "--pin", kPin, "-O", "--type", "privkey"})
                .output.contains("Private Key Object; RSA"));
}

// Once the guest has verified the PIN, a local application must not slip its commands in
// between the guest's: vscclient holds a PC/SC transaction until the host resets the card.
void TestVscclientSystem::pcscPassthrough_verifiedPin_keepsLocalApplicationsOut()
{
    PcscRig upstream;
    QVERIFY2(startUpstream(upstream, {QStringLiteral("emulated:db=\"sql:%1\" use_hw=no "
                                                     "soft=(,Real CAC,CAC,,cert1)")
                                          .arg(database_)}),
             qPrintable(upstream.error()));
    QVERIFY(upstream.waitForCard("upstream 00 00", true));
    PcscRig rig;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    startPcscClient(rig, upstream, {"--reader", "upstream 00 00", "--trace", "vscard.*"});
    QVERIFY2(rig.waitForCard("vscard 00 00", true), qPrintable(rig.log("vscclient.log")));

    const QByteArray local = "00 A4 04 00 07 A0 00 00 00 79 01 00 00\n";
    const auto before = upstream.run("scriptor", {"-r", "upstream 00 00"}, 30000, local);
    QVERIFY2(before.output.contains("< 6F"), qPrintable(before.output));
    // The guest verifies the PIN and stays connected (when the last application leaves,
    // pcscd powers the card off, and that ends the session too).
    QProcess& guest = *rig.startTool("scriptor", {"-r", "vscard 00 00"});
    guest.write("00 A4 04 00 07 A0 00 00 00 79 01 00 00\n"
                "00 20 00 00 08 31 32 33 34 35 36 37 38\n");
    const QRegularExpression verifiedPin("VERIFY 00 20 00 00 \\(case 3S\\) Lc=8 data=<8 bytes "
                                         "masked>\\s+\\S+ -> \\S+ APDU reader 0, 2 bytes: 9000");
    for (int waited = 0; waited < 20000 && !rig.log("vscclient.log").contains(verifiedPin);
         waited += 100)
        QTest::qWait(100);
    QVERIFY2(rig.log("vscclient.log").contains(verifiedPin), qPrintable(rig.log("vscclient.log")));
    // The local application waits (or is refused) while the guest's session lasts.
    const auto refused = upstream.run("scriptor", {"-r", "upstream 00 00"}, 6000, local);
    QVERIFY2(!refused.output.contains("< 6F"), qPrintable(refused.output));
    // The guest's session ends (scriptor resets the card as it leaves): the local
    // application gets in.
    guest.closeWriteChannel();
    QVERIFY(guest.waitForFinished(30000));
    const auto after = upstream.run("scriptor", {"-r", "upstream 00 00"}, 30000, local);
    QVERIFY2(after.output.contains("< 6F"), qPrintable(after.output));
}

void TestVscclientSystem::pcscPassthrough_exclusive_localApplicationsCannotConnect()
{
    PcscRig upstream;
    QVERIFY2(startUpstream(upstream), qPrintable(upstream.error()));
    QProcess* card = upstream.startClient({"--reader", "Real=" + vscard::test::kCacAtr});
    QVERIFY(vscard::test::waitReady(card));
    PcscRig rig;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    startPcscClient(rig, upstream, {"--reader", "upstream 00 00", "--exclusive"});
    QVERIFY2(rig.waitForCard("vscard 00 00", true), qPrintable(rig.log("vscclient.log")));
    const auto local = upstream.run("scriptor", {"-r", "upstream 00 00"}, 30000, "00 10 00 00\n");
    QVERIFY2(!local.output.contains("< 90 00") && local.output.contains("Sharing violation"),
             qPrintable(local.output));
    // The guest's commands still reach the card.
    QVERIFY(rig.run("scriptor", {"-r", "vscard 00 00"}, 30000, "00 10 00 00\n")
                .output.contains("< 90 00"));
}

// Real readers and an emulated card from one process; the real readers' pcscd stops (its
// readers vanish from the host) and starts again (they come back, with the card).
void TestVscclientSystem::pcscAndEmulated_oneProcess_pcscdRestartFollowed()
{
    PcscRig upstream;
    QVERIFY2(startUpstream(upstream), qPrintable(upstream.error()));
    QProcess* card = upstream.startClient({"--reader", "Real=" + vscard::test::kCacAtr});
    QVERIFY(vscard::test::waitReady(card));
    PcscRig rig;
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    startPcscClient(
        rig, upstream,
        {"--reader", "upstream 00 00", "-e",
         QStringLiteral("db=\"sql:%1\" use_hw=no soft=(,Emulated,CAC,,cert1)").arg(database_)});
    // The emulated card's reader comes first, the real one after.
    QVERIFY2(rig.waitForCard("vscard 00 00", true), qPrintable(rig.log("vscclient.log")));
    QVERIFY2(rig.waitForCard("vscard 00 01", true), qPrintable(rig.log("vscclient.log")));
    QVERIFY(rig.serverLog().contains("\"Emulated\" in slot 0"));
    QVERIFY(rig.serverLog().contains("\"upstream 00 00\" in slot 1"));

    upstream.stopPcscd();
    QVERIFY2(rig.waitForCard("vscard 00 01", false), qPrintable(rig.log("vscclient.log")));
    QVERIFY(rig.serverLog().contains(QRegularExpression("removed reader \\d+ from slot 1")));
    QVERIFY(rig.waitForCard("vscard 00 00", true)); // the emulated card stays
    QVERIFY2(upstream.startPcscd(), qPrintable(upstream.error()));
    QVERIFY2(rig.waitForCard("vscard 00 01", true), qPrintable(rig.log("vscclient.log")));
    QVERIFY(rig.run("scriptor", {"-r", "vscard 00 01"}, 30000, "00 10 00 00\n")
                .output.contains("< 90 00"));
}

QTEST_GUILESS_MAIN(TestVscclientSystem)
#include "tst_vscclient_system.moc"
