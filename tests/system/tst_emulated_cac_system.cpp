// The emulated CAC hosted by server-ccid, judged by OpenSC through a real private pcscd: the
// token, its certificates and keys, signatures openssl verifies, decryption, pkcs11-tool's own
// test, the PIN retry counter (persisted across restarts), distinct serials per card.
#include "pcsc_rig.h"

#include <QFile>
#include <QRegularExpression>
#include <QtTest>

using vscard::test::PcscRig;
using vscard::test::ToolResult;

namespace {

const QString kPin = "12345678";

QString cardOption(const QString& database, const QString& softCards)
{
    return QStringLiteral("emulated:db=\"sql:%1\" use_hw=no %2").arg(database, softCards);
}

} // namespace

class TestEmulatedCacSystem : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void pkcs11_token_listsThreeCertificatesAndKeys();
    void sign_rsaPkcsAndPss_verifiedByOpenssl();
    void decrypt_rsaPkcs_roundTrips();
    void pkcs11Test_withLogin_reportsNoErrors();
    void wrongPin_countsDownBlocksAndStaysBlockedAcrossRestart();
    void twoCards_oneServer_differentSerials();
    void missingCertificate_serverRefusesToStart();

private:
    bool startWithCards(PcscRig& rig, const QString& softCards, int readers = 1);
    ToolResult pkcs11(PcscRig& rig, QStringList arguments);
    QString certificatePem(const QString& nickname);

    QTemporaryDir work_;
    QString database_;
};

void TestEmulatedCacSystem::initTestCase()
{
    QVERIFY(work_.isValid());
    database_ = work_.filePath("db");
    const QString problem = vscard::test::makeTestDatabase(database_, kPin);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
}

bool TestEmulatedCacSystem::startWithCards(PcscRig& rig, const QString& softCards, int readers)
{
    rig.extraServerArguments << "--card" << cardOption(database_, softCards);
    if (!rig.start()) {
        qWarning("%s", qPrintable(rig.error()));
        return false;
    }
    for (int attempt = 0; attempt < 100; ++attempt) {
        if (rig.opensc({"-l"}).output.count(QRegularExpression("\\d+\\s+Yes\\s+vscard")) == readers)
            return true;
        QTest::qWait(100);
    }
    qWarning("%s", qPrintable(rig.opensc({"-l"}).output + rig.serverLog()));
    return false;
}

ToolResult TestEmulatedCacSystem::pkcs11(PcscRig& rig, QStringList arguments)
{
    return rig.run("pkcs11-tool", QStringList{"--module", VSCARD_OPENSC_PKCS11} + arguments,
                   120000);
}

QString TestEmulatedCacSystem::certificatePem(const QString& nickname)
{
    QProcess certutil;
    certutil.start("certutil", {"-d", "sql:" + database_, "-L", "-n", nickname, "-a"});
    certutil.waitForFinished(30000);
    const QString path = work_.filePath(nickname + ".pem");
    QFile file(path);
    file.open(QIODevice::WriteOnly);
    file.write(certutil.readAllStandardOutput());
    return path;
}

void TestEmulatedCacSystem::pkcs11_token_listsThreeCertificatesAndKeys()
{
    PcscRig rig;
    QVERIFY(startWithCards(rig, "soft=(,Test,CAC,,cert1,cert2,cert3)"));
    QVERIFY(rig.opensc({"-n"}).output.contains("Common Access Card (CAC)"));
    const auto token = pkcs11(rig, {"-L"});
    QVERIFY2(token.output.contains("token label        : vscard test 1"), qPrintable(token.output));
    QVERIFY(token.output.contains("token manufacturer : Common Access Card"));
    const auto objects = pkcs11(rig, {"-O"});
    for (const char* label : {"CAC ID Certificate", "CAC Email Signature Certificate",
                              "CAC Email Encryption Certificate"})
        QVERIFY2(objects.output.contains(QStringLiteral("label:      ") + label),
                 qPrintable(objects.output));
    for (int i = 1; i <= 3; ++i)
        QVERIFY(objects.output.contains(QStringLiteral("CN=vscard test %1").arg(i)));
    QCOMPARE(objects.output.count("Public Key Object; RSA 2048 bits"), 3);
    // After login the private keys appear too.
    const auto loggedIn = pkcs11(rig, {"--login", "--pin", kPin, "-O", "--type", "privkey"});
    QCOMPARE(loggedIn.output.count("Private Key Object; RSA"), 3);
}

