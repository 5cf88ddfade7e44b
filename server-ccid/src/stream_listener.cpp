#include "stream_listener.h"

#include <QFile>
#include <QLocalSocket>
#include <QSocketNotifier>
#include <QSslSocket>
#include <QTcpSocket>
#include <QTimer>

#include "accept_outage.h"
#include "audit_trail.h"
#include "descriptor_budget.h"
#include "logging.h"
#include "tls_handshaker.h"
#include "vscard/qt/tls.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace vscard::server {

namespace {

// A TLS client that has not finished its handshake by then is dropped (slow or idle peers
// must not hold connections open).
constexpr int kHandshakeTimeoutMs = 10000;

// SO_PEERCRED: the user the peer process runs as, by number and name.
policy::PeerIdentity unixPeerIdentity(int fd)
{
    policy::PeerIdentity identity;
    ucred credentials{};
    socklen_t size = sizeof credentials;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &size) != 0)
        return identity;
    identity.uid = credentials.uid;
    passwd entry{};
    passwd* found = nullptr;
    char buffer[4096];
    if (::getpwuid_r(credentials.uid, &entry, buffer, sizeof buffer, &found) == 0 && found)
        identity.userName = found->pw_name;
    return identity;
}

policy::PeerIdentity networkPeerIdentity(QTcpSocket* socket)
{
    policy::PeerIdentity identity;
    // Without the scope ("fe80::1%eth0"), so that address= rules can parse and match it.
    QHostAddress address = socket->peerAddress();
    address.setScopeId(QString());
    identity.address = address.toString().toStdString();
    if (auto* tls = qobject_cast<QSslSocket*>(socket)) {
        const QSslCertificate certificate = tls->peerCertificate();
        if (!certificate.isNull()) {
            // Qt lists the attributes in no particular order: logs show them from the widest
            // (country) to the narrowest (common name), as certificates usually have them.
            static const QList<QByteArray> kOrder{"C", "ST", "L", "O", "OU", "CN"};
            QList<QByteArray> attributes = certificate.subjectInfoAttributes();
            std::stable_sort(attributes.begin(), attributes.end(),
                             [](const QByteArray& a, const QByteArray& b) {
                                 const auto rank = [](const QByteArray& name) {
                                     const qsizetype at = kOrder.indexOf(name);
                                     return at < 0 ? kOrder.size() : at;
                                 };
                                 return rank(a) < rank(b);
                             });
            for (const QByteArray& attribute : attributes)
                for (const QString& value : certificate.subjectInfo(attribute))
                    // Upper case, as the policy's attribute names are read (Qt says
                    // "emailAddress").
                    identity.subject.emplace_back(attribute.toUpper().toStdString(),
                                                  value.toStdString());
            identity.sha256 = tls::fingerprint(certificate).toStdString();
        }
    }
    return identity;
}

} // namespace

StreamListener::StreamListener(Endpoint endpoint, int unixMode, QObject* parent)
    : QObject(parent), endpoint_(std::move(endpoint)), unixMode_(unixMode)
{
}

StreamListener::~StreamListener()
{
    if (fd_ < 0)
        return;
    delete ready_;
    ::close(fd_);
    if (ownsSocketFile_)
        ::unlink(QFile::encodeName(endpoint_.path).constData());
}

QString StreamListener::failure(const QString& what, int error) const
{
    return QStringLiteral("%1: %2: %3")
        .arg(endpoint_.toString(), what, QString::fromLocal8Bit(std::strerror(error)));
}

QString StreamListener::adopt(int fd)
{
    adopted_ = true;
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
        return QStringLiteral("%1 (inherited): %2")
            .arg(endpoint_.toString(), QString::fromLocal8Bit(std::strerror(errno)));
    watch(fd);
    return {};
}

QString StreamListener::listen()
{
    return endpoint_.isNetwork() ? bindTcp() : bindUnix();
}

