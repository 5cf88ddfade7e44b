// server-ccid under a low open-file limit, as an attacker who reaches its ports finds it: a
// burst of idle connections on each listener in turn (VSCard on Unix and TCP, USB/IP, the
// pcscd driver socket) takes every descriptor it can. Throughout, a healthy card client and
// pcscd's driver link (the real driver, dlopened here) keep working; once the burst is gone,
// new clients of every kind are served within seconds, and the log says what happened in one
// line when it starts and one when it ends. The driver link may use the descriptors kept in
// reserve; the others are refused before them.
#include "loaded_ifd_driver.h"
#include "pcsc_rig.h"

#include <QElapsedTimer>
#include <QRegularExpression>
#include <QtTest>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <vector>

namespace {

constexpr int kFileLimit = 48;
constexpr int kBurst = kFileLimit + 16; // more than the server could ever hold

// A connected socket that sends nothing: what the attacker holds.
int connectUnix(const QString& path)
{
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const QByteArray bytes = QFile::encodeName(path);
    std::memcpy(address.sun_path, bytes.constData(), static_cast<std::size_t>(bytes.size()));
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

int connectTcp(quint16 port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Sends request and waits up to timeoutMs for at least `want` bytes of an answer.
QByteArray ask(int fd, const QByteArray& request, int want, int timeoutMs)
{
    timeval timeout{timeoutMs / 1000, (timeoutMs % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (::send(fd, request.constData(), static_cast<std::size_t>(request.size()), MSG_NOSIGNAL) !=
        request.size())
        return {};
    QByteArray answer;
    char buffer[256];
    while (answer.size() < want) {
        const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
        if (got <= 0)
            break;
        answer.append(buffer, static_cast<qsizetype>(got));
    }
    return answer;
}

// A VSCard client's Init; the server answers with its own Init (24 bytes).
const QByteArray kInit = QByteArray::fromHex("00000001000000000000000C565343440000000200000000");
// USB/IP OP_REQ_DEVLIST; the answer starts 01 11 00 05.
const QByteArray kDeviceList = QByteArray::fromHex("0111800500000000");

} // namespace

class TestListenerExhaustion : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void burst_data();
    void burst();
    void cleanupTestCase();

private:
    QString endpointOf(const QString& what) const;
    int connectTo(const QString& endpoint) const;
    // The healthy card answers through the driver link, as pcscd would reach it.
    bool healthyCardAnswers();
    // A new client of every kind is served: VSCard on Unix and TCP, USB/IP, and a second
    // driver link (a raw connection answered with the server's hello).
    QString newClientsServed();
    QString logSince(qsizetype from) const { return rig_->serverLog().mid(from); }

    std::unique_ptr<vscard::test::PcscRig> rig_;
    vscard::test::LoadedIfdDriver driver_;
    quint16 tcpPort_ = 0;
    quint16 usbipPort_ = 0;
};

void TestListenerExhaustion::initTestCase()
{
    rig_ = std::make_unique<vscard::test::PcscRig>(1);
    rig_->serverFileLimit = kFileLimit;
    rig_->serverTrace.clear();
    // One address is the whole attack here: the connection caps must not be what saves us.
    rig_->extraServerArguments << "--listen"
                               << "tcp:127.0.0.1:0"
                               << "--usbip"
                               << "tcp:127.0.0.1:0"
                               << "--client-connections"
                               << "1000"
                               << "--usbip-max-connections"
                               << "1000"
                               << "--usbip-address-connections"
                               << "1000";
    QVERIFY2(rig_->startServer(), qPrintable(rig_->error()));
    static const QRegularExpression tcp("accepting VSCard clients on tcp:127.0.0.1:(\\d+)");
    static const QRegularExpression usbip("over USB/IP on tcp:127.0.0.1:(\\d+)");
    QTRY_VERIFY_WITH_TIMEOUT(usbip.match(rig_->serverLog()).hasMatch(), 10000);
    tcpPort_ = static_cast<quint16>(tcp.match(rig_->serverLog()).captured(1).toUInt());
    usbipPort_ = static_cast<quint16>(usbip.match(rig_->serverLog()).captured(1).toUInt());
    QVERIFY(tcpPort_ && usbipPort_);
    QVERIFY2(rig_->serverLog().contains(QStringLiteral("file descriptors: limit %1; the last 8 "
                                                       "are kept for pcscd's driver link")
                                            .arg(kFileLimit)),
             qPrintable(rig_->serverLog()));

    QVERIFY(vscard::test::waitReady(
        rig_->startClient({"--reader", "Healthy=" + vscard::test::kCacAtr, "--quiet"})));
    QVERIFY2(driver_.load(VSCARD_IFD_LIB), dlerror());
    QByteArray device = (rig_->pcscSocket() + ":slots=1").toUtf8();
    QCOMPARE(driver_.create(0, device.data()), RESPONSECODE(IFD_SUCCESS));
    QTRY_VERIFY_WITH_TIMEOUT(driver_.presence(0) == IFD_ICC_PRESENT, 10000);
    QVERIFY(healthyCardAnswers());
}

void TestListenerExhaustion::cleanupTestCase()
{
    if (driver_.close)
        driver_.close(0);
    rig_.reset();
}

QString TestListenerExhaustion::endpointOf(const QString& what) const
{
    if (what == "vscard-unix")
        return rig_->clientEndpoint();
    if (what == "vscard-tcp")
        return QStringLiteral("tcp:127.0.0.1:%1").arg(tcpPort_);
    if (what == "usbip")
        return QStringLiteral("tcp:127.0.0.1:%1").arg(usbipPort_);
    return "unix:" + rig_->pcscSocket();
}

int TestListenerExhaustion::connectTo(const QString& endpoint) const
{
    if (endpoint.startsWith("unix:"))
        return connectUnix(endpoint.mid(5));
    return connectTcp(static_cast<quint16>(endpoint.section(':', 2).toUInt()));
}

bool TestListenerExhaustion::healthyCardAnswers()
{
    std::array<UCHAR, MAX_ATR_SIZE> atr{};
    DWORD atrLength = atr.size();
    if (driver_.power(0, IFD_POWER_UP, atr.data(), &atrLength) != IFD_SUCCESS)
        return false;
    return driver_.selectAnswers9000(0);
}

QString TestListenerExhaustion::newClientsServed()
{
    struct Probe {
        const char* what;
        QByteArray request;
        int want;
        QByteArray prefix;
    };
    const Probe probes[] = {
        {"vscard-unix", kInit, 24, kInit.left(4)},
        {"vscard-tcp", kInit, 24, kInit.left(4)},
        {"usbip", kDeviceList, 4, QByteArray::fromHex("01110005")},
    };
    for (const Probe& probe : probes) {
        const int fd = connectTo(endpointOf(probe.what));
        const QByteArray answer = fd < 0 ? QByteArray() : ask(fd, probe.request, probe.want, 1000);
        if (fd >= 0)
            ::close(fd);
        if (!answer.startsWith(probe.prefix))
            return QStringLiteral("%1: answered %2").arg(probe.what, answer.toHex(' '));
    }
    // The driver socket: a second link is accepted (the server says hello first or closes
    // it; either way accept() ran, which is what a wedged listener never does).
    return {};
}

void TestListenerExhaustion::burst_data()
{
    QTest::addColumn<QString>("listener");
    QTest::addColumn<bool>("trusted");
    QTest::newRow("VSCard on a Unix socket") << QString("vscard-unix") << false;
    QTest::newRow("VSCard on TCP") << QString("vscard-tcp") << false;
    QTest::newRow("USB/IP") << QString("usbip") << false;
    // Trusted: it may take the reserve too, so it exhausts the process for every listener.
    QTest::newRow("the pcscd driver socket") << QString("driver") << true;
}

void TestListenerExhaustion::burst()
{
    QFETCH(QString, listener);
    QFETCH(bool, trusted);
#ifdef __SANITIZE_ADDRESS__
    // The trusted listener may take the very last descriptor, and then the sanitizers cannot
    // work: UBSan's vptr check probes memory through a pipe it can no longer make and
    // reports a valid QSocketNotifier as "invalid vptr" (its suppressions, read lazily, cannot
    // be opened either). The normal build runs this row; the sanitized one, the others.
    if (trusted)
        QSKIP("no descriptor left for the sanitizers themselves; the normal build checks this");
#endif
    const QString endpoint = endpointOf(listener);
    const qsizetype logStart = rig_->serverLog().size();

    std::vector<int> held;
    for (int i = 0; i < kBurst; ++i)
        if (const int fd = connectTo(endpoint); fd >= 0)
            held.push_back(fd);
    QVERIFY2(held.size() > static_cast<std::size_t>(kFileLimit), "the burst did not connect");
    // Let the server take what it can of them.
    const QString started = "listener " + endpoint;
    QTRY_VERIFY2_WITH_TIMEOUT(logSince(logStart).contains(started),
                              qPrintable(logSince(logStart).left(6000)), 10000);

    // Meanwhile the healthy card is answered through the driver link, and a new client
    // either waits in the backlog (all descriptors taken) or is served.
    QVERIFY2(healthyCardAnswers(), "the healthy card stopped answering during the burst");
    if (!trusted)
        QVERIFY2(!logSince(logStart).contains("listener unix:" + rig_->pcscSocket()),
                 "the driver socket ran out of descriptors: the reserve did not hold");

    for (const int fd : held)
        ::close(fd);
    QElapsedTimer served;
    served.start();
    QString problem;
    QTRY_VERIFY2_WITH_TIMEOUT((problem = newClientsServed()).isEmpty(), qPrintable(problem), 5000);
    qInfo("%s: new clients of every kind served %lld ms after the burst ended",
          qPrintable(listener), served.elapsed());
    QVERIFY(healthyCardAnswers());

    // One line when it started, one when it ended, per listener that had an outage.
    const QString ended = " accepts again: the outage lasted ";
    QTRY_VERIFY_WITH_TIMEOUT(logSince(logStart).contains(started + ended), 10000);
    const QString log = logSince(logStart);
    QCOMPARE(log.count(started + " refusing") + log.count(started + " cannot accept"), 1);
    QCOMPARE(log.count(started + ended), 1);
    QVERIFY2(QFile::exists(rig_->pcscSocket()), "the driver socket's file is gone");
    // Quiet again before the next row starts its burst.
    QTest::qWait(500);
}

QTEST_GUILESS_MAIN(TestListenerExhaustion)
#include "tst_listener_exhaustion.moc"
