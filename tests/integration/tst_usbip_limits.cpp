// What USB/IP peers may hold in server-ccid, which has no way to authenticate them: connections
// capped in total and per address (refused at connect, at once), a connection that sends no
// complete request dropped at the 10 s deadline, --policy rules by address, and the audit
// trail's list, import, detach and refusal events. Several loopback addresses (127.0.0.N) play
// several machines.
#include "pcsc_rig.h"

#include <QElapsedTimer>
#include <QRegularExpression>
#include <QtTest>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <vector>

namespace {

// A TCP connection to the server's USB/IP port from 127.0.0.`host`.
int connectFrom(int host, quint16 port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(0x7F000000u | static_cast<quint32>(host));
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(port);
    remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0 ||
        ::connect(fd, reinterpret_cast<const sockaddr*>(&remote), sizeof remote) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Whether the server has closed this connection (end of stream or reset), waiting up to
// timeoutMs for it.
bool closedByServer(int fd, int timeoutMs)
{
    pollfd ready{fd, POLLIN, 0};
    if (::poll(&ready, 1, timeoutMs) <= 0)
        return false;
    char byte = 0;
    return ::recv(fd, &byte, 1, MSG_DONTWAIT) <= 0;
}

QByteArray exchange(int fd, const QByteArray& request, int want)
{
    if (::send(fd, request.constData(), static_cast<std::size_t>(request.size()), MSG_NOSIGNAL) !=
        request.size())
        return {};
    QByteArray answer;
    while (answer.size() < want) {
        pollfd ready{fd, POLLIN, 0};
        if (::poll(&ready, 1, 5000) <= 0)
            break;
        char buffer[512];
        const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
        if (got <= 0)
            break;
        answer.append(buffer, static_cast<qsizetype>(got));
    }
    return answer;
}

const QByteArray kDeviceList = QByteArray::fromHex("0111800500000000");

// OP_REQ_IMPORT of bus ID 1-1 (the first reader); the answer is 8 bytes of header (status 0
// when imported) and 312 of device.
QByteArray importRequest()
{
    QByteArray request = QByteArray::fromHex("0111800300000000");
    QByteArray busId("1-1");
    busId.resize(32, '\0');
    return request + busId;
}

// Closes every descriptor when it goes.
struct Held {
    std::vector<int> fds;
    void closeAll()
    {
        for (const int fd : fds)
            if (fd >= 0)
                ::close(fd);
        fds.clear();
    }
    ~Held() { closeAll(); }
};

} // namespace

class TestUsbipLimits : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void perAddress_excessRefusedAtOnce();
    void total_excessRefusedAtOnce();
    void silentConnection_droppedAtTheDeadline();
    void policy_refusesAnAddress();
    void audit_listImportDetach();

private:
    QString audit() const;
    // Closes them and waits until the server has ended the `accepted` of them it served, so
    // that the next test starts with every place free.
    void release(Held& held, int accepted);

    std::unique_ptr<vscard::test::PcscRig> rig_;
    quint16 port_ = 0;
};

void TestUsbipLimits::initTestCase()
{
    rig_ = std::make_unique<vscard::test::PcscRig>(1);
    rig_->serverTrace = QStringLiteral("vscard.usbip"); // "ended" lines: when places are free
    QFile policy(rig_->filePath("policy"));
    QVERIFY(policy.open(QIODevice::WriteOnly));
    policy.write("deny address=127.0.0.9\nallow any\n");
    policy.close();
    rig_->extraServerArguments << "--usbip"
                               << "tcp:127.0.0.1:0"
                               << "--usbip-max-connections"
                               << "10"
                               << "--policy" << rig_->filePath("policy") << "--audit"
                               << "file:" + rig_->filePath("audit.log");
    QVERIFY2(rig_->startServer(), qPrintable(rig_->error()));
    static const QRegularExpression usbip("over USB/IP on tcp:127.0.0.1:(\\d+)");
    QTRY_VERIFY_WITH_TIMEOUT(usbip.match(rig_->serverLog()).hasMatch(), 10000);
    port_ = static_cast<quint16>(usbip.match(rig_->serverLog()).captured(1).toUInt());
    QVERIFY(vscard::test::waitReady(
        rig_->startClient({"--reader", "Imported=" + vscard::test::kCacAtr, "--quiet"})));
}

