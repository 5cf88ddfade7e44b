// One VSCard client connection: decodes its messages, answers as QEMU's ccid-card-passthru does
// (and beyond: many readers, extended APDUs, power), and keeps the registry in step. When the
// connection ends, however it ends, its readers and cards are gone at once.
#pragma once

#include "reader_registry.h"
#include "server_options.h"
#include "vscard/policy/access_policy.h"
#include "vscard/secret_responses.h"
#include "vscard/trace.h"
#include "vscard/vscard_wire.h"

#include "token_bucket.h"

#include <QIODevice>
#include <QObject>
#include <QPointer>
#include <QTimer>

#include <chrono>
#include <map>
#include <memory>

namespace vscard::server {

// Why a client is let in and what it may do: its identity for the logs, and the policy rule
// that admitted it ("FILE:LINE"; empty without a policy).
struct ClientAuthorization {
    QString identity;
    QString key; // the identity's key, as --client-connections counts it
    QString rule;
    policy::Grant grant;
    // Readers held by every connection of this identity under this rule (readers=).
    std::shared_ptr<int> ruleReaders;
};

class ClientSession : public QObject, public CardSideSender {
    Q_OBJECT

public:
    // Takes ownership of the socket. The owner calls onDisconnected() when it closes.
    ClientSession(QIODevice* socket, QString peer, ClientAuthorization authorization,
                  ReaderRegistry& registry, ClientLimits limits, QObject* parent = nullptr);
    ~ClientSession() override;

    const QString& peer() const { return peer_; }
    const QString& identityKey() const { return authorization_.key; }
    // How long the client has held no reader (since it connected, or since its last reader
    // went); nullopt while it holds one. Clients that hold readers keep their places.
    std::optional<std::chrono::milliseconds>
    readerlessFor(std::chrono::steady_clock::time_point now) const;
    // Drops a readerless client whose place `newcomer` needs.
    void giveUpPlace(const QString& newcomer);
    void sendToCardSide(MessageType type, std::uint32_t readerId, const Bytes& payload) override;

public Q_SLOTS:
    void onReadyRead() noexcept;
    void onDisconnected() noexcept;

Q_SIGNALS:
    // The connection is over and every reader it had is gone; the session may be deleted.
    void finished();

private:
    // Decodes and handles what has arrived, as fast as the message rate allows.
    void pump();
    void pauseReading(int milliseconds);
    // One --trace line; `secrecy` from observeMessage, which sees every message.
    void traceMessage(const Message& message, trace::Direction direction, trace::Secrecy secrecy);
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
    // Why this client may not add a reader named NAME now and the answer it gets, or nullopt.
    std::optional<std::pair<QString, ErrorCode>> readerRefusal(const QString& name) const;
    // "the policy rule at FILE:LINE" that admitted this client, for refusals it decides.
    QString ruleName() const;
    // Drops the client when one of its cards has kept an operation waiting longer than
    // --card-answer-timeout: VSCard answers carry no sequence number, so a late answer
    // could only be taken for the next command's.
    void checkAnswers();

    QPointer<QIODevice> socket_;
    QString peer_;
    ReaderRegistry& registry_;
    ClientAuthorization authorization_;
    ClientLimits limits_;
    MessageDecoder decoder_;
    std::optional<TokenBucket> rate_; // --client-rate
    QTimer resumeTimer_;              // reading paused by the rate
    QTimer idleTimer_;                // --client-idle, and the first message's deadline
    QTimer answerWatch_;              // --card-answer-timeout, checked every second
    bool receivedMessage_ = false;
    std::chrono::steady_clock::time_point readerlessSince_ = std::chrono::steady_clock::now();
    bool rateWarned_ = false;
    trace::SecretResponses secrets_; // which answers traces must mask
    std::optional<InitPayload> peerInit_;
    std::map<std::uint32_t, int> readers_;                     // client reader id -> registry index
    std::map<std::uint32_t, std::weak_ptr<RemoteCard>> cards_; // where its answers go
    bool released_ = false;
};

} // namespace vscard::server
