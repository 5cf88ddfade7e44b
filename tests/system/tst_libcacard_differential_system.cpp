// Our emulated CAC side by side with Debian's libcacard 2.8, all made from the same NSS
// database, all behind server-ccid and a real pcscd: libcacard's card through its C API in the
// reference VSCard client (tests/reference), ours hosted in the server, and ours again through
// our libcacard.so.0 in the very same client program built against it. The same APDUs, among
// them the ones OpenSC sends when it binds the card, must get the same answers byte for byte,
// except where we differ on purpose; those are listed here. Also: OpenSC signs with
// libcacard's card and with ours through the C API.
#include "pcsc_rig.h"

#include <QFile>
#include <QRegularExpression>
#include <QtTest>

using vscard::test::PcscRig;
using vscard::test::waitReady;

namespace {

const QString kPin = "12345678";

struct Step {
    const char* command;
    const char* difference; // nullptr: both cards must answer the same
};

// OpenSC's binding sequence (captured with --trace from opensc-tool -n and pkcs11-tool -O on
// libcacard's card), then every applet and instruction the card has.
const Step kScript[] = {
    {"00 A4 04 0C 07 A0 00 00 01 16 DB 00 00", nullptr},
    {"00 52 00 00 02 01 02 02", nullptr},
    {"00 52 00 02 02 01 34 34", nullptr},
    {"00 52 00 00 02 02 02 02", nullptr},
    {"00 52 00 02 02 02 F0 F0", "the CCC card identifier: ours comes from the certificates"},
    {"00 52 00 F2 02 02 1A 1A", nullptr},
    {"00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00", nullptr},
    {"00 CB 3F FF 03 5C 01 7E 00", nullptr},
    {"00 A4 04 00 07 A0 00 00 00 79 01 00 00", nullptr},
    {"00 A4 02 00 02 01 00 00", nullptr},
    {"00 56 01 00 FF", nullptr},
    {"00 56 01 00 20", nullptr},
    {"00 56 40 00 2C", nullptr},
    {"00 52 00 00 02 01 02 02", nullptr},
    {"00 52 00 02 02 01 0A 0A", nullptr},
    {"00 52 00 00 02 02 02 02", nullptr},
    {"00 52 00 02 02 02 F0 F0", nullptr},
    {"00 52 00 F2 02 02 F0 F0", nullptr},
    {"00 20 00 00", "PIN status: 63Cx (tries left) instead of 6A88"},
    {"00 42 00 00 02 01 02", nullptr},
    {"00 58 00 00 01 00", nullptr},
    {"00 36 00 00 00", nullptr},
    {"00 A4 04 00 07 A0 00 00 00 79 01 02 00", nullptr},
    {"00 56 01 00 20", nullptr},
    {"00 A4 04 00 07 A0 00 00 00 79 03 00 00", nullptr},
    {"00 56 40 00 55", nullptr},
    {"80 4C 00 00 00", nullptr},
    {"80 4C 40 00 00", nullptr},
    {"80 4C 01 00 01 0A 00", nullptr},
    {"80 4C 10 00 00", nullptr},
    {"00 C0 00 00 00", nullptr},
    {"00 C0 00 00 DE", nullptr},
    {"80 4C 11 00 07 A0 00 00 00 79 01 01 00", nullptr},
    {"80 4C 12 00 02 DB 00 00", nullptr},
    {"80 4C 20 00 00", nullptr},
    {"80 4C 21 00 00", nullptr},
    {"80 4C 61 00 00", nullptr},
    {"80 4C 22 00 00", nullptr},
    {"00 52 00 00 02 01 02 02", nullptr},
    {"00 A4 04 00 07 A0 00 00 01 16 30 00 00", nullptr},
    {"00 56 01 00 4A", nullptr},
    {"00 A4 02 00 02 60 10 00", nullptr},
    {"00 A4 04 00 07 A0 00 00 00 79 02 00 00", nullptr},
    {"00 52 00 00 02 02 02 02", nullptr},
    {"00 A4 04 00 07 A0 00 00 00 03 00 00 00", nullptr},
    {"80 CA 9F 7F 00", nullptr},
    {"80 CA 00 66 00", nullptr},
    {"80 CA 12 34 00", nullptr},
    {"00 A4 04 00 0B A0 00 00 03 97 43 49 44 5F 01 00 00", nullptr},
    {"80 CA 7F 68 00", nullptr},
    {"00 84 00 00 08", "GET CHALLENGE answers random bytes instead of 6D00 or 6900"},
    {"00 A4 04 00 07 A0 00 00 00 79 01 03 00", nullptr},
    {"00 56 01 00 20", nullptr},
};

// scriptor's answers, one per command: the hex after "< ", wrapped lines joined.
QStringList scriptorAnswers(const QString& output)
{
    QStringList answers;
    const QStringList lines = output.split('\n');
    QString current;
    bool inAnswer = false;
    for (const QString& line : lines) {
        if (line.startsWith("< ")) {
            inAnswer = true;
            current = line.mid(2);
        } else if (inAnswer && !line.startsWith("> ")) {
            current += ' ' + line;
        }
        if (inAnswer && current.contains(" : ")) {
            answers << current.left(current.indexOf(" : ")).simplified();
            inAnswer = false;
        }
    }
    return answers;
}

} // namespace

