// The connection to a VSCard host (server-ccid, QEMU's ccid-card-passthru): connects, says
// Init and waits for the host's, sends each message in one write, decodes what comes back,
// and reconnects with backoff when the connection drops (if asked to).
#pragma once

#include "vscard/qt/endpoint.h"
#include "vscard/secret_responses.h"
#include "vscard/vscard_wire.h"

#include <QObject>
#include <QPointer>
#include <QSslConfiguration>
#include <QTimer>

#include <optional>

class QIODevice;

namespace vscard::client {

struct LinkSettings {
    bool reconnect = true;
    int firstBackoffMs = 250;
    int maxBackoffMs = 8000;
    std::uint32_t capabilities = capability::ExtendedApdu | capability::CardPower;
    // For a tls: host: what to trust and what to show; with a pin, the pin alone decides.
    std::optional<QSslConfiguration> tls;
    QString tlsPin;
};

class HostLink : public QObject {
    Q_OBJECT

public:
    HostLink(Endpoint endpoint, LinkSettings settings, QObject* parent = nullptr);
    ~HostLink() override;

    void start();
    // Closes the connection and stops reconnecting.
    void stop();
    bool isReady() const { return hostInit_.has_value(); }
    // A capability both sides announced.
    bool negotiated(std::uint32_t capability) const;
    // A host that announced nothing beyond QEMU's: it keeps state across connections.
    bool hostIsLegacy() const;
    QString peer() const { return endpoint_.toString(); }
    // Sends one message in one write; false when not connected.
    bool send(MessageType type, std::uint32_t readerId, ByteView payload = {});

Q_SIGNALS:
    // The host answered Init: messages may flow.
    void ready();
    void messageReceived(const vscard::Message& message);
    // The connection is gone (a reconnection follows if enabled).
    void lost(const QString& reason);
    // No connection and no more attempts.
    void failed(const QString& reason);

private:
    void connectNow();
    void onConnected();
    void onReadyRead();
    void onClosed(const QString& reason);
    void drop(const QString& reason);
    void scheduleReconnect(const QString& reason);
    void armQuickAck();
    void connectTls();

    Endpoint endpoint_;
    LinkSettings settings_;
    QPointer<QIODevice> socket_;
    MessageDecoder decoder_;
    trace::SecretResponses secrets_; // which answers the vscard.wire trace masks
    std::optional<InitPayload> hostInit_;
    QTimer reconnectTimer_;
    int backoffMs_;
    bool stopped_ = false;
    bool closing_ = false;
    QString tlsFailure_; // why the handshake failed, in words, once known
};

} // namespace vscard::client
