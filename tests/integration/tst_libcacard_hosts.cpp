// libcacard.so.0 knows which process it is in: inside QEMU and spice-gtk (whose answers end at
// QEMU 7.2's usb-ccid) it splits an answer of 54 bytes into 51 bytes + 61 01 and the rest
// (docs/protocol.md); everywhere else it gives libcacard's bytes. The QEMU side is proven by
// the QEMU 7.2 guest tests; this one runs a probe with Debian's real spice-gtk client library
// loaded (its libcacard.so.0 is then ours) and without it, and with the override.
#include "pcsc_rig.h"

#include <QtTest>

namespace {

constexpr const char* kSpiceClient = "libspice-client-glib-2.0.so.8";

struct ProbeResult {
    QString error;     // empty when the probe ran
    QString libcacard; // the file it was loaded from
    QString answer;    // "N SW1SW2"
};

ProbeResult probe(const QString& database, const QStringList& extra, const QString& workaround = {})
{
    QProcess process;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.remove("VSCARD_LIBCACARD_QEMU_WORKAROUND");
    if (!workaround.isEmpty())
        environment.insert("VSCARD_LIBCACARD_QEMU_WORKAROUND", workaround);
    process.setProcessEnvironment(environment);
    process.start(VSCARD_HOST_PROBE, QStringList{database} + extra);
    ProbeResult result;
    if (!process.waitForFinished(60000) || process.exitStatus() != QProcess::NormalExit ||
        process.exitCode() != 0) {
        result.error = "libcacard-host-probe failed: " +
                       QString::fromUtf8(process.readAllStandardError()).trimmed();
        return result;
    }
    for (const QString& line : QString::fromUtf8(process.readAllStandardOutput()).split('\n')) {
        if (line.startsWith("libcacard: "))
            result.libcacard = line.mid(11);
        else if (line.startsWith("answer: "))
            result.answer = line.mid(8);
    }
    return result;
}

} // namespace

class TestLibcacardHosts : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void plainProcess_getsLibcacardsBytes();
    void insideSpiceGtk_getsTheQemuSplit();
    void override_decidesEitherWay();

private:
    QTemporaryDir dir_;
    QString database_;
};

void TestLibcacardHosts::initTestCase()
{
    database_ = dir_.filePath("nssdb");
    QVERIFY2(vscard::test::makeTestDatabase(database_, "12345678").isEmpty(), "make-test-nssdb");
}

void TestLibcacardHosts::plainProcess_getsLibcacardsBytes()
{
    const ProbeResult result = probe(database_, {});
    QVERIFY2(result.error.isEmpty(), qPrintable(result.error));
    QCOMPARE(QFileInfo(result.libcacard).canonicalFilePath(),
             QFileInfo(VSCARD_OUR_LIBCACARD).canonicalFilePath());
    QCOMPARE(result.answer, QString("54 9000")); // 52 bytes and 90 00, as libcacard
}

void TestLibcacardHosts::insideSpiceGtk_getsTheQemuSplit()
{
    // The real library (libspice-client-glib-2.0-8, installed by ./tests/run): it needs a
    // libcacard.so.0 and gets ours, the one already in the process.
    const ProbeResult result = probe(database_, {kSpiceClient});
    QVERIFY2(result.error.isEmpty(), qPrintable(result.error));
    QCOMPARE(QFileInfo(result.libcacard).canonicalFilePath(),
             QFileInfo(VSCARD_OUR_LIBCACARD).canonicalFilePath());
    QCOMPARE(result.answer, QString("53 6101")); // 51 bytes, then GET RESPONSE fetches 1
}

void TestLibcacardHosts::override_decidesEitherWay()
{
    ProbeResult result = probe(database_, {kSpiceClient}, "0");
    QVERIFY2(result.error.isEmpty(), qPrintable(result.error));
    QCOMPARE(result.answer, QString("54 9000"));
    result = probe(database_, {}, "1");
    QVERIFY2(result.error.isEmpty(), qPrintable(result.error));
    QCOMPARE(result.answer, QString("53 6101"));
}

QTEST_GUILESS_MAIN(TestLibcacardHosts)
#include "tst_libcacard_hosts.moc"
