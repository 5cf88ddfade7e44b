// A TCP server whose connections become clients only once their TLS handshake is done.
// QSslServer does the same but closes a connection whose first byte is not a TLS record
// without telling anyone, and gives no word when a handshake times out; a refused client
// must leave a log line naming it and saying why (issue 11), so this one peeks at the first
// byte itself and reports every failure through handshakeFailed.
#pragma once

#include <QSslConfiguration>
#include <QSslError>
#include <QTcpServer>

class QSslSocket;

namespace vscard::server {

class TlsServer : public QTcpServer {
    Q_OBJECT

public:
    TlsServer(QSslConfiguration configuration, int handshakeTimeoutMs, QObject* parent = nullptr);

Q_SIGNALS:
    // Once per refused connection: its address and port, and why, in words.
    void handshakeFailed(const QString& peer, const QString& reason);

protected:
    void incomingConnection(qintptr descriptor) override;

private:
    void startHandshake(qintptr descriptor, const QString& peer);
    void refuse(QSslSocket* socket, const QString& peer, const QString& reason);

    QSslConfiguration configuration_;
    int handshakeTimeoutMs_;
};

} // namespace vscard::server
