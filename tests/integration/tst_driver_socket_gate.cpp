// Who can reach the readers around pcscd and --policy, and what strangers can make the server
// show. The driver socket's link protocol powers cards and sends APDUs below pcscd, so only
// the users of --pcsc-user may speak it, one link at a time: a member of the socket's group
// (here user nobody, the socket mode 0666) and a second link while pcscd's (the real driver,
// dlopened) is open are refused and audited, and pcscd's link goes on serving its card.
// --list stays open to readers of the socket and shows a reader name with a newline escaped,
// not as a line of its own. A plaintext listener reachable from other machines is warned of.
#include "loaded_ifd_driver.h"
#include "pcsc_rig.h"
#include "vscard/ccid/link_wire.h"

#include <QElapsedTimer>
#include <QRegularExpression>
#include <QtTest>

#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstring>

namespace {

using vscard::Bytes;
namespace link = vscard::link;

// What the server did with the frame: answered Welcome (or a ListReply), or closed.
enum class LinkOutcome : char {
    Welcomed = 'W',
    Listed = 'L',
    Closed = 'C',
    NoConnection = 'N',
    Silent = 'S'
};

// Connects to the driver socket, sends `frame` and reports what came back within 5 s. Uses
// nothing but system calls, so that a forked child may run it.
LinkOutcome sendOnDriverSocket(const char* path, const Bytes& frame, Bytes* answer = nullptr)
{
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        if (fd >= 0)
            ::close(fd);
        return LinkOutcome::NoConnection;
    }
    if (::write(fd, frame.data(), frame.size()) != static_cast<ssize_t>(frame.size())) {
        ::close(fd);
        return LinkOutcome::Closed;
    }
    std::array<std::uint8_t, 4096> buffer{};
    pollfd ready{fd, POLLIN, 0};
    LinkOutcome outcome = LinkOutcome::Silent;
    if (::poll(&ready, 1, 5000) == 1) {
        const ssize_t got = ::read(fd, buffer.data(), buffer.size());
        if (got <= 0) {
            outcome = LinkOutcome::Closed;
        } else {
            const auto kind = static_cast<link::FrameKind>(buffer[0]);
            outcome = kind == link::FrameKind::Welcome     ? LinkOutcome::Welcomed
                      : kind == link::FrameKind::ListReply ? LinkOutcome::Listed
                                                           : LinkOutcome::Closed;
            if (answer)
                answer->assign(buffer.begin(), buffer.begin() + got);
        }
    }
    ::close(fd);
    return outcome;
}

Bytes hello()
{
    return link::encodeGreeting(link::FrameKind::Hello, link::Greeting{link::kLinkVersion, 1});
}

// The same, from a child process running as nobody:nogroup without supplementary groups.
LinkOutcome sendAsNobody(const QString& path, const Bytes& frame)
{
    const QByteArray socketPath = QFile::encodeName(path);
    int pipeFds[2];
    if (::pipe(pipeFds) != 0)
        return LinkOutcome::NoConnection;
    const pid_t child = ::fork();
    if (child == 0) {
        ::close(pipeFds[0]);
        char outcome = static_cast<char>(LinkOutcome::NoConnection);
        if (::setgroups(0, nullptr) == 0 && ::setgid(65534) == 0 && ::setuid(65534) == 0)
            outcome = static_cast<char>(sendOnDriverSocket(socketPath.constData(), frame));
        (void)!::write(pipeFds[1], &outcome, 1);
        ::_exit(0);
    }
    ::close(pipeFds[1]);
    char outcome = static_cast<char>(LinkOutcome::NoConnection);
    if (child < 0 || ::read(pipeFds[0], &outcome, 1) != 1)
        outcome = static_cast<char>(LinkOutcome::NoConnection);
    ::close(pipeFds[0]);
    if (child > 0)
        ::waitpid(child, nullptr, 0);
    return static_cast<LinkOutcome>(outcome);
}

} // namespace

class TestDriverSocketGate : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void groupMember_refusedAndAudited();
    void secondLink_refusedWhilePcscdsServes();
    void list_openToTheGroup_namesEscaped();
    void pcscUser_admitsTheNamedUserOnly();
    void plaintextWildcard_warned();

