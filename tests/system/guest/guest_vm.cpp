#include "guest_vm.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

namespace vscard::test {

namespace {

QString cacheDirectory()
{
    const QString configured = qEnvironmentVariable("VSCARD_GUEST_CACHE");
    return configured.isEmpty() ? QDir::homePath() + "/.cache/vscard/guest" : configured;
}

} // namespace

quint16 freeLoopbackPort()
{
    QTcpServer probe;
    probe.listen(QHostAddress::LocalHost, 0);
    return probe.serverPort();
}

bool waitForListener(quint16 port, int timeoutMs)
{
    for (int waited = 0; waited < timeoutMs; waited += 100) {
        QTcpSocket probe;
        probe.connectToHost(QHostAddress::LocalHost, port);
        if (probe.waitForConnected(100)) {
            probe.abort();
            QTest::qWait(200); // QEMU takes the next connection once this one is gone
            return true;
        }
        QTest::qWait(100);
    }
    return false;
}

QString guestSignScript(const QString& pin, const QString& text, const QString& keyId)
{
    return QStringLiteral("echo '%2' > /tmp/data\n"
                          "pkcs11-tool --login --pin %1 --sign --mechanism SHA256-RSA-PKCS "
                          "--id %3 -i /tmp/data -o /tmp/signature\n"
                          "echo \"SIGNATURE $(od -An -tx1 -v /tmp/signature | tr -d ' \\n')\"\n")
        .arg(pin, text, keyId);
}

QString verifyGuestSignature(const QString& output, const QString& text, const QString& database,
                             const QString& workDir)
{
    const auto signature = QRegularExpression("SIGNATURE ([0-9a-f]+)").match(output);
    if (!signature.hasMatch() || signature.captured(1).size() != 512)
        return "no RSA-2048 signature in the guest's output";
    const QDir dir(workDir);
    QFile file(dir.filePath("guest.sig"));
    QFile data(dir.filePath("guest.data"));
    if (!file.open(QIODevice::WriteOnly) || !data.open(QIODevice::WriteOnly))
        return "cannot write into " + workDir;
    file.write(QByteArray::fromHex(signature.captured(1).toLatin1()));
    file.close();
    data.write((text + "\n").toUtf8());
    data.close();
    QProcess verify;
    verify.setProcessChannelMode(QProcess::MergedChannels);
    verify.start("sh", {"-c", QStringLiteral("certutil -d sql:%1 -L -n cert1 -a | openssl x509 "
                                             "-pubkey -noout > %2.pub && openssl dgst -sha256 "
                                             "-verify %2.pub -signature %2 %3")
                                  .arg(database, file.fileName(), data.fileName())});
    verify.waitForFinished(30000);
    const QString said = QString::fromUtf8(verify.readAll());
    return said.contains("Verified OK") ? QString() : "openssl: " + said;
}

QString watchCardStatesScript(int changes)
{
    return QStringLiteral("last=x; changes=0; i=0\n"
                          "while [ $i -lt 1200 ] && [ $changes -lt %1 ]; do\n"
                          "  now=$(opensc-tool -l 2>/dev/null | grep -c '  Yes ')\n"
                          "  if [ \"$now\" != \"$last\" ]; then echo \"STATE $now\"; last=$now; "
                          "changes=$((changes + 1)); fi\n"
                          "  i=$((i + 1)); sleep 0.1\n"
                          "done\n")
        .arg(changes);
}

QStringList guestStates(const GuestVm& guest)
{
    return guest.console()
        .split(QRegularExpression("[\r\n]+"))
        .filter(QRegularExpression("^STATE \\d$"));
}

bool waitForGuestState(const GuestVm& guest, int count, const QString& state, int timeoutMs)
{
    for (int waited = 0; waited < timeoutMs; waited += 200) {
        const QStringList states = guestStates(guest);
        if (states.size() >= count)
            return states.size() == count && states.last() == state;
        if (guest.console().contains("VSCARD-GUEST-END"))
            return false;
        QTest::qWait(200);
    }
    return false;
}

GuestVm::GuestVm(QString commands) : commands_(std::move(commands)), port_(freeLoopbackPort())
{
    devices = {
        "-device",
        "qemu-xhci",
        "-device",
        "usb-ccid",
        "-chardev",
        QStringLiteral("socket,id=ccid,host=127.0.0.1,port=%1,server=on,wait=off").arg(port_),
        "-device",
        "ccid-card-passthru,chardev=ccid"};
}

GuestVm::~GuestVm()
{
    if (qemu_.state() != QProcess::NotRunning) {
        qemu_.kill();
        qemu_.waitForFinished(5000);
    }
}

QString GuestVm::console() const
{
    QFile file(dir_.filePath("console.log"));
    return file.open(QIODevice::ReadOnly) ? QString::fromUtf8(file.readAll()) : QString();
}

bool GuestVm::start()
{
    QProcess build;
    build.start(VSCARD_BUILD_GUEST, {cacheDirectory()});
    if (!build.waitForFinished(600000) || build.exitCode() != 0) {
        error_ = "build-guest failed: " + QString::fromUtf8(build.readAllStandardError());
        return false;
    }
    const QString image = QString::fromUtf8(build.readAllStandardOutput()).trimmed();

    // The commands as a second cpio archive after the cached one: the kernel unpacks both.
    QFile script(dir_.filePath("commands"));
    if (!script.open(QIODevice::WriteOnly))
        return false;
    script.write("#!/bin/sh\n" + commands_.toUtf8());
    script.close();
    script.setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    QStringList packed{"commands"};
    for (const QString& path : files) {
        const QString name = QFileInfo(path).fileName();
        QFile::remove(dir_.filePath(name));
        if (!QFile::copy(path, dir_.filePath(name))) {
            error_ = "cannot copy " + path + " into the guest";
            return false;
        }
        packed.append(name);
    }
    QProcess pack;
    pack.setWorkingDirectory(dir_.path());
    pack.start("sh", {"-c", QStringLiteral("printf '%s\\n' %2 | cpio -o -H newc --quiet | gzip > "
                                           "commands.cpio.gz && cat %1/initramfs.cpio.gz "
                                           "commands.cpio.gz > initrd.gz")
                                .arg(image, packed.join(' '))});
    if (!pack.waitForFinished(60000) || pack.exitCode() != 0) {
        error_ = "packing the commands failed: " + QString::fromUtf8(pack.readAllStandardError());
        return false;
    }
    QProcessEnvironment qemuEnvironment = QProcessEnvironment::systemEnvironment();
    for (const QString& pair : environment)
        qemuEnvironment.insert(pair.section('=', 0, 0), pair.section('=', 1));
    qemu_.setProcessEnvironment(qemuEnvironment);
    qemu_.setProcessChannelMode(QProcess::MergedChannels);
    qemu_.setStandardOutputFile(dir_.filePath("qemu.log"));
    qemu_.start("qemu-system-x86_64",
                QStringList{"-m", "512", "-nodefaults", "-display", "none", "-no-reboot", "-kernel",
                            image + "/vmlinuz", "-initrd", dir_.filePath("initrd.gz"), "-append",
                            "console=ttyS0 panic=-1 quiet", "-serial",
                            "file:" + dir_.filePath("console.log")} +
                    devices + extraArguments);
    if (!qemu_.waitForStarted(10000)) {
        error_ = "qemu did not start: " + qemu_.errorString();
        return false;
    }
    if (!devices.join(' ').contains("port=" + QString::number(port_)))
        return true;
    if (waitForListener(port_, 20000))
        return true;
    error_ = "QEMU's chardev never listened";
    return false;
}

bool GuestVm::waitForEnd(int timeoutMs)
{
    const QRegularExpression end("VSCARD-GUEST-END status (\\d+)");
    for (int waited = 0; waited < timeoutMs; waited += 200) {
        const QString text = console();
        const auto match = end.match(text);
        if (match.hasMatch()) {
            const int begin = text.indexOf("VSCARD-GUEST-BEGIN\n");
            output_ = text.mid(begin + 19, match.capturedStart() - begin - 19);
            status_ = match.captured(1).toInt();
            qemu_.waitForFinished(10000);
            return true;
        }
        if (qemu_.state() == QProcess::NotRunning) {
            error_ = "QEMU ended before the commands did:\n" + text;
            return false;
        }
        QTest::qWait(200);
    }
    error_ = "the guest did not finish in time:\n" + console();
    return false;
}

} // namespace vscard::test
