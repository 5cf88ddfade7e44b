// One VSCard client connection: decodes its messages, answers as QEMU's ccid-card-passthru does
// (and beyond: many readers, extended APDUs, power), and keeps the registry in step. When the
// connection ends, however it ends, its readers and cards are gone at once.
#pragma once

#include "reader_registry.h"
#include "vscard/vscard_wire.h"

#include <QIODevice>
#include <QObject>
#include <QPointer>

#include <map>

namespace vscard::server {

struct SessionLimits {
    std::size_t maxPayload = kDefaultMaxPayload;
    // A peer that leaves this much unread is dropped rather than buffered without end.
    qint64 maxWriteBacklog = 8 * 1024 * 1024;
};

class ClientSession : public QObject, public CardSideSender {
    Q_OBJECT

public:
    // Takes ownership of the socket. The owner calls onDisconnected() when it closes.
    ClientSession(QIODevice* socket, QString peer, ReaderRegistry& registry, SessionLimits limits,
                  QObject* parent = nullptr);
    ~ClientSession() override;

    const QString& peer() const { return peer_; }
    void sendToCardSide(MessageType type, std::uint32_t readerId, const Bytes& payload) override;

public Q_SLOTS:
    void onReadyRead() noexcept;
    void onDisconnected() noexcept;

Q_SIGNALS:
    // The connection is over and every reader it had is gone; the session may be deleted.
    void finished();

private:
    void handle(const Message& message);
    void handleInit(const Message& message);
    void handleReaderAdd(const Message& message);
    void handleAtr(const Message& message);
    void toCard(const Message& message);
    void send(MessageType type, std::uint32_t readerId, const Bytes& payload);
    void acknowledge(std::uint32_t readerId, ErrorCode code);
    // Logs the fault, closes the connection and releases everything the client had.
    void drop(const QString& reason);
    void release();
    std::optional<int> registryIndex(std::uint32_t readerId) const;
    std::uint32_t lowestFreeReaderId() const;

    QPointer<QIODevice> socket_;
    QString peer_;
    ReaderRegistry& registry_;
    SessionLimits limits_;
    MessageDecoder decoder_;
    std::optional<InitPayload> peerInit_;
    std::map<std::uint32_t, int> readers_;                     // client reader id -> registry index
    std::map<std::uint32_t, std::weak_ptr<RemoteCard>> cards_; // where its answers go
    bool released_ = false;
};

} // namespace vscard::server