class TestLibcacardDifferential : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();
    void sameApdus_sameAnswers_exceptListedDifferences();
    void realLibcacardClient_openscSignsThroughServer();

private:
    bool startBothCards(PcscRig& rig);

    QTemporaryDir work_;
    QString database_;
    std::unique_ptr<QProcess> reference_; // libcacard's card, as a VSCard client
    std::unique_ptr<QProcess> compat_;    // the same client on our libcacard.so.0
};

void TestLibcacardDifferential::initTestCase()
{
    database_ = work_.filePath("db");
    const QString problem = vscard::test::makeTestDatabase(database_, kPin);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
}

void TestLibcacardDifferential::cleanup()
{
    for (auto* client : {&reference_, &compat_}) {
        if (!*client)
            continue;
        (*client)->terminate();
        if (!(*client)->waitForFinished(5000))
            (*client)->kill();
        // Our library in an instrumented build reports here what it did wrong.
        const QByteArray log = (*client)->readAllStandardError();
        client->reset();
        QVERIFY2(!log.contains("Sanitizer") && !log.contains("runtime error:"), log.constData());
    }
}

bool TestLibcacardDifferential::startBothCards(PcscRig& rig)
{
    const QString options =
        QStringLiteral("db=\"sql:%1\" use_hw=no soft=(,Test,CAC,,cert1,cert2,cert3)")
            .arg(database_);
    rig.extraServerArguments << "--card"
                             << "emulated:" + options;
    if (!rig.start())
        return false;
    // One after the other, so that the readers' order is known: 1 libcacard's, 2 ours.
    for (auto [client, program] : {std::pair{&reference_, VSCARD_LIBCACARD_CLIENT},
                                   std::pair{&compat_, VSCARD_LIBCACARD_CLIENT_COMPAT}}) {
        *client = std::make_unique<QProcess>();
        (*client)->setProcessChannelMode(QProcess::SeparateChannels);
        (*client)->start(program, {"--connect", rig.clientEndpoint(), "-e", options});
        if (!waitReady(client->get()))
            return false;
    }
    for (int attempt = 0; attempt < 100; ++attempt) {
        const QString list = rig.opensc({"-l"}).output;
        if (list.contains(QRegularExpression("0\\s+Yes")) &&
            list.contains(QRegularExpression("1\\s+Yes")) &&
            list.contains(QRegularExpression("2\\s+Yes")))
            return true;
        QTest::qWait(100);
    }
    return false;
}