QString StreamListener::bindTcp()
{
    QHostAddress host;
    if (!host.setAddress(endpoint_.host)) {
        if (endpoint_.host != QLatin1String("localhost"))
            return QStringLiteral("%1: \"%2\" is not an IP address")
                .arg(endpoint_.toString(), endpoint_.host);
        host = QHostAddress::LocalHost;
    }
    sockaddr_storage address{};
    socklen_t length = 0;
    if (host.protocol() == QAbstractSocket::IPv6Protocol) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&address);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(endpoint_.port);
        const Q_IPV6ADDR bytes = host.toIPv6Address();
        std::memcpy(&in6->sin6_addr, &bytes, sizeof bytes);
        length = sizeof *in6;
    } else {
        auto* in4 = reinterpret_cast<sockaddr_in*>(&address);
        in4->sin_family = AF_INET;
        in4->sin_port = htons(endpoint_.port);
        in4->sin_addr.s_addr = htonl(host.toIPv4Address());
        length = sizeof *in4;
    }
    const int fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return failure(QStringLiteral("socket"), errno);
    // A restarted server binds again while its old connections linger in TIME_WAIT.
    const int reuse = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0 ||
        ::listen(fd, SOMAXCONN) != 0) {
        const int error = errno;
        ::close(fd);
        return failure(QStringLiteral("cannot listen"), error);
    }
    watch(fd);
    return {};
}

QString StreamListener::bindUnix()
{
    const QByteArray path = QFile::encodeName(endpoint_.path);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.isEmpty() || static_cast<std::size_t>(path.size()) >= sizeof address.sun_path)
        return QStringLiteral("%1: the path is empty or longer than %2 bytes")
            .arg(endpoint_.toString())
            .arg(sizeof address.sun_path - 1);
    std::memcpy(address.sun_path, path.constData(), static_cast<std::size_t>(path.size()));
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return failure(QStringLiteral("socket"), errno);
    ::unlink(path.constData()); // a stale socket of an earlier run
    // Create the socket with no access for others, then open it up to the requested mode, so
    // that nobody connects in between.
    const mode_t previousMask = ::umask(0077);
    const bool bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    const int bindError = errno;
    ::umask(previousMask);
    if (!bound) {
        ::close(fd);
        return failure(QStringLiteral("cannot listen"), bindError);
    }
    ownsSocketFile_ = true;
    watch(fd);
    if (::listen(fd, SOMAXCONN) != 0)
        return failure(QStringLiteral("cannot listen"), errno);
    if (::chmod(path.constData(), static_cast<mode_t>(unixMode_)) != 0)
        return QStringLiteral("%1: cannot set mode %2")
            .arg(endpoint_.toString())
            .arg(unixMode_, 0, 8);
    return {};
}

void StreamListener::watch(int fd)
{
    fd_ = fd;
    ready_ = new QSocketNotifier(fd, QSocketNotifier::Read, this);
    connect(ready_, &QSocketNotifier::activated, this, &StreamListener::acceptReady);
    outage_ = new AcceptOutage(
        boundEndpoint().toString(),
        [this] {
            ready_->setEnabled(true);
            acceptReady();
        },
        this);
    if (endpoint_.kind == Endpoint::Kind::Tls) {
        handshaker_ = new TlsHandshaker(tls_, kHandshakeTimeoutMs, this);
        connect(handshaker_, &TlsHandshaker::handshakeFailed, this,
                [](const QString& peer, const QString& reason) {
                    qCWarning(lcServer).noquote()
                        << "client" << peer << "refused, TLS handshake failed:" << reason;
                    qCInfo(lcAudit).noquote()
                        << QStringLiteral("refuse %1: TLS handshake failed: %2").arg(peer, reason);
                });
        connect(handshaker_, &TlsHandshaker::encrypted, this,
                [this](QSslSocket* socket) { announceTcp(socket); });
    }
}

void StreamListener::acceptReady()
{
    for (;;) {
        const int connection = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (connection < 0) {
            const int error = errno;
            if (error == EINTR || error == ECONNABORTED)
                continue;
            if (AcceptOutage::isTemporary(error))
                return; // EAGAIN: all taken
            // EMFILE and the like: the connection waits in the backlog until the retry.
            ready_->setEnabled(false);
            outage_->acceptFailed(QString::fromLocal8Bit(std::strerror(error)));
            return;
        }
        // The kernel gives the lowest free descriptor: this one's number says how many
        // are open, before anything more is spent on the connection.
        if (!DescriptorBudget::admits(connection, trusted_)) {
            ::close(connection);
            outage_->refused();
            continue;
        }
        serve(connection);
    }
}

