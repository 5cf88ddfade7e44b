// use_hw=yes: server-ccid mirrors the tokens NSS reaches through a PKCS#11 module, as QEMU's
// ccid-card-emulated does with libcacard. The "hardware" token here is an emulated CAC behind
// a first server and pcscd ("upstream"), reached by OpenSC's PKCS#11 module loaded into a
// second server's NSS database; OpenSC then judges the mirrored card through the second
// server's own pcscd. Removing the upstream card removes the mirrored one; a server never
// mirrors its own PC/SC readers.
#include "pcsc_rig.h"

#include <QFile>
#include <QRegularExpression>
#include <QtTest>

using vscard::test::PcscRig;
using vscard::test::ToolResult;

namespace {

const QString kPin = "12345678";

ToolResult runTool(const QString& program, const QStringList& arguments)
{
    QProcess process;
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(program, arguments);
    if (!process.waitForFinished(60000))
        return {-1, program + " hung"};
    return {process.exitCode(), QString::fromUtf8(process.readAll())};
}

QRegularExpressionMatch serialOf(const QString& pkcs11Listing)
{
    return QRegularExpression("serial num\\s+:\\s+(\\S+)").match(pkcs11Listing);
}

} // namespace

class TestHardwareMirrorSystem : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void upstreamToken_mirrored_signsAndFollowsRemoval();
    void ownReaders_neverMirrored();

private:
    bool startUpstream(PcscRig& upstream);
    ToolResult pkcs11(PcscRig& rig, QStringList arguments);

    QTemporaryDir work_;
    QString softDatabase_;   // cert1..cert3, the upstream card's
    QString moduleDatabase_; // no certificates, OpenSC's module
};

void TestHardwareMirrorSystem::initTestCase()
{
    QVERIFY(work_.isValid());
    softDatabase_ = work_.filePath("soft");
    const QString problem = vscard::test::makeTestDatabase(softDatabase_, kPin);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    moduleDatabase_ = work_.filePath("modules");
    QVERIFY(QDir().mkpath(moduleDatabase_));
    const auto created =
        runTool("certutil", {"-N", "-d", "sql:" + moduleDatabase_, "--empty-password"});
    QVERIFY2(created.exitCode == 0, qPrintable(created.output));
    const auto added = runTool("modutil", {"-dbdir", "sql:" + moduleDatabase_, "-add", "OpenSC",
                                           "-libfile", VSCARD_OPENSC_PKCS11, "-force"});
    QVERIFY2(added.exitCode == 0, qPrintable(added.output));
}

bool TestHardwareMirrorSystem::startUpstream(PcscRig& upstream)
{
    upstream.pcscName = "upstream";
    upstream.extraServerArguments
        << "--card"
        << QStringLiteral(
               "emulated:db=\"sql:%1\" use_hw=no soft=(,Upstream,CAC,,cert1,cert2,cert3)")
               .arg(softDatabase_);
    return upstream.start() && upstream.waitForCard("upstream 00 00", true);
}

ToolResult TestHardwareMirrorSystem::pkcs11(PcscRig& rig, QStringList arguments)
{
    return rig.run("pkcs11-tool", QStringList{"--module", VSCARD_OPENSC_PKCS11} + arguments,
                   120000);
}

