#include "tls_handshaker.h"

#include "vscard/qt/tls.h"

#include <QSocketNotifier>
#include <QSslSocket>
#include <QTimer>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace vscard::server {

namespace {

constexpr unsigned char kTlsHandshakeRecord = 0x16;

QString peerOf(qintptr descriptor)
{
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getpeername(static_cast<int>(descriptor), reinterpret_cast<sockaddr*>(&address),
                      &length) != 0)
        return QStringLiteral("tls:?");
    const QHostAddress host(reinterpret_cast<const sockaddr*>(&address));
    const quint16 port = ntohs(address.ss_family == AF_INET6
                                   ? reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port
                                   : reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
    const QString shown = host.protocol() == QAbstractSocket::IPv6Protocol
                              ? "[" + host.toString() + "]"
                              : host.toString();
    return QStringLiteral("tls:%1:%2").arg(shown).arg(port);
}

// Turns what OpenSSL says into what happened.
QString explain(QSslSocket* socket, QAbstractSocket::SocketError error)
{
    const QString text = socket->errorString();
    if (error == QAbstractSocket::RemoteHostClosedError)
        return QStringLiteral("it closed the connection during the handshake (it may not "
                              "trust our certificate: its log says)");
    if (text.contains(QLatin1String("unsupported protocol")))
        return QStringLiteral("it offers only TLS versions below the minimum (TLS 1.3 unless "
                              "--tls-min-version 1.2)");
    if (text.contains(QLatin1String("did not return a certificate")) ||
        text.contains(QLatin1String("did not present any certificate")))
        return QStringLiteral("it sent no client certificate (mutual TLS: --tls-client-ca)");
    if (text.contains(QLatin1String("wrong version number")) ||
        text.contains(QLatin1String("unexpected message")) ||
        text.contains(QLatin1String("http request")))
        return QStringLiteral("it does not speak TLS (a plaintext client?)");
    return text;
}

} // namespace

TlsHandshaker::TlsHandshaker(QSslConfiguration configuration, int handshakeTimeoutMs,
                             QObject* parent)
    : QObject(parent), configuration_(std::move(configuration)),
      handshakeTimeoutMs_(handshakeTimeoutMs)
{
}

void TlsHandshaker::take(qintptr descriptor)
{
    const QString peer = peerOf(descriptor);
    // Wait for the first byte without reading it: a TLS client starts with a handshake record.
    auto* firstByte = new QSocketNotifier(descriptor, QSocketNotifier::Read, this);
    auto* deadline = new QTimer(firstByte);
    deadline->setSingleShot(true);
    connect(deadline, &QTimer::timeout, this, [this, firstByte, descriptor, peer] {
        Q_EMIT handshakeFailed(
            peer, QStringLiteral("it sent nothing for %1 s").arg(handshakeTimeoutMs_ / 1000));
        firstByte->deleteLater();
        ::close(static_cast<int>(descriptor));
    });
    connect(firstByte, &QSocketNotifier::activated, this, [this, firstByte, descriptor, peer] {
        firstByte->setEnabled(false);
        firstByte->deleteLater();
        unsigned char byte = 0;
        const ssize_t got = ::recv(static_cast<int>(descriptor), &byte, 1, MSG_PEEK);
        if (got == 1 && byte == kTlsHandshakeRecord) {
            startHandshake(descriptor, peer);
            return;
        }
        Q_EMIT handshakeFailed(peer, got == 1 ? QStringLiteral("it does not speak TLS (a plaintext "
                                                               "client?)")
                                              : QStringLiteral("it closed the connection at once"));
        ::close(static_cast<int>(descriptor));
    });
    deadline->start(handshakeTimeoutMs_);
}

void TlsHandshaker::startHandshake(qintptr descriptor, const QString& peer)
{
    auto* socket = new QSslSocket(this);
    if (!socket->setSocketDescriptor(descriptor)) {
        ::close(static_cast<int>(descriptor));
        socket->deleteLater();
        return;
    }
    socket->setSslConfiguration(configuration_);
    connect(socket, &QSslSocket::sslErrors, this, [this, socket, peer](const QList<QSslError>& e) {
        refuse(socket, peer, tls::describe(e, QStringLiteral("its")));
    });
    connect(socket, &QAbstractSocket::errorOccurred, this,
            [this, socket, peer](QAbstractSocket::SocketError error) {
                if (!socket->isEncrypted())
                    refuse(socket, peer, explain(socket, error));
            });
    connect(socket, &QSslSocket::encrypted, this, [this, socket] {
        socket->disconnect(this);
        socket->setParent(nullptr); // the session that takes it owns it
        Q_EMIT encrypted(socket);
    });
    QTimer::singleShot(handshakeTimeoutMs_, socket, [this, socket, peer] {
        if (!socket->isEncrypted())
            refuse(socket, peer,
                   QStringLiteral("no handshake within %1 s").arg(handshakeTimeoutMs_ / 1000));
    });
    socket->startServerEncryption();
}

void TlsHandshaker::refuse(QSslSocket* socket, const QString& peer, const QString& reason)
{
    // OpenSSL may report one failure through several signals: one line per connection.
    if (socket->property("vscardRefused").toBool())
        return;
    socket->setProperty("vscardRefused", true);
    Q_EMIT handshakeFailed(peer, reason);
    socket->abort();
    socket->deleteLater();
}

} // namespace vscard::server