private:
    // The SELECT the test card answers 90 00, through the link pcscd holds.
    bool pcscdsLinkServes();
    QString driverSocket() const { return rig_->pcscSocket(); }

    std::unique_ptr<vscard::test::PcscRig> rig_;
    vscard::test::LoadedIfdDriver driver_;
};

void TestDriverSocketGate::initTestCase()
{
    QVERIFY2(::geteuid() == 0, "the test runs as root, as ./tests/run does");
    rig_ = std::make_unique<vscard::test::PcscRig>(1);
    // The group may connect (as the packaged 0660 lets it); here everyone may, so that user
    // nobody reaches the socket and the gate is what refuses it.
    rig_->extraServerArguments << "--socket-mode"
                               << "0666";
    const QString dir = rig_->filePath(QString());
    QVERIFY(QFile::setPermissions(dir, QFile::permissions(dir) | QFile::ExeOther));
    QVERIFY2(rig_->startServer(), qPrintable(rig_->error()));
    QVERIFY2(driver_.load(VSCARD_IFD_LIB), dlerror());
    QByteArray device = (driverSocket() + ":slots=1").toUtf8();
    QCOMPARE(driver_.create(0, device.data()), RESPONSECODE(IFD_SUCCESS));
    // A reader name with a newline, as an attacker would choose it to forge a --list line.
    QProcess* client = rig_->startClient(
        {"--reader", "Evil\nslot 7: \"vscard 00 07\" <- forged=" + vscard::test::kCacAtr});
    QVERIFY(vscard::test::waitReady(client));
    QTRY_COMPARE_WITH_TIMEOUT(driver_.presence(0), RESPONSECODE(IFD_ICC_PRESENT), 10000);
    std::array<UCHAR, MAX_ATR_SIZE> atr{};
    DWORD atrLength = atr.size();
    QCOMPARE(driver_.power(0, IFD_POWER_UP, atr.data(), &atrLength), RESPONSECODE(IFD_SUCCESS));
    QVERIFY(pcscdsLinkServes());
}

void TestDriverSocketGate::cleanupTestCase()
{
    if (driver_.close)
        driver_.close(0);
    rig_.reset();
}

bool TestDriverSocketGate::pcscdsLinkServes()
{
    return driver_.selectAnswers9000(0);
}

void TestDriverSocketGate::groupMember_refusedAndAudited()
{
    const LinkOutcome outcome = sendAsNobody(driverSocket(), hello());
    QVERIFY2(outcome != LinkOutcome::NoConnection, "user nobody could not reach the socket");
    QCOMPARE(static_cast<char>(outcome), static_cast<char>(LinkOutcome::Closed));
    QTRY_VERIFY2(rig_->serverLog().contains(QRegularExpression(
                     "audit: refuse unix:\\S+ uid 65534 \\(nobody\\) \\(driver link\\): uid 65534 "
                     "may not drive the readers \\(--pcsc-user admits root \\(0\\)\\)")),
                 qPrintable(rig_->serverLog()));
    QVERIFY(pcscdsLinkServes());
}

void TestDriverSocketGate::secondLink_refusedWhilePcscdsServes()
{
    Bytes answer;
    const LinkOutcome outcome =
        sendOnDriverSocket(QFile::encodeName(driverSocket()).constData(), hello(), &answer);
    QCOMPARE(static_cast<char>(outcome), static_cast<char>(LinkOutcome::Closed));
    QTRY_VERIFY2(rig_->serverLog().contains(QRegularExpression(
                     "audit: refuse unix:\\S+ uid 0 \\(root\\) \\(driver link\\): a driver link is "
                     "already open")),
                 qPrintable(rig_->serverLog()));
    // pcscd's link kept its slot and its card.
    QCOMPARE(driver_.presence(0), RESPONSECODE(IFD_ICC_PRESENT));
    QVERIFY(pcscdsLinkServes());
}