void TestLibcacardDifferential::sameApdus_sameAnswers_exceptListedDifferences()
{
    PcscRig rig;
    QVERIFY2(startBothCards(rig), qPrintable(rig.error() + rig.serverLog()));
    QByteArray script;
    for (const Step& step : kScript)
        script += QByteArray(step.command) + '\n';
    // Reader 0: ours (hosted in the server); reader 1: libcacard's, through its client;
    // reader 2: ours through our libcacard.so.0 in that client.
    const auto ours = rig.run("scriptor", {"-r", "vscard 00 00"}, 60000, script);
    const auto theirs = rig.run("scriptor", {"-r", "vscard 00 01"}, 60000, script);
    const auto ourLibrary = rig.run("scriptor", {"-r", "vscard 00 02"}, 60000, script);
    const QStringList ourAnswers = scriptorAnswers(ours.output);
    const QStringList theirAnswers = scriptorAnswers(theirs.output);
    const QStringList libraryAnswers = scriptorAnswers(ourLibrary.output);
    const int steps = static_cast<int>(std::size(kScript));
    QCOMPARE(ourAnswers.size(), steps);
    QCOMPARE(theirAnswers.size(), steps);
    QCOMPARE(libraryAnswers.size(), steps);
    // Through the C API our card answers as when the server hosts it (random bytes aside):
    // outside QEMU the library splits no answer (libcacard-compat/capi/src/qemu_host.h).
    for (int i = 0; i < steps; ++i) {
        if (QByteArray(kScript[i].command).startsWith("00 84"))
            continue;
        QVERIFY2(libraryAnswers[i] == ourAnswers[i],
                 qPrintable(QStringLiteral("step %1 (%2):\n server  %3\n library %4")
                                .arg(i)
                                .arg(kScript[i].command, ourAnswers[i], libraryAnswers[i])));
    }
    int deliberate = 0;
    for (int i = 0; i < steps; ++i) {
        if (kScript[i].difference) {
            QVERIFY2(ourAnswers[i] != theirAnswers[i],
                     qPrintable(QStringLiteral("step %1 (%2) was listed as a difference but both "
                                               "answer %3")
                                    .arg(i)
                                    .arg(kScript[i].command, ourAnswers[i])));
            ++deliberate;
            continue;
        }
        QVERIFY2(ourAnswers[i] == theirAnswers[i],
                 qPrintable(QStringLiteral("step %1 (%2):\n ours   %3\n theirs %4")
                                .arg(i)
                                .arg(kScript[i].command, ourAnswers[i], theirAnswers[i])));
    }
    qInfo("%d commands answered alike, %d deliberate differences", steps - deliberate, deliberate);
}

void TestLibcacardDifferential::realLibcacardClient_openscSignsThroughServer()
{
    PcscRig rig;
    QVERIFY2(startBothCards(rig), qPrintable(rig.error()));
    // Slot 1: libcacard's card; slot 2: ours, through our libcacard.so.0.
    for (const QString slot : {"1", "2"}) {
        const auto objects = rig.run(
            "pkcs11-tool", {"--module", VSCARD_OPENSC_PKCS11, "--slot-index", slot, "-O"}, 60000);
        QCOMPARE(objects.output.count("Certificate Object; type = X.509 cert"), 3);
        const QString data = work_.filePath("data.txt");
        QFile file(data);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("signed by a libcacard card through server-ccid\n");
        file.close();
        const QString signature = work_.filePath("sig" + slot + ".bin");
        const auto signing =
            rig.run("pkcs11-tool",
                    {"--module", VSCARD_OPENSC_PKCS11, "--slot-index", slot, "--login", "--pin",
                     kPin, "--sign", "--mechanism", "SHA256-RSA-PKCS", "--id", "0001", "-i", data,
                     "-o", signature},
                    60000);
        QVERIFY2(signing.exitCode == 0, qPrintable(signing.output));
        const auto verified = rig.run(
            "sh", {"-c", QStringLiteral(
                             "certutil -d sql:%1 -L -n cert1 -a | openssl x509 -pubkey -noout "
                             "> %2.pub && openssl dgst -sha256 -verify %2.pub -signature %2 %3")
                             .arg(database_, signature, data)});
        QVERIFY2(verified.output.contains("Verified OK"), qPrintable(slot + verified.output));
    }
}

QTEST_GUILESS_MAIN(TestLibcacardDifferential)
#include "tst_libcacard_differential_system.moc"
