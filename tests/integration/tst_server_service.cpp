// server-ccid as a service manager runs it, the real binary in a process of its own:
// readiness on $NOTIFY_SOCKET (a datagram socket this test binds, as systemd does), socket
// activation through systemd's own systemd-socket-activate, and SIGHUP re-reading the
// configuration file without dropping a connected client.
#include "hex_bytes.h"
#include "vscard/vscard_wire.h"

#include <QFile>
#include <QLocalSocket>
#include <QProcess>
#include <QtTest>

#include <csignal>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using namespace vscard;
using vscard::test::fromHex;

namespace {

const Bytes kClientInit = fromHex("00000001 00000000 0000000C 56534344 00000002 00000000");
const Bytes kHostInitStart = fromHex("00000001 FFFFFFFF 0000000C 56534344");
const Bytes kFlush = fromHex("00000008 00000000 00000000");
const Bytes kFlushComplete = fromHex("00000009 00000000 00000000");

// What the service manager listens on: a datagram socket at a path (or, with '@', in the
// abstract namespace).
class NotifyListener {
public:
    explicit NotifyListener(const QString& name)
    {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        const QByteArray bytes = QFile::encodeName(name);
        std::memcpy(address.sun_path, bytes.constData(), static_cast<std::size_t>(bytes.size()));
        if (address.sun_path[0] == '@')
            address.sun_path[0] = '\0';
        bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&address),
                        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) +
                                               static_cast<std::size_t>(bytes.size()))) == 0;
    }
    ~NotifyListener() { ::close(fd_); }
    bool bound() const { return bound_; }

    // The next datagram, or empty after the (hang-guard) timeout.
    QByteArray next(int timeoutMs = 15000)
    {
        pollfd ready{fd_, POLLIN, 0};
        if (::poll(&ready, 1, timeoutMs) != 1)
            return {};
        char buffer[4096];
        const ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
        return got > 0 ? QByteArray(buffer, static_cast<int>(got)) : QByteArray();
    }

private:
    int fd_ = -1;
    bool bound_ = false;
};

// A VSCard client in blocking style.
class Client {
public:
    bool connectTo(const QString& path)
    {
        socket_.connectToServer(path);
        return socket_.waitForConnected(5000);
    }
    bool send(const Bytes& bytes)
    {
        socket_.write(reinterpret_cast<const char*>(bytes.data()),
                      static_cast<qint64>(bytes.size()));
        return socket_.waitForBytesWritten(5000);
    }
    // COUNT bytes, or fewer after the (hang-guard) timeout.
    Bytes receive(int count)
    {
        QByteArray data;
        while (data.size() < count &&
               (socket_.bytesAvailable() > 0 || socket_.waitForReadyRead(10000)))
            data += socket_.read(count - data.size());
        return Bytes(data.begin(), data.end());
    }
    bool hostAnswersInit()
    {
        if (!send(kClientInit))
            return false;
        const Bytes reply = receive(24);
        return reply.size() == 24 &&
               std::equal(kHostInitStart.begin(), kHostInitStart.end(), reply.begin());
    }
    QLocalSocket& socket() { return socket_; }

private:
    QLocalSocket socket_;
};

bool writeFile(const QString& path, const QByteArray& text)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate) && file.write(text) == text.size();
}

} // namespace

class TestServerService : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void notify_readyOnceListening_stoppingOnTerm();
    void notify_abstractSocket_ready();
    void socketActivation_adoptsByAddressAndByName();
    void sighup_endpointsChange_connectedClientStays();

private:
    QProcess* startServer(const QStringList& arguments, const QStringList& environment = {},
                          const QString& program = VSCARD_SERVER_BIN);
    QString log() { return QString::fromUtf8(log_ += server_->readAll()); }
    QString path(const char* name) const { return dir_->filePath(name); }

    std::unique_ptr<QTemporaryDir> dir_;
    std::unique_ptr<QProcess> server_;
    QByteArray log_;
};

void TestServerService::init()
{
    dir_ = std::make_unique<QTemporaryDir>();
    log_.clear();
}

void TestServerService::cleanup()
{
    if (server_) {
        server_->kill();
        server_->waitForFinished(5000);
        if (QTest::currentTestFailed())
            qWarning().noquote() << "server log:\n" << log();
    }
    server_.reset();
    dir_.reset();
}

QProcess* TestServerService::startServer(const QStringList& arguments,
                                         const QStringList& environment, const QString& program)
{
    server_ = std::make_unique<QProcess>();
    server_->setProcessChannelMode(QProcess::MergedChannels);
    QProcessEnvironment variables = QProcessEnvironment::systemEnvironment();
    for (const QString& variable : environment)
        variables.insert(variable.section('=', 0, 0), variable.section('=', 1));
    server_->setProcessEnvironment(variables);
    server_->start(program, arguments);
    return server_->waitForStarted(5000) ? server_.get() : nullptr;
}

void TestServerService::notify_readyOnceListening_stoppingOnTerm()
{
    NotifyListener manager(path("notify"));
    QVERIFY(manager.bound());
    QVERIFY(startServer(
        {"--config", "", "--listen", "unix:" + path("v.sock"), "--pcsc-socket", path("p.sock")},
        {"NOTIFY_SOCKET=" + path("notify")}));
    const QByteArray ready = manager.next();
    QVERIFY2(ready.startsWith("READY=1\n"), ready.constData());
    QCOMPARE(ready.mid(8), "STATUS=VSCard clients on unix:" + QFile::encodeName(path("v.sock")) +
                               "; pcscd driver on unix:" + QFile::encodeName(path("p.sock")));
    // Ready means listening: a client connects and is answered at once.
    Client client;
    QVERIFY(client.connectTo(path("v.sock")));
    QVERIFY(client.hostAnswersInit());

    ::kill(static_cast<pid_t>(server_->processId()), SIGTERM);
    QCOMPARE(manager.next(), QByteArray("STOPPING=1"));
    QVERIFY(server_->waitForFinished(10000));
    QCOMPARE(server_->exitCode(), 0);
}

