// Listens on one endpoint, TCP or Unix, and hands out each accepted connection as a QIODevice.
#pragma once

#include "vscard/policy/access_policy.h"
#include "vscard/qt/endpoint.h"

#include <QObject>
#include <QSslConfiguration>

#include <functional>
#include <memory>

class QAbstractSocket;
class QTcpServer;
class QTcpSocket;
class QLocalServer;
class QLocalSocket;
class QSocketNotifier;

namespace vscard::server {

class StreamListener : public QObject {
    Q_OBJECT

public:
    // unixMode: the permissions of a Unix socket, 0600 unless the user says otherwise.
    StreamListener(Endpoint endpoint, int unixMode, QObject* parent = nullptr);
    ~StreamListener() override;

    // For a tls: endpoint, before listen() or adopt(): the server's TLS configuration.
    void setTls(const QSslConfiguration& configuration) { tls_ = configuration; }
    // An empty string when listening, else why not.
    QString listen();
    // Listens on a socket the service manager bound and handed over (socket activation)
    // instead of binding one; the socket file, if any, stays the service manager's.
    QString adopt(int fd);
    // The endpoint it was asked for (for an inherited socket, where that listens).
    const Endpoint& endpoint() const { return endpoint_; }
    bool adopted() const { return adopted_; }
    // The endpoint as bound (a TCP port of 0 becomes the real one).
    Endpoint boundEndpoint() const;

Q_SIGNALS:
    // A new connection; the receiver takes ownership of the socket. `identity`: what the
    // server knows of the peer (address; TLS certificate; Unix peer credentials).
    void accepted(QIODevice* socket, const QString& peer, const policy::PeerIdentity& identity);

private:
    void acceptTcp();
    void announce(QTcpSocket* socket);
    QTcpServer* makeTcpServer();
    void acceptLocal();
    void announceLocal(QLocalSocket* socket);
    void acceptInheritedUnix();

    Endpoint endpoint_;
    int unixMode_;
    QTcpServer* tcp_ = nullptr;
    QLocalServer* local_ = nullptr;
    // An inherited Unix socket is served by hand: QLocalServer deletes its socket file when
    // it closes, and that file belongs to the service manager.
    QSocketNotifier* inheritedUnix_ = nullptr;
    int inheritedFd_ = -1;
    bool adopted_ = false;
    QSslConfiguration tls_;
};

// Calls `closed` once when the socket (a QTcpSocket or QLocalSocket) disconnects.
void onSocketClosed(QIODevice* socket, QObject* context, std::function<void()> closed);
// Drops the connection at once, unsent data included.
void abortSocket(QIODevice* socket);
// Closes the connection once what was written has gone; the socket, taken from its parent,
// deletes itself then, or after 5 s if the peer never reads.
void closeAfterWrites(QIODevice* socket);

} // namespace vscard::server