void TestUsbipLimits::release(Held& held, int accepted)
{
    const auto ended = [this] {
        return rig_->serverLog().count(QRegularExpression("USB/IP connection tcp:\\S+ ended"));
    };
    const qsizetype before = ended();
    held.closeAll();
    QTRY_COMPARE_WITH_TIMEOUT(ended(), before + accepted, 10000);
}

QString TestUsbipLimits::audit() const
{
    QFile file(rig_->filePath("audit.log"));
    return file.open(QIODevice::ReadOnly) ? QString::fromUtf8(file.readAll()) : QString();
}

void TestUsbipLimits::perAddress_excessRefusedAtOnce()
{
    Held held;
    for (int i = 0; i < 5; ++i)
        held.fds.push_back(connectFrom(2, port_));
    // The default --usbip-address-connections is 4: the fifth goes at once, the four stay.
    QVERIFY2(closedByServer(held.fds[4], 2000), "the fifth connection of one address stayed");
    for (int i = 0; i < 4; ++i)
        QVERIFY2(!closedByServer(held.fds[static_cast<std::size_t>(i)], 0),
                 "one of the first four was closed");
    QTRY_VERIFY(rig_->serverLog().contains(
        "refused: it has 4 USB/IP connections open, the most --usbip-address-connections allows"));
    release(held, 4);
}

void TestUsbipLimits::total_excessRefusedAtOnce()
{
    // --usbip-max-connections 10 here: three addresses with four each make twelve.
    Held held;
    for (int host = 3; host <= 5; ++host)
        for (int i = 0; i < 4; ++i)
            held.fds.push_back(connectFrom(host, port_));
    int refused = 0;
    for (const int fd : held.fds)
        refused += closedByServer(fd, 300);
    QCOMPARE(refused, 2);
    QVERIFY(rig_->serverLog().contains(
        "refused: 10 USB/IP connections are open, the most --usbip-max-connections allows"));
    release(held, 10);
}

void TestUsbipLimits::silentConnection_droppedAtTheDeadline()
{
    Held held;
    held.fds.push_back(connectFrom(6, port_));
    QElapsedTimer waited;
    waited.start();
    QVERIFY2(!closedByServer(held.fds[0], 5000), "dropped long before the deadline");
    QVERIFY2(closedByServer(held.fds[0], 10000), "a silent connection was never dropped");
    qInfo("a silent USB/IP connection was dropped after %lld ms", waited.elapsed());
    QTRY_VERIFY(rig_->serverLog().contains("it sent no complete request within 10 s"));
    // Its place is free again: the same address lists the readers.
    const int fd = connectFrom(6, port_);
    held.fds.push_back(fd);
    QVERIFY(exchange(fd, kDeviceList, 4).startsWith(QByteArray::fromHex("01110005")));
}

void TestUsbipLimits::policy_refusesAnAddress()
{
    Held held;
    held.fds.push_back(connectFrom(9, port_));
    QVERIFY2(closedByServer(held.fds[0], 2000), "the denied address was not refused");
    QTRY_VERIFY(rig_->serverLog().contains("refused: denied by the policy rule at"));
    held.fds.push_back(connectFrom(7, port_));
    QVERIFY(exchange(held.fds[1], kDeviceList, 4).startsWith(QByteArray::fromHex("01110005")));
}

void TestUsbipLimits::audit_listImportDetach()
{
    {
        Held held;
        held.fds.push_back(connectFrom(8, port_));
        const QByteArray answer = exchange(held.fds[0], importRequest(), 8 + 312);
        QCOMPARE(answer.left(8).toHex(), QByteArray("0111000300000000"));
    }
    QTRY_VERIFY2(audit().contains("usbip-detach tcp:127.0.0.8:"), qPrintable(audit()));
    const QString trail = audit();
    QVERIFY2(trail.contains(QRegularExpression("usbip-import tcp:127\\.0\\.0\\.8:\\d+: 1-1 "
                                               "\"Imported\"")),
             qPrintable(trail));
    QVERIFY(trail.contains(QRegularExpression("usbip-list tcp:127\\.0\\.0\\.7:\\d+: 1 readers")));
    QVERIFY(trail.contains(QRegularExpression(
        "refuse tcp:127\\.0\\.0\\.9:\\d+ \\(USB/IP\\): denied by the policy rule at")));
}

QTEST_GUILESS_MAIN(TestUsbipLimits)
#include "tst_usbip_limits.moc"
