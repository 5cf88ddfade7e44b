// The real parts of a system test, really started: server-ccid, a private pcscd in its own
// mount namespace loading our driver, scripted VSCard clients, and OpenSC's tools pointed at
// that pcscd. Everything stops when the rig goes out of scope.
#pragma once

#include <QProcess>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>

#include <memory>
#include <vector>

namespace vscard::test {

// The ATR fixtures of the acceptance matrix: the emulated CAC (T=0, TA1 18), a T=1-only card
// and a dual-protocol card (T=0 first, TA1 96).
inline const QString kCacAtr = QStringLiteral("3B7A18000073667465206364313434");
inline const QString kT1OnlyAtr = QStringLiteral("3B858131FE457673637264FE");
inline const QString kDualAtr = QStringLiteral("3B9496803180456475616C6A");

// A fresh NSS database in dir with cert1..cert3 (tests/support/make-test-nssdb); empty on
// success, else what went wrong.
QString makeTestDatabase(const QString& dir, const QString& pin);

struct ToolResult {
    int exitCode = -1;
    QString output; // stdout and stderr together
};

class PcscRig {
public:
    // slots: the vscard driver's pool. serialProfiles: libccid serial readers to add, each on
    // its own --serial-link pty, named after its profile ("GemPCTwin 00 00", ...).
    explicit PcscRig(int slots = 4, QStringList serialProfiles = {});
    ~PcscRig();

    // Added to server-ccid's command line (set before start()).
    QStringList extraServerArguments;
    // NAME=value pairs added to server-ccid's environment.
    QStringList extraServerEnvironment;
    // server-ccid's open-file limit (soft and hard, through prlimit); 0: this process's.
    int serverFileLimit = 0;
    // The FRIENDLYNAME of the driver's reader.conf entry: PC/SC readers are "NAME 00 0N".
    QString pcscName = QStringLiteral("vscard");
    // Benchmarks turn these down: pcscd -d and the server's --trace log every APDU.
    bool pcscdDebug = true;
    QString serverTrace = QStringLiteral("vscard.*");
    // Replaces the vscard driver's reader.conf entry (a baseline driver instead of ours).
    QString readerConf;
    // Preloaded into pcscd, after the ASan runtime when there is one.
    QString pcscdPreload;
    QString filePath(const QString& name) const { return dir_.filePath(name); }

    // Starts server-ccid and pcscd (pcscd alone with serverFirst false: the driver must load
    // with the server down); false (with the reason in error()) if either fails.
    bool start(bool serverFirst = true);
    bool startServer();
    void stopServer();
    // SIGKILL: the server vanishes without closing anything.
    void killServer();
    // pcscd alone, killed and started again (its readers vanish and come back).
    void stopPcscd();
    bool startPcscd();
    // A scripted client: vscard-test-card with these arguments, connected to the server.
    QProcess* startClient(const QStringList& arguments);
    // Any program the rig stops with the rest; its stderr goes to logName in the rig's
    // directory (checked for sanitizer reports), its stdout stays readable.
    QProcess* startProgram(const QString& program, const QStringList& arguments,
                           const QString& logName, const QStringList& extraEnvironment = {});
    QString log(const QString& logName) const;

    ToolResult run(const QString& program, const QStringList& arguments, int timeoutMs = 30000,
                   const QByteArray& input = {});
    ToolResult opensc(const QStringList& arguments) { return run("opensc-tool", arguments); }
    // opensc-tool -l until the named PC/SC reader shows a card (or no card).
    bool waitForCard(const QString& readerName, bool present);
    // Runs a PC/SC application of this rig's pcscd in the background (stdout and stderr
    // merged), for a test that acts while it waits.
    QProcess* startTool(const QString& program, const QStringList& arguments);
    QProcess* startOpensc(const QStringList& arguments)
    {
        return startTool("opensc-tool", arguments);
    }

    const QString& error() const { return error_; }
    qint64 serverPid() const { return server_ ? server_->processId() : 0; }
    QString serverLog() const;
    QString pcscdLog() const;
    QString clientEndpoint() const { return "unix:" + dir_.filePath("vscard.sock"); }
    QString pcscSocket() const { return dir_.filePath("pcsc.sock"); }
    // Where PC/SC clients reach the private pcscd (PCSCLITE_CSOCK_NAME).
    QString pcscdSocket() const { return dir_.filePath("run/pcscd.comm"); }

private:
    void stopAll();
    QProcess* spawn(const QString& program, const QStringList& arguments, const QString& logName,
                    const QProcessEnvironment& environment);
    QProcessEnvironment clientEnvironment() const;

    int slots_;
    QStringList serialProfiles_;
    QTemporaryDir dir_;
    QString error_;
    QProcess* server_ = nullptr;
    QProcess* pcscd_ = nullptr;
    std::vector<std::unique_ptr<QProcess>> processes_;
};

// The ASan runtime an uninstrumented host program (pcscd, QEMU) must preload to load our
// instrumented libraries; empty in a build without ASan.
QString asanRuntime();

// Waits until a scripted client has added its readers and inserted its cards ("ready").
bool waitReady(QProcess* client);

// "3B7A18..." (spaces allowed) as opensc-tool -a prints it: "3b:7a:18:...".
QString colonAtr(QString hex);

// Hex bytes of opensc-tool's "Received" dump for one -s command, e.g. "B0 B1 ...".
QString receivedBytes(const QString& openscOutput, int occurrence = 0);

} // namespace vscard::test