void TestDriverSocketGate::list_openToTheGroup_namesEscaped()
{
    // Reading the list is no link: user nobody may, through the socket's mode.
    QCOMPARE(static_cast<char>(
                 sendAsNobody(driverSocket(), link::encodeFrame(link::FrameKind::ListRequest, {}))),
             static_cast<char>(LinkOutcome::Listed));
    const vscard::test::ToolResult list =
        rig_->run(VSCARD_SERVER_BIN, {"--list", "--pcsc-socket", driverSocket()});
    QCOMPARE(list.exitCode, 0);
    const QStringList lines = list.output.trimmed().split('\n');
    QCOMPARE(lines.size(), 1);
    QVERIFY2(lines.first().startsWith("slot 0: \"vscard 00 00\" <- reader "
                                      "\"Evil\\x0aslot 7: \\\"vscard 00 07\\\" <- forged\""),
             qPrintable(list.output));
}

void TestDriverSocketGate::pcscUser_admitsTheNamedUserOnly()
{
    // A server for user nobody's pcscd: root's link is the stranger there, nobody's is welcome.
    QTemporaryDir dir;
    QVERIFY(QFile::setPermissions(dir.path(), QFile::permissions(dir.path()) | QFile::ExeOther));
    const QString socket = dir.filePath("pcsc.sock");
    QProcess server;
    server.setProcessChannelMode(QProcess::MergedChannels);
    server.start(VSCARD_SERVER_BIN,
                 {"--listen", "unix:" + dir.filePath("vscard.sock"), "--pcsc-socket", socket,
                  "--socket-mode", "0666", "--pcsc-user", "nobody"});
    QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(socket), 10000);
    QByteArray log;
    QTRY_VERIFY_WITH_TIMEOUT((log += server.readAll()).contains("to nobody (65534)"), 5000);
    QCOMPARE(static_cast<char>(sendOnDriverSocket(QFile::encodeName(socket).constData(), hello())),
             static_cast<char>(LinkOutcome::Closed));
    QCOMPARE(static_cast<char>(sendAsNobody(socket, hello())),
             static_cast<char>(LinkOutcome::Welcomed));
    // nobody's link has gone: the next one is welcome too (the gate was released).
    QCOMPARE(static_cast<char>(sendAsNobody(socket, hello())),
             static_cast<char>(LinkOutcome::Welcomed));
    server.terminate();
    QVERIFY(server.waitForFinished(10000));
    log += server.readAll();
    QVERIFY2(log.contains("uid 0 may not drive the readers (--pcsc-user admits nobody (65534))"),
             log.constData());
}

void TestDriverSocketGate::plaintextWildcard_warned()
{
    QTemporaryDir dir;
    const auto firstLines = [&](const QStringList& arguments) {
        QProcess server;
        server.setProcessChannelMode(QProcess::MergedChannels);
        server.start(VSCARD_SERVER_BIN, arguments);
        QByteArray log;
        QElapsedTimer waited;
        waited.start();
        // USB/IP is opened last: its line says every listener is up.
        while (!log.contains("exporting the readers over USB/IP on") && waited.elapsed() < 10000 &&
               server.waitForReadyRead(200))
            log += server.readAll();
        QTest::qWait(200);
        log += server.readAll();
        server.terminate();
        server.waitForFinished(10000);
        return QString::fromUtf8(log + server.readAll());
    };
    const QString wild = firstLines({"--listen", "tcp:0.0.0.0:0", "--usbip", "tcp:0.0.0.0:0"});
    QVERIFY2(wild.contains(QRegularExpression(
                 "tcp:0\\.0\\.0\\.0:\\d+ is reachable from other machines and carries VSCard in "
                 "plaintext")),
             qPrintable(wild));
    QVERIFY2(wild.contains(QRegularExpression(
                 "tcp:0\\.0\\.0\\.0:\\d+ is reachable from other machines: USB/IP has no "
                 "authentication")),
             qPrintable(wild));
    const QString loopback =
        firstLines({"--listen", "tcp:127.0.0.1:0", "--usbip", "tcp:127.0.0.1:0"});
    QVERIFY2(loopback.contains("exporting the readers over USB/IP on"), qPrintable(loopback));
    QVERIFY2(!loopback.contains("reachable from other machines"), qPrintable(loopback));
}

QTEST_GUILESS_MAIN(TestDriverSocketGate)
#include "tst_driver_socket_gate.moc"
