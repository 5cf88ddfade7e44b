// Listens on one endpoint, TCP or Unix, and hands out each accepted connection as a QIODevice.
#pragma once

#include "vscard/qt/endpoint.h"

#include <QObject>

#include <functional>
#include <memory>

class QTcpServer;
class QLocalServer;

namespace vscard::server {

class StreamListener : public QObject {
    Q_OBJECT

public:
    // unixMode: the permissions of a Unix socket, 0600 unless the user says otherwise.
    StreamListener(Endpoint endpoint, int unixMode, QObject* parent = nullptr);
    ~StreamListener() override;

    // An empty string when listening, else why not.
    QString listen();
    // The endpoint as bound (a TCP port of 0 becomes the real one).
    Endpoint boundEndpoint() const;

Q_SIGNALS:
    // A new connection; the receiver takes ownership of the socket.
    void accepted(QIODevice* socket, const QString& peer);

private:
    void acceptTcp();
    void acceptLocal();

    Endpoint endpoint_;
    int unixMode_;
    QTcpServer* tcp_ = nullptr;
    QLocalServer* local_ = nullptr;
};

// Calls `closed` once when the socket (a QTcpSocket or QLocalSocket) disconnects.
void onSocketClosed(QIODevice* socket, QObject* context, std::function<void()> closed);
// Drops the connection at once, unsent data included.
void abortSocket(QIODevice* socket);
// Closes the connection once what was written has gone; the socket, taken from its parent,
// deletes itself then, or after 5 s if the peer never reads.
void closeAfterWrites(QIODevice* socket);

} // namespace vscard::server