void TestHardwareMirrorSystem::upstreamToken_mirrored_signsAndFollowsRemoval()
{
    PcscRig upstream;
    QVERIFY2(startUpstream(upstream), qPrintable(upstream.error() + upstream.serverLog()));

    PcscRig mirror;
    mirror.extraServerEnvironment << "PCSCLITE_CSOCK_NAME=" + upstream.pcscdSocket();
    mirror.extraServerArguments
        << "--card" << QStringLiteral("emulated:db=\"sql:%1\" use_hw=yes").arg(moduleDatabase_);
    QVERIFY2(mirror.start(), qPrintable(mirror.error()));
    QVERIFY2(mirror.waitForCard("vscard 00 00", true), qPrintable(mirror.serverLog()));
    QVERIFY(mirror.serverLog().contains("mirroring token slot \"upstream 00 00\""));

    // The same card, seen through the mirror: token, certificates, and the serial derived
    // from them.
    const auto direct = pkcs11(upstream, {"-L"});
    const auto mirrored = pkcs11(mirror, {"-L"});
    QVERIFY2(mirrored.output.contains("token label        : vscard test 1"),
             qPrintable(mirrored.output + mirror.serverLog()));
    QVERIFY(serialOf(direct.output).hasMatch());
    QCOMPARE(serialOf(mirrored.output).captured(1), serialOf(direct.output).captured(1));
    const auto objects = pkcs11(mirror, {"-O"});
    for (int i = 1; i <= 3; ++i)
        QVERIFY2(objects.output.contains(QStringLiteral("CN=vscard test %1").arg(i)),
                 qPrintable(objects.output));

    // A signature made by the upstream card's key, through both servers, verified with the
    // certificate the mirror shows.
    const QString data = work_.filePath("data.txt");
    QFile file(data);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("signed through a mirrored token\n");
    file.close();
    const QString signature = work_.filePath("mirror.sig");
    const auto signing =
        pkcs11(mirror, {"--login", "--pin", kPin, "--sign", "--mechanism", "SHA256-RSA-PKCS",
                        "--id", "0001", "-i", data, "-o", signature});
    QVERIFY2(signing.exitCode == 0, qPrintable(signing.output + mirror.serverLog()));
    const QString certificate = work_.filePath("mirror-cert1.der");
    QVERIFY(pkcs11(mirror, {"--read-object", "--type", "cert", "--id", "0001", "-o", certificate})
                .exitCode == 0);
    const QString publicKey = work_.filePath("mirror-pub1.pem");
    QVERIFY(
        runTool("sh", {"-c", QStringLiteral("openssl x509 -inform DER -in %1 -pubkey -noout > %2")
                                 .arg(certificate, publicKey)})
            .exitCode == 0);
    const auto verified = runTool(
        "openssl", {"dgst", "-sha256", "-verify", publicKey, "-signature", signature, data});
    QVERIFY2(verified.output.contains("Verified OK"), qPrintable(verified.output));
    // A wrong PIN reaches the upstream card and is refused there.
    QVERIFY(pkcs11(mirror, {"--login", "--pin", "00000000", "-O"})
                .output.contains("CKR_PIN_INCORRECT"));

    // The upstream card leaves (its server stops): the mirrored card leaves; and comes back.
    upstream.stopServer();
    QVERIFY2(mirror.waitForCard("vscard 00 00", false), qPrintable(mirror.serverLog()));
    QVERIFY(mirror.serverLog().contains("token removed from \"upstream 00 00\""));
    QVERIFY(upstream.startServer());
    QVERIFY2(mirror.waitForCard("vscard 00 00", true), qPrintable(mirror.serverLog()));
    QVERIFY(pkcs11(mirror, {"--login", "--pin", kPin, "-O", "--type", "privkey"})
                .output.contains("Private Key Object; RSA"));
}

void TestHardwareMirrorSystem::ownReaders_neverMirrored()
{
    // OpenSC inside the server sees the server's own pcscd: its slots are refused, the soft
    // card stays the only card, and nothing waits on itself.
    PcscRig rig;
    rig.extraServerEnvironment << "PCSCLITE_CSOCK_NAME=" + rig.pcscdSocket();
    rig.extraServerArguments
        << "--card"
        << QStringLiteral("emulated:db=\"sql:%1\" use_hw=no soft=(,Own,CAC,,cert1)")
               .arg(softDatabase_)
        << "--card" << QStringLiteral("emulated:db=\"sql:%1\" use_hw=yes").arg(moduleDatabase_);
    QVERIFY2(rig.start(), qPrintable(rig.error()));
    QVERIFY2(rig.waitForCard("vscard 00 00", true), qPrintable(rig.serverLog()));
    for (int attempt = 0; attempt < 100 && !rig.serverLog().contains("not mirroring"); ++attempt)
        QTest::qWait(100);
    QVERIFY2(rig.serverLog().contains("not mirroring token slot \"vscard 00 00\""),
             qPrintable(rig.serverLog()));
    QTest::qWait(1500); // three more polling rounds
    const auto readers = rig.opensc({"-l"}).output;
    QCOMPARE(readers.count(QRegularExpression("\\d+\\s+Yes\\s+vscard")), 1);
    QVERIFY(
        !rig.serverLog().contains(QRegularExpression("(?<!not )mirroring token slot \"vscard")));
    QVERIFY(pkcs11(rig, {"--login", "--pin", kPin, "-O", "--type", "privkey"})
                .output.contains("Private Key Object; RSA"));
}

QTEST_GUILESS_MAIN(TestHardwareMirrorSystem)
#include "tst_hardware_mirror_system.moc"