void TestServerService::notify_abstractSocket_ready()
{
    const QString name = QStringLiteral("@vscard-test-%1").arg(::getpid());
    NotifyListener manager(name);
    QVERIFY(manager.bound());
    QVERIFY(startServer({"--config", "", "--listen", "unix:" + path("v.sock")},
                        {"NOTIFY_SOCKET=" + name}));
    QVERIFY(manager.next().startsWith("READY=1\n"));
}

void TestServerService::socketActivation_adoptsByAddressAndByName()
{
    // systemd's own tool binds both sockets, waits for a first connection, then runs
    // server-ccid with them as fds 3 and 4, named as a socket unit's FileDescriptorName= would.
    // The VSCard socket is matched by its address (--listen names it), the driver's by its
    // name (no --pcsc-socket given).
    QVERIFY(startServer({"-l", path("v.sock"), "-l", path("p.sock"), "--fdname=vscard:pcsc",
                         VSCARD_SERVER_BIN, "--config", "", "--listen", "unix:" + path("v.sock")},
                        {}, "systemd-socket-activate"));
    QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(path("v.sock")), 10000);
    Client client;
    QVERIFY(client.connectTo(path("v.sock")));
    QVERIFY2(client.hostAnswersInit(), qPrintable(log()));
    QTRY_VERIFY(log().contains("accepting VSCard clients on unix:" + path("v.sock") +
                               " (from the service manager)"));
    QVERIFY2(log().contains("serving the pcscd driver on unix:" + path("p.sock") +
                            " (from the service manager)"),
             qPrintable(log()));
    QProcess list;
    list.start(VSCARD_SERVER_BIN, {"--config", "", "--list", "--pcsc-socket", path("p.sock")});
    QVERIFY(list.waitForFinished(10000));
    QCOMPARE(list.exitCode(), 0);

    // Its sockets are the service manager's: server-ccid leaves the files when it stops.
    ::kill(static_cast<pid_t>(server_->processId()), SIGTERM);
    QVERIFY(server_->waitForFinished(10000));
    QVERIFY(QFile::exists(path("v.sock")));
    QVERIFY(QFile::exists(path("p.sock")));
}

void TestServerService::sighup_endpointsChange_connectedClientStays()
{
    const QString config = path("server-ccid.conf");
    QVERIFY(writeFile(config, "listen = unix:" + QFile::encodeName(path("a.sock")) +
                                  "\npcsc-socket = " + QFile::encodeName(path("p.sock")) +
                                  "\nmax-readers = 8\n"));
    NotifyListener manager(path("notify"));
    QVERIFY(startServer({"--config", config}, {"NOTIFY_SOCKET=" + path("notify")}));
    QVERIFY(manager.next().startsWith("READY=1\n"));
    Client old;
    QVERIFY(old.connectTo(path("a.sock")));
    QVERIFY(old.hostAnswersInit());

    // The client's endpoint goes, another comes, max-readers waits for a restart.
    QVERIFY(writeFile(config, "listen = unix:" + QFile::encodeName(path("b.sock")) +
                                  "\npcsc-socket = " + QFile::encodeName(path("p.sock")) +
                                  "\nmax-readers = 4\n"));
    ::kill(static_cast<pid_t>(server_->processId()), SIGHUP);
    QCOMPARE(manager.next(), QByteArray("RELOADING=1"));
    const QByteArray ready = manager.next();
    QVERIFY2(ready.startsWith("READY=1\nSTATUS=VSCard clients on unix:" +
                              QFile::encodeName(path("b.sock"))),
             ready.constData());
    Client fresh;
    QVERIFY(fresh.connectTo(path("b.sock")));
    QVERIFY(fresh.hostAnswersInit());
    QVERIFY(!QFile::exists(path("a.sock")));
    QVERIFY(old.send(kFlush));
    QCOMPARE(old.receive(12), kFlushComplete);
    QTRY_VERIFY(log().contains("no longer accepting VSCard clients on unix:" + path("a.sock")));
    QTRY_VERIFY(log().contains("changed but applied only at the next start: max-readers"));

    // A broken file changes nothing, and says so.
    QVERIFY(writeFile(config,
                      "listen = unix:" + QFile::encodeName(path("c.sock")) + "\nfrobnicate = 1\n"));
    ::kill(static_cast<pid_t>(server_->processId()), SIGHUP);
    QCOMPARE(manager.next(), QByteArray("RELOADING=1"));
    QVERIFY(manager.next().startsWith("READY=1\n"));
    QTRY_VERIFY(log().contains("reload refused, nothing changed: server-ccid: " + config +
                               ":2: unknown option \"frobnicate\""));
    QVERIFY(!QFile::exists(path("c.sock")));
    QVERIFY(fresh.send(kFlush));
    QCOMPARE(fresh.receive(12), kFlushComplete);
    QVERIFY(old.send(kFlush));
    QCOMPARE(old.receive(12), kFlushComplete);
}

QTEST_GUILESS_MAIN(TestServerService)
#include "tst_server_service.moc"