void TestEmulatedCacSystem::sign_rsaPkcsAndPss_verifiedByOpenssl()
{
    PcscRig rig;
    QVERIFY(startWithCards(rig, "soft=(,Test,CAC,,cert1,cert2,cert3)"));
    const QString data = work_.filePath("data.txt");
    QFile file(data);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("signed by an emulated CAC\n");
    file.close();

    const QString signature = work_.filePath("sig.bin");
    const auto signing =
        pkcs11(rig, {"--login", "--pin", kPin, "--sign", "--mechanism", "SHA256-RSA-PKCS", "--id",
                     "0001", "-i", data, "-o", signature});
    QVERIFY2(signing.exitCode == 0, qPrintable(signing.output));
    const QString publicKey = work_.filePath("pub1.pem");
    QVERIFY(rig.run("sh", {"-c", QStringLiteral("openssl x509 -in %1 -pubkey -noout > %2")
                                     .arg(certificatePem("cert1"), publicKey)})
                .exitCode == 0);
    const auto verified = rig.run(
        "openssl", {"dgst", "-sha256", "-verify", publicKey, "-signature", signature, data});
    QVERIFY2(verified.output.contains("Verified OK"), qPrintable(verified.output));

    const QString pss = work_.filePath("pss.bin");
    const auto pssSigning =
        pkcs11(rig, {"--login", "--pin", kPin, "--sign", "--mechanism", "SHA256-RSA-PKCS-PSS",
                     "--id", "0001", "-i", data, "-o", pss});
    QVERIFY2(pssSigning.exitCode == 0, qPrintable(pssSigning.output));
    const auto pssVerified =
        rig.run("openssl", {"dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt",
                            "rsa_pss_saltlen:-1", "-verify", publicKey, "-signature", pss, data});
    QVERIFY2(pssVerified.output.contains("Verified OK"), qPrintable(pssVerified.output));
}

void TestEmulatedCacSystem::decrypt_rsaPkcs_roundTrips()
{
    PcscRig rig;
    QVERIFY(startWithCards(rig, "soft=(,Test,CAC,,cert1,cert2,cert3)"));
    const QString plain = work_.filePath("plain.txt");
    const QString cipher = work_.filePath("cipher.bin");
    QFile file(plain);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("a secret for cert3");
    file.close();
    QVERIFY(rig.run("sh", {"-c", QStringLiteral("openssl x509 -in %1 -pubkey -noout > %2.pub && "
                                                "openssl pkeyutl -encrypt -pubin -inkey %2.pub "
                                                "-in %3 -out %2")
                                     .arg(certificatePem("cert3"), cipher, plain)})
                .exitCode == 0);
    const auto decrypted = pkcs11(rig, {"--login", "--pin", kPin, "--decrypt", "--mechanism",
                                        "RSA-PKCS", "--id", "0003", "-i", cipher});
    QVERIFY2(decrypted.output.contains("a secret for cert3"), qPrintable(decrypted.output));
}

void TestEmulatedCacSystem::pkcs11Test_withLogin_reportsNoErrors()
{
    PcscRig rig;
    QVERIFY(startWithCards(rig, "soft=(,Test,CAC,,cert1,cert2,cert3)"));
    const auto result = pkcs11(rig, {"--test", "--login", "--pin", kPin});
    QVERIFY2(result.exitCode == 0 && result.output.contains("No errors"),
             qPrintable(result.output));
}

