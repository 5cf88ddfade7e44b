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

private:
    QProcess* startClient(PcscRig& rig, const QStringList& arguments, const QString& log);
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

QTEST_GUILESS_MAIN(TestVscclientSystem)
#include "tst_vscclient_system.moc"
