// QEMU itself as the program written for libcacard: Debian's QEMU, its smart-card module
// (hw-usb-smartcard.so, linked with libcacard.so.0) pointed at our library with
// LD_LIBRARY_PATH as the README says, realises ccid-card-emulated on our emulator from an NSS
// database, and refuses a database without the certificates the way it does with libcacard.
#include "pcsc_rig.h"

#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QtTest>

#include <fstream>
#include <iterator>

namespace {

QProcessEnvironment withOurLibrary()
{
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert("LD_LIBRARY_PATH", QFileInfo(VSCARD_LIBCACARD).absolutePath());
    if (!vscard::test::asanRuntime().isEmpty()) {
        environment.insert("LD_PRELOAD", vscard::test::asanRuntime());
        environment.insert("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=0");
    }
    return environment;
}

QStringList qemuArguments(const QString& database, const QString& certificates)
{
    return {"-machine",
            "pc",
            "-nodefaults",
            "-display",
            "none",
            "-S",
            "-monitor",
            "stdio",
            "-usb",
            "-device",
            "usb-ccid",
            "-device",
            "ccid-card-emulated,backend=certificates,db=sql:" + database + "," + certificates};
}

// Reads QEMU's monitor output until it contains what is expected (or times out).
bool readUntil(QProcess& qemu, QByteArray& output, const QByteArray& expected)
{
    for (int waited = 0; waited < 30000 && !output.contains(expected); waited += 100) {
        qemu.waitForReadyRead(100);
        output += qemu.readAll();
        if (qemu.state() == QProcess::NotRunning)
            break;
    }
    return output.contains(expected);
}

} // namespace

class TestQemuLibcacard : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void emulatedCard_realisedOnOurLibrary();
    void missingCertificates_refusedAsWithLibcacard();

private:
    QTemporaryDir work_;
    QString database_;
};

void TestQemuLibcacard::initTestCase()
{
    database_ = work_.filePath("db");
    const QString problem = vscard::test::makeTestDatabase(database_, "12345678");
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
}

void TestQemuLibcacard::emulatedCard_realisedOnOurLibrary()
{
    QProcess qemu;
    qemu.setProcessEnvironment(withOurLibrary());
    qemu.setProcessChannelMode(QProcess::MergedChannels);
    qemu.start("qemu-system-x86_64",
               qemuArguments(database_, "cert1=cert1,cert2=cert2,cert3=cert3"));
    QVERIFY2(qemu.waitForStarted(10000), qPrintable(qemu.errorString()));
    QByteArray output;
    QVERIFY2(readUntil(qemu, output, "(qemu)"), output.constData());
    qemu.write("info qtree\n");
    QVERIFY2(readUntil(qemu, output, "dev: ccid-card-emulated"), output.constData());
    // The device is realised: its module and the libcacard.so.0 it links are mapped.
    // procfs files have no size, which QFile trusts: read them as streams.
    std::ifstream maps(QStringLiteral("/proc/%1/maps").arg(qemu.processId()).toStdString());
    const QByteArray mapped = QByteArray::fromStdString(
        std::string(std::istreambuf_iterator<char>(maps), std::istreambuf_iterator<char>()));
    const QByteArray ours = QFileInfo(VSCARD_LIBCACARD).canonicalFilePath().toUtf8();
    QVERIFY2(mapped.contains(ours), "QEMU did not load " + ours);
    QVERIFY(!mapped.contains("/lib/x86_64-linux-gnu/libcacard.so"));
    qemu.write("quit\n");
    QVERIFY(qemu.waitForFinished(10000));
    QCOMPARE(qemu.exitCode(), 0);
    output += qemu.readAll();
    QVERIFY2(!output.contains("Sanitizer") && !output.contains("runtime error:"),
             output.constData());
}

void TestQemuLibcacard::missingCertificates_refusedAsWithLibcacard()
{
    QProcess qemu;
    qemu.setProcessEnvironment(withOurLibrary());
    qemu.setProcessChannelMode(QProcess::MergedChannels);
    qemu.start("qemu-system-x86_64",
               qemuArguments(database_, "cert1=nosuch1,cert2=nosuch2,cert3=nosuch3"));
    qemu.closeWriteChannel();
    QVERIFY(qemu.waitForFinished(30000));
    const QByteArray output = qemu.readAll();
    QCOMPARE(qemu.exitCode(), 1);
    QVERIFY2(output.contains("ccid-card-emulated: failed to initialize vcard"), output.constData());
}

QTEST_GUILESS_MAIN(TestQemuLibcacard)
#include "tst_qemu_libcacard_system.moc"
