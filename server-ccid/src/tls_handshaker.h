// Turns accepted TCP connections into clients only once their TLS handshake is done.
// QSslServer does the same but closes a connection whose first byte is not a TLS record
// without telling anyone, and gives no word when a handshake times out; a refused client
// must leave a log line naming it and saying why (issue 11), so this one peeks at the first
// byte itself and reports every failure through handshakeFailed. It accepts nothing itself:
// the listener does (StreamListener), and hands it each connection's descriptor.
#pragma once

#include <QObject>
#include <QSslConfiguration>
#include <QSslError>

class QSslSocket;

namespace vscard::server {

class TlsHandshaker : public QObject {
    Q_OBJECT

public:
    TlsHandshaker(QSslConfiguration configuration, int handshakeTimeoutMs,
                  QObject* parent = nullptr);

    // A connection just accepted; it owns the descriptor from here on.
    void take(qintptr descriptor);

Q_SIGNALS:
    // Once per connection whose handshake succeeded: the receiver takes the socket.
    void encrypted(QSslSocket* socket);
    // Once per refused connection: its address and port, and why, in words.
    void handshakeFailed(const QString& peer, const QString& reason);

private:
    void startHandshake(qintptr descriptor, const QString& peer);
    void refuse(QSslSocket* socket, const QString& peer, const QString& reason);

    QSslConfiguration configuration_;
    int handshakeTimeoutMs_;
};

} // namespace vscard::server
