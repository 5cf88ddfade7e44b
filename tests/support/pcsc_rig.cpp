#include "pcsc_rig.h"

#include <QDir>
#include <QFile>
#include <QRegularExpression>
#include <QTest>

#include <csignal>

namespace vscard::test {

namespace {

bool waitForFile(const QString& path, int timeoutMs)
{
    for (int waited = 0; waited < timeoutMs; waited += 50) {
        if (QFile::exists(path))
            return true;
        QTest::qWait(50);
    }
    return false;
}

} // namespace

PcscRig::PcscRig(int slots, QStringList serialProfiles)
    : slots_(slots), serialProfiles_(std::move(serialProfiles))
{
}

bool PcscRig::waitForCard(const QString& readerName, bool present)
{
    const QRegularExpression line(
        QStringLiteral("^\\d+\\s+%1\\s+.*%2$")
            .arg(present ? "Yes" : "No", QRegularExpression::escape(readerName)),
        QRegularExpression::MultilineOption);
    for (int attempt = 0; attempt < 100; ++attempt) {
        if (line.match(opensc({"-l"}).output).hasMatch())
            return true;
        QTest::qWait(100);
    }
    return false;
}

PcscRig::~PcscRig()
{
    stopAll();
    // Sanitizer reports of anything we started (our driver inside pcscd included) fail the
    // test binary: a report nobody reads is no check at all.
    for (const QString& name : QDir(dir_.path()).entryList({"*.log"}, QDir::Files)) {
        QFile file(dir_.filePath(name));
        if (!file.open(QIODevice::ReadOnly))
            continue;
        const QByteArray log = file.readAll();
        if (log.contains("Sanitizer") || log.contains("runtime error:"))
            qFatal("%s reports a sanitizer finding:\n%s", qPrintable(name), log.constData());
    }
}

void PcscRig::stopAll()
{
    auto stop = [](QProcess& process) {
        if (process.state() == QProcess::NotRunning)
            return;
        process.terminate();
        if (!process.waitForFinished(5000))
            process.kill();
        process.waitForFinished(2000);
    };
    // Programs that may be pcscd's clients go first: pcscd 1.9.9 can crash when it exits
    // under a client waiting in SCardGetStatusChange.
    for (auto& process : processes_)
        if (process.get() != pcscd_ && process.get() != server_)
            stop(*process);
    // SIGINT lets pcscd close the driver's channels (SIGTERM would skip that).
    if (pcscd_ && pcscd_->state() != QProcess::NotRunning) {
        ::kill(static_cast<pid_t>(pcscd_->processId()), SIGINT);
        if (!pcscd_->waitForFinished(10000))
            pcscd_->kill();
    }
    for (auto& process : processes_)
        stop(*process);
}

QProcess* PcscRig::spawn(const QString& program, const QStringList& arguments,
                         const QString& logName, const QProcessEnvironment& environment)
{
    auto process = std::make_unique<QProcess>();
    process->setProcessEnvironment(environment);
    process->setProgram(program);
    process->setArguments(arguments);
    process->setProcessChannelMode(QProcess::SeparateChannels);
    process->setStandardErrorFile(dir_.filePath(logName), QIODevice::Append);
    process->start();
    processes_.push_back(std::move(process));
    return processes_.back().get();
}

bool PcscRig::startServer()
{
    QStringList arguments{"--listen",   clientEndpoint(), "--pcsc-socket",
                          pcscSocket(), "--pcsc-name",    pcscName};
    if (!serverTrace.isEmpty())
        arguments << "--trace" << serverTrace;
    for (const QString& profile : serialProfiles_)
        arguments << "--serial-link" << dir_.filePath("tty-" + profile) + ":" + profile;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    for (const QString& pair : extraServerEnvironment)
        environment.insert(pair.section('=', 0, 0), pair.section('=', 1));
    if (serverFileLimit > 0)
        server_ = spawn("prlimit",
                        QStringList{QStringLiteral("--nofile=%1:%1").arg(serverFileLimit), "--",
                                    VSCARD_SERVER_BIN} +
                            arguments + extraServerArguments,
                        "server.log", environment);
    else
        server_ =
            spawn(VSCARD_SERVER_BIN, arguments + extraServerArguments, "server.log", environment);
    if (!server_->waitForStarted(5000) || !waitForFile(pcscSocket(), 10000)) {
        error_ = "server-ccid did not start: " + serverLog();
        return false;
    }
    return true;
}

void PcscRig::stopServer()
{
    if (!server_)
        return;
    server_->terminate();
    server_->waitForFinished(10000);
    server_ = nullptr;
}

void PcscRig::killServer()
{
    if (!server_)
        return;
    server_->kill();
    server_->waitForFinished(10000);
    server_ = nullptr;
}

bool PcscRig::start(bool serverFirst)
{
    if (!dir_.isValid()) {
        error_ = "no temporary directory";
        return false;
    }
    QDir().mkpath(dir_.filePath("run"));
    QDir().mkpath("/run/pcscd"); // the mount point the private instance binds over
    QFile config(dir_.filePath("reader.conf"));
    if (!config.open(QIODevice::WriteOnly))
        return false;
    if (!readerConf.isEmpty())
        config.write(readerConf.toUtf8());
    else
        config.write(QStringLiteral("FRIENDLYNAME \"%1\"\nDEVICENAME %2:slots=%3\nLIBPATH %4\n")
                         .arg(pcscName, pcscSocket())
                         .arg(slots_)
                         .arg(VSCARD_IFD_LIB)
                         .toUtf8());
    // The stock libccid serial driver on server-ccid's ptys (the symlinks exist once the
    // server runs, before pcscd starts).
    for (const QString& profile : serialProfiles_)
        config.write(QStringLiteral("\nFRIENDLYNAME \"%1\"\nDEVICENAME %2:%1\nLIBPATH %3\n")
                         .arg(profile, dir_.filePath("tty-" + profile), VSCARD_LIBCCIDTWIN)
                         .toUtf8());
    config.close();
    if (serverFirst && !startServer())
        return false;

    return startPcscd();
}

bool PcscRig::startPcscd()
{
    // pcscd is not instrumented; an instrumented driver needs the ASan runtime loaded first.
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    QStringList preload;
    if (QString(VSCARD_ASAN_RUNTIME).size() > 0) {
        preload << VSCARD_ASAN_RUNTIME;
        environment.insert("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=0");
    }
    if (!pcscdPreload.isEmpty())
        preload << pcscdPreload;
    if (!preload.isEmpty())
        environment.insert("LD_PRELOAD", preload.join(':'));
    auto pcscd = std::make_unique<QProcess>();
    pcscd->setProcessEnvironment(environment);
    pcscd->setProcessChannelMode(QProcess::MergedChannels);
    pcscd->setStandardOutputFile(dir_.filePath("pcscd.log"), QIODevice::Append);
    pcscd->start("unshare", {"--mount", "--propagation", "private", "sh", "-c",
                             QStringLiteral("mount --bind %1 /run/pcscd && exec pcscd -f %3 -c %2")
                                 .arg(dir_.filePath("run"), dir_.filePath("reader.conf"),
                                      pcscdDebug ? "-d" : "")});
    pcscd_ = pcscd.get();
    processes_.push_back(std::move(pcscd));
    if (!pcscd_->waitForStarted(5000) || !waitForFile(dir_.filePath("run/pcscd.comm"), 15000)) {
        error_ = "pcscd did not start: " + pcscdLog();
        return false;
    }
    return true;
}

void PcscRig::stopPcscd()
{
    if (!pcscd_ || pcscd_->state() == QProcess::NotRunning)
        return;
    // Killed: pcscd 1.9.9 exiting on SIGINT under a client that waits in
    // SCardGetStatusChange crashes in its own context thread after its readers are gone.
    pcscd_->kill();
    pcscd_->waitForFinished(10000);
    QFile::remove(dir_.filePath("run/pcscd.comm"));
}

QProcess* PcscRig::startProgram(const QString& program, const QStringList& arguments,
                                const QString& logName, const QStringList& extraEnvironment)
{
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    for (const QString& pair : extraEnvironment)
        environment.insert(pair.section('=', 0, 0), pair.section('=', 1));
    QProcess* process = spawn(program, arguments, logName, environment);
    process->waitForStarted(5000);
    return process;
}

QString PcscRig::log(const QString& logName) const
{
    QFile file(dir_.filePath(logName));
    return file.open(QIODevice::ReadOnly) ? QString::fromUtf8(file.readAll()) : QString();
}

QProcess* PcscRig::startClient(const QStringList& arguments)
{
    auto process = std::make_unique<QProcess>();
    process->setProcessChannelMode(QProcess::SeparateChannels);
    process->setStandardErrorFile(
        dir_.filePath(QStringLiteral("client-%1.log").arg(processes_.size())));
    process->start(VSCARD_TEST_CARD_BIN, QStringList{"--connect", clientEndpoint()} + arguments);
    process->waitForStarted(5000);
    processes_.push_back(std::move(process));
    return processes_.back().get();
}

QProcessEnvironment PcscRig::clientEnvironment() const
{
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert("PCSCLITE_CSOCK_NAME", pcscdSocket());
    environment.remove("LD_PRELOAD");
    return environment;
}

ToolResult PcscRig::run(const QString& program, const QStringList& arguments, int timeoutMs,
                        const QByteArray& input)
{
    QProcess process;
    process.setProcessEnvironment(clientEnvironment());
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(program, arguments);
    if (!process.waitForStarted(5000))
        return {-1, program + " did not start: " + process.errorString()};
    process.write(input);
    process.closeWriteChannel();
    if (!process.waitForFinished(timeoutMs)) {
        process.kill();
        process.waitForFinished();
        return {-1, program + " hung\n" + QString::fromUtf8(process.readAll())};
    }
    return {process.exitCode(), QString::fromUtf8(process.readAll())};
}

QProcess* PcscRig::startTool(const QString& program, const QStringList& arguments)
{
    auto process = std::make_unique<QProcess>();
    process->setProcessEnvironment(clientEnvironment());
    process->setProcessChannelMode(QProcess::MergedChannels);
    process->start(program, arguments);
    process->waitForStarted(5000);
    processes_.push_back(std::move(process));
    return processes_.back().get();
}

QString PcscRig::serverLog() const
{
    QFile file(dir_.filePath("server.log"));
    return file.open(QIODevice::ReadOnly) ? QString::fromUtf8(file.readAll()) : QString();
}

QString PcscRig::pcscdLog() const
{
    QFile file(dir_.filePath("pcscd.log"));
    return file.open(QIODevice::ReadOnly) ? QString::fromUtf8(file.readAll()) : QString();
}

QString asanRuntime()
{
    return QStringLiteral(VSCARD_ASAN_RUNTIME);
}

QString makeTestDatabase(const QString& dir, const QString& pin)
{
    QProcess make;
    make.setProcessChannelMode(QProcess::MergedChannels);
    make.start(VSCARD_MAKE_NSSDB, {dir, pin});
    if (!make.waitForFinished(120000) || make.exitStatus() != QProcess::NormalExit ||
        make.exitCode() != 0)
        return "make-test-nssdb failed: " + QString::fromUtf8(make.readAll());
    return {};
}

bool waitReady(QProcess* client)
{
    QByteArray seen;
    for (int waited = 0; waited < 15000; waited += 50) {
        client->waitForReadyRead(50);
        seen += client->readAllStandardOutput();
        if (seen.contains("ready\n"))
            return true;
        if (client->state() == QProcess::NotRunning)
            break;
    }
    qWarning("client not ready: %s %s", seen.constData(),
             client->readAllStandardError().constData());
    return false;
}

QString colonAtr(QString hex)
{
    hex.remove(' ');
    QStringList pairs;
    for (int i = 0; i < hex.size(); i += 2)
        pairs << hex.mid(i, 2).toLower();
    return pairs.join(':');
}

QString receivedBytes(const QString& openscOutput, int occurrence)
{
    // "Received (SW1=0x90, SW2=0x00):" then lines of up to 16 hex bytes and an ASCII column.
    const QStringList lines = openscOutput.split('\n');
    int seen = -1;
    QStringList bytes;
    bool collecting = false;
    static const QRegularExpression hexLine("^((?:[0-9A-F]{2} )+)");
    for (const QString& line : lines) {
        if (line.startsWith("Received")) {
            if (collecting)
                break;
            collecting = ++seen == occurrence;
            continue;
        }
        if (!collecting)
            continue;
        const auto match = hexLine.match(line);
        if (!match.hasMatch())
            break;
        // The dump has 16 bytes per line; the ASCII column follows after the hex.
        bytes << match.captured(1).trimmed().split(' ').mid(0, 16);
    }
    return bytes.join(' ');
}

} // namespace vscard::test