void StreamListener::serve(int connection)
{
    switch (endpoint_.kind) {
    case Endpoint::Kind::Tls: handshaker_->take(connection); return;
    case Endpoint::Kind::Tcp: {
        auto* socket = new QTcpSocket(this);
        if (!socket->setSocketDescriptor(connection)) {
            ::close(connection);
            delete socket;
            return;
        }
        announceTcp(socket);
        return;
    }
    case Endpoint::Kind::Unix: {
        auto* socket = new QLocalSocket(this);
        if (!socket->setSocketDescriptor(connection)) {
            ::close(connection);
            delete socket;
            return;
        }
        announceLocal(socket);
        return;
    }
    }
}

bool StreamListener::loopbackOnly() const
{
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (!endpoint_.isNetwork())
        return true;
    if (fd_ < 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
        return false;
    if (address.ss_family == AF_INET) {
        const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
        return (ntohl(v4.sin_addr.s_addr) >> 24) == 127;
    }
    if (address.ss_family == AF_INET6) {
        const in6_addr& v6 = reinterpret_cast<const sockaddr_in6&>(address).sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
    }
    return false;
}

Endpoint StreamListener::boundEndpoint() const
{
    Endpoint bound = endpoint_;
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (endpoint_.isNetwork() && fd_ >= 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0)
        bound.port = ntohs(address.ss_family == AF_INET6
                               ? reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port
                               : reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
    return bound;
}

void StreamListener::announceTcp(QTcpSocket* socket)
{
    // Every message leaves in one write; without Nagle it also leaves at once.
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    const QString peer = QStringLiteral("%1:%2:%3")
                             .arg(endpoint_.kind == Endpoint::Kind::Tls ? "tls" : "tcp",
                                  socket->peerAddress().toString())
                             .arg(socket->peerPort());
    if (auto* tls = qobject_cast<QSslSocket*>(socket)) {
        const QSslCertificate certificate = tls->peerCertificate();
        qCInfo(lcServer).noquote()
            << "client" << peer << (tls->sessionProtocol() == QSsl::TlsV1_3 ? "TLS 1.3" : "TLS 1.2")
            << "certificate"
            << (certificate.isNull()
                    ? QStringLiteral("none")
                    : QStringLiteral("\"%1\" sha256 %2")
                          .arg(certificate.subjectDisplayName(), tls::fingerprint(certificate)));
    }
    Q_EMIT accepted(socket, peer, networkPeerIdentity(socket));
}

void StreamListener::announceLocal(QLocalSocket* socket)
{
    static quint64 counter = 0;
    Q_EMIT accepted(socket, QStringLiteral("unix:%1#%2").arg(endpoint_.path).arg(++counter),
                    unixPeerIdentity(static_cast<int>(socket->socketDescriptor())));
}

void onSocketClosed(QIODevice* socket, QObject* context, std::function<void()> closed)
{
    if (auto* tcp = qobject_cast<QAbstractSocket*>(socket))
        QObject::connect(tcp, &QAbstractSocket::disconnected, context, closed);
    else if (auto* local = qobject_cast<QLocalSocket*>(socket))
        QObject::connect(local, &QLocalSocket::disconnected, context, closed);
}

void abortSocket(QIODevice* socket)
{
    if (auto* tcp = qobject_cast<QAbstractSocket*>(socket))
        tcp->abort();
    else if (auto* local = qobject_cast<QLocalSocket*>(socket))
        local->abort();
    else
        socket->close();
}

void closeAfterWrites(QIODevice* socket)
{
    socket->setParent(nullptr);
    QTimer::singleShot(5000, socket, &QObject::deleteLater);
    onSocketClosed(socket, socket, [socket] { socket->deleteLater(); });
    if (auto* tcp = qobject_cast<QAbstractSocket*>(socket))
        tcp->disconnectFromHost();
    else if (auto* local = qobject_cast<QLocalSocket*>(socket))
        local->disconnectFromServer();
}

} // namespace vscard::server