void TestEmulatedCacSystem::wrongPin_countsDownBlocksAndStaysBlockedAcrossRestart()
{
    PcscRig rig;
    const QString auditLog = work_.filePath("audit.log");
    rig.extraServerArguments << "--state-dir" << work_.filePath("state") << "--audit"
                             << "file:" + auditLog;
    QVERIFY(startWithCards(rig, "soft=(,Test,CAC,,cert1)"));
    const QStringList pinStatus = {"-r", "0",          "-s", "00 A4 04 00 07 A0 00 00 00 79 03 00",
                                   "-s", "00 20 00 00"};
    QVERIFY(rig.opensc(pinStatus).output.contains("Received (SW1=0x63, SW2=0xC3)"));
    QVERIFY(
        pkcs11(rig, {"--login", "--pin", "00000000", "-O"}).output.contains("CKR_PIN_INCORRECT"));
    QVERIFY(rig.opensc(pinStatus).output.contains("Received (SW1=0x63, SW2=0xC2)"));
    QVERIFY(
        pkcs11(rig, {"--login", "--pin", "00000000", "-O"}).output.contains("CKR_PIN_INCORRECT"));
    // A right PIN resets the count: the next wrong one leaves two tries, not zero.
    QVERIFY(pkcs11(rig, {"--login", "--pin", kPin, "-O"}).exitCode == 0);
    QVERIFY(
        pkcs11(rig, {"--login", "--pin", "00000000", "-O"}).output.contains("CKR_PIN_INCORRECT"));
    QVERIFY(rig.opensc(pinStatus).output.contains("Received (SW1=0x63, SW2=0xC2)"));
    for (int i = 0; i < 2; ++i)
        pkcs11(rig, {"--login", "--pin", "00000000", "-O"});
    QVERIFY(rig.opensc(pinStatus).output.contains("Received (SW1=0x69, SW2=0x83)"));
    QVERIFY(pkcs11(rig, {"--login", "--pin", kPin, "-O"}).output.contains("CKR_PIN_LOCKED"));

    // The audit trail has each VERIFY's outcome, and no PIN, right or wrong, is in it or in the
    // server's trace (which logs every APDU).
    QFile audit(auditLog);
    QVERIFY(audit.open(QIODevice::ReadOnly));
    const QString events = QString::fromUtf8(audit.readAll());
    const QString verify = QStringLiteral("verify slot 0 reader \"Test\" by emulation: PIN 00 ");
    QVERIFY2(events.contains(verify + "status query refused, 3 tries left (63C3)"),
             qPrintable(events));
    QVERIFY(events.contains(verify + "refused, 2 tries left (63C2)"));
    QVERIFY(events.contains(verify + "accepted (9000)"));
    QVERIFY(events.contains(verify + "refused, blocked (6983)"));
    for (const QString& pin : {kPin, QStringLiteral("00000000")}) {
        const QString pinHex = QString::fromLatin1(pin.toLatin1().toHex(' ')).toUpper();
        QVERIFY(!events.contains(pin) && !events.contains(pinHex));
        QVERIFY2(!rig.serverLog().contains(pinHex), qPrintable(pinHex));
    }
    QVERIFY2(rig.serverLog().contains("data 13: 00 20 00 00 08 <8 bytes masked>"),
             qPrintable(rig.serverLog().section("00 20 00 00", 1, 3)));

    rig.stopServer();
    QVERIFY(rig.startServer());
    QTRY_VERIFY_WITH_TIMEOUT(rig.opensc({"-l"}).output.contains(QRegularExpression("0\\s+Yes")),
                             10000);
    // The right PIN does not help a blocked card, even after a restart.
    QVERIFY(pkcs11(rig, {"--login", "--pin", kPin, "-O"}).output.contains("CKR_PIN_LOCKED"));
    QVERIFY(rig.opensc(pinStatus).output.contains("Received (SW1=0x69, SW2=0x83)"));
}

void TestEmulatedCacSystem::twoCards_oneServer_differentSerials()
{
    PcscRig rig;
    QVERIFY(startWithCards(rig, "soft=(,One,CAC,,cert1) soft=(,Two,CAC,,cert2,cert3)", 2));
    const auto token = pkcs11(rig, {"-L"});
    const QRegularExpression serial("serial num\\s+:\\s+(\\S+)");
    QStringList serials;
    for (auto match = serial.globalMatch(token.output); match.hasNext();)
        serials << match.next().captured(1);
    QCOMPARE(serials.size(), 2);
    QVERIFY2(serials[0] != serials[1], qPrintable(token.output));
    QVERIFY(token.output.contains("token label        : vscard test 1"));
    QVERIFY(token.output.contains("token label        : vscard test 2"));
}

void TestEmulatedCacSystem::missingCertificate_serverRefusesToStart()
{
    // libcacard skips a nickname it cannot find; we say which one and do not start.
    QProcess server;
    server.setProcessChannelMode(QProcess::MergedChannels);
    server.start(VSCARD_SERVER_BIN_FOR_TESTS,
                 {"--listen", "unix:" + work_.filePath("refused.sock"), "--card",
                  cardOption(database_, "soft=(,Test,CAC,,cert1,nosuch)")});
    QVERIFY(server.waitForFinished(30000));
    QCOMPARE(server.exitCode(), 1);
    const QString output = QString::fromUtf8(server.readAll());
    QVERIFY2(output.contains("certificate \"nosuch\" is not in sql:" + database_),
             qPrintable(output));
    QVERIFY(!QFile::exists(work_.filePath("refused.sock")));

    // Neither a soft= card nor hardware tokens: nothing to host is an error too.
    QProcess empty;
    empty.setProcessChannelMode(QProcess::MergedChannels);
    empty.start(VSCARD_SERVER_BIN_FOR_TESTS, {"--listen", "unix:" + work_.filePath("refused.sock"),
                                              "--card", cardOption(database_, "")});
    QVERIFY(empty.waitForFinished(30000));
    QCOMPARE(empty.exitCode(), 1);
    QVERIFY2(QString::fromUtf8(empty.readAll())
                 .contains("no card: give soft=(...) or use_hw=yes|removable"),
             qPrintable(output));
}

QTEST_GUILESS_MAIN(TestEmulatedCacSystem)
#include "tst_emulated_cac_system.moc"
