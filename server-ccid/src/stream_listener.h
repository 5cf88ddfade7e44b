// Listens on one endpoint, TCP or Unix, and hands out each accepted connection as a QIODevice.
// It outlives descriptor exhaustion: connections are refused before the last descriptors
// (kept for trusted peers, DescriptorBudget), and accepting that failed for want of them
// resumes by itself (AcceptOutage), with one log line when that starts and one when it ends.
#pragma once

#include "vscard/policy/access_policy.h"
#include "vscard/qt/endpoint.h"

#include <QObject>
#include <QSslConfiguration>

#include <functional>
#include <memory>

class QLocalSocket;
class QSocketNotifier;
class QTcpSocket;

namespace vscard::server {

class AcceptOutage;
class TlsHandshaker;

class StreamListener : public QObject {
    Q_OBJECT

public:
    // unixMode: the permissions of a Unix socket, 0600 unless the user says otherwise.
    StreamListener(Endpoint endpoint, int unixMode, QObject* parent = nullptr);
    ~StreamListener() override;

    // For a tls: endpoint, before listen() or adopt(): the server's TLS configuration.
    void setTls(const QSslConfiguration& configuration) { tls_ = configuration; }
    // Its peers may use the descriptors kept in reserve (pcscd's driver link).
    void setTrusted(bool trusted) { trusted_ = trusted; }
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
    // False when other machines can reach it: a TCP or TLS socket bound to an address that is
    // not loopback (0.0.0.0, ::, a host's own address).
    bool loopbackOnly() const;

Q_SIGNALS:
    // A new connection; the receiver takes ownership of the socket. `identity`: what the
    // server knows of the peer (address; TLS certificate; Unix peer credentials).
    void accepted(QIODevice* socket, const QString& peer, const policy::PeerIdentity& identity);

private:
    QString bindTcp();
    QString bindUnix();
    QString failure(const QString& what, int error) const;
    void watch(int fd);
    void acceptReady();
    void serve(int connection);
    void announceTcp(QTcpSocket* socket);
    void announceLocal(QLocalSocket* socket);

    Endpoint endpoint_;
    int unixMode_;
    bool trusted_ = false;
    // Every kind is accepted by hand, not by QTcpServer or QLocalServer: on EMFILE Qt 6.4's
    // QTcpServer retries accept() in a busy loop, and QLocalServer closes itself and deletes
    // its socket file (pcscd could never connect again).
    int fd_ = -1;
    QSocketNotifier* ready_ = nullptr;
    bool ownsSocketFile_ = false; // a Unix socket we bound, not the service manager
    AcceptOutage* outage_ = nullptr;
    TlsHandshaker* handshaker_ = nullptr; // tls: endpoints
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
