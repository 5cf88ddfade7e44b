#include "stream_listener.h"

#include <QFile>
#include <QLocalServer>
#include <QLocalSocket>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

#include <QSocketNotifier>
#include <QSslSocket>

#include "audit_trail.h"
#include "logging.h"
#include "tls_server.h"
#include "vscard/qt/tls.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
    if (local_)
        QLocalServer::removeServer(endpoint_.path);
    if (inheritedFd_ >= 0)
        ::close(inheritedFd_);
}

QTcpServer* StreamListener::makeTcpServer()
{
    if (endpoint_.kind != Endpoint::Kind::Tls)
        return new QTcpServer(this);
    auto* server = new TlsServer(tls_, kHandshakeTimeoutMs, this);
    connect(server, &TlsServer::handshakeFailed, this,
            [](const QString& peer, const QString& reason) {
                qCWarning(lcServer).noquote()
                    << "client" << peer << "refused, TLS handshake failed:" << reason;
                qCInfo(lcAudit).noquote()
                    << QStringLiteral("refuse %1: TLS handshake failed: %2").arg(peer, reason);
            });
    return server;
}

QString StreamListener::adopt(int fd)
{
    adopted_ = true;
    if (endpoint_.isNetwork()) {
        tcp_ = makeTcpServer();
        if (!tcp_->setSocketDescriptor(fd))
            return QStringLiteral("%1 (inherited): %2")
                .arg(endpoint_.toString(), tcp_->errorString());
        connect(tcp_, &QTcpServer::pendingConnectionAvailable, this, &StreamListener::acceptTcp);
        return {};
    }
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
        return QStringLiteral("%1 (inherited): %2")
            .arg(endpoint_.toString(), QString::fromLocal8Bit(std::strerror(errno)));
    inheritedFd_ = fd;
    inheritedUnix_ = new QSocketNotifier(fd, QSocketNotifier::Read, this);
    connect(inheritedUnix_, &QSocketNotifier::activated, this,
            &StreamListener::acceptInheritedUnix);
    return {};
}

void StreamListener::acceptInheritedUnix()
{
    for (;;) {
        const int connection = ::accept4(inheritedFd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (connection < 0)
            return; // EAGAIN: all taken; anything else: the next readiness tells again
        auto* socket = new QLocalSocket(this);
        if (!socket->setSocketDescriptor(connection)) {
            ::close(connection);
            delete socket;
            continue;
        }
        announceLocal(socket);
    }
}

QString StreamListener::listen()
{
    if (endpoint_.isNetwork()) {
        tcp_ = makeTcpServer();
        QHostAddress address;
        if (!address.setAddress(endpoint_.host)) {
            if (endpoint_.host == QLatin1String("localhost"))
                address = QHostAddress::LocalHost;
            else
                return QStringLiteral("%1: \"%2\" is not an IP address")
                    .arg(endpoint_.toString(), endpoint_.host);
        }
        if (!tcp_->listen(address, endpoint_.port))
            return QStringLiteral("%1: %2").arg(endpoint_.toString(), tcp_->errorString());
        connect(tcp_, &QTcpServer::pendingConnectionAvailable, this, &StreamListener::acceptTcp);
        return {};
    }
    local_ = new QLocalServer(this);
    QLocalServer::removeServer(endpoint_.path); // a stale socket of an earlier run
    // Create the socket with no access for others, then open it up to the requested mode, so
    // that nobody connects in between.
    const mode_t previousMask = ::umask(0077);
    const bool listening = local_->listen(endpoint_.path);
    ::umask(previousMask);
    if (!listening)
        return QStringLiteral("%1: %2").arg(endpoint_.toString(), local_->errorString());
    if (::chmod(QFile::encodeName(endpoint_.path).constData(), static_cast<mode_t>(unixMode_)) != 0)
        return QStringLiteral("%1: cannot set mode %2")
            .arg(endpoint_.toString())
            .arg(unixMode_, 0, 8);
    connect(local_, &QLocalServer::newConnection, this, &StreamListener::acceptLocal);
    return {};
}

Endpoint StreamListener::boundEndpoint() const
{
    Endpoint bound = endpoint_;
    if (tcp_)
        bound.port = tcp_->serverPort();
    return bound;
}

void StreamListener::acceptTcp()
{
    while (QTcpSocket* socket = tcp_->nextPendingConnection()) {
        announce(socket);
    }
}

void StreamListener::announce(QTcpSocket* socket)
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

void StreamListener::acceptLocal()
{
    while (QLocalSocket* socket = local_->nextPendingConnection())
        announceLocal(socket);
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
