#include "host_link.h"

#include "logging.h"
#include "vscard/qt/socket_reader.h"
#include "vscard/qt/socket_writer.h"
#include "vscard/trace.h"

#include "vscard/qt/tls.h"

#include <QLocalSocket>
#include <QSslSocket>
#include <QTcpSocket>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace vscard::client {

HostLink::HostLink(Endpoint endpoint, LinkSettings settings, QObject* parent)
    : QObject(parent), endpoint_(std::move(endpoint)), settings_(settings),
      backoffMs_(settings.firstBackoffMs)
{
    reconnectTimer_.setSingleShot(true);
    connect(&reconnectTimer_, &QTimer::timeout, this, &HostLink::connectNow);
}

HostLink::~HostLink()
{
    stopped_ = true;
    if (socket_)
        socket_->disconnect(this);
}

void HostLink::start()
{
    stopped_ = false;
    connectNow();
}

void HostLink::stop()
{
    stopped_ = true;
    reconnectTimer_.stop();
    if (socket_) {
        QIODevice* socket = socket_;
        socket_ = nullptr;
        // What was sent last (an answer, a removal) reaches the host before we go.
        if (socket->bytesToWrite() > 0)
            socket->waitForBytesWritten(2000);
        socket->disconnect(this);
        socket->close();
        socket->deleteLater();
    }
    hostInit_.reset();
}

bool HostLink::negotiated(std::uint32_t capability) const
{
    return hostInit_ && hostInit_->has(capability) && (settings_.capabilities & capability);
}

bool HostLink::hostIsLegacy() const
{
    return !hostInit_ || !hostInit_->has(capability::ExtendedApdu | capability::CardPower);
}

void HostLink::connectNow()
{
    if (stopped_ || socket_)
        return;
    decoder_ = MessageDecoder();
    secrets_ = trace::SecretResponses();
    hostInit_.reset();
    closing_ = false;
    tlsFailure_.clear();
    if (endpoint_.kind == Endpoint::Kind::Tls) {
        connectTls();
    } else if (endpoint_.kind == Endpoint::Kind::Tcp) {
        auto* socket = new QTcpSocket(this);
        socket_ = socket;
        connect(socket, &QTcpSocket::connected, this, &HostLink::onConnected);
        connect(socket, &QTcpSocket::errorOccurred, this,
                [this, socket] { onClosed(socket->errorString()); });
        socket->connectToHost(endpoint_.host, endpoint_.port);
    } else {
        auto* socket = new QLocalSocket(this);
        socket_ = socket;
        connect(socket, &QLocalSocket::connected, this, &HostLink::onConnected);
        connect(socket, &QLocalSocket::errorOccurred, this,
                [this, socket] { onClosed(socket->errorString()); });
        socket->connectToServer(endpoint_.path);
    }
    connect(socket_, &QIODevice::readyRead, this, &HostLink::onReadyRead);
}

void HostLink::connectTls()
{
    auto* socket = new QSslSocket(this);
    socket_ = socket;
    socket->setSslConfiguration(settings_.tls.value_or(QSslConfiguration::defaultConfiguration()));
    // Messages may flow once the handshake is done, not when TCP connects.
    connect(socket, &QSslSocket::encrypted, this, [this, socket] {
        const QSslCertificate server = socket->peerCertificate();
        qCInfo(lcClient).noquote()
            << "TLS with" << peer() << "server certificate" << server.subjectDisplayName()
            << "sha256" << tls::fingerprint(server);
        onConnected();
    });
    connect(socket, &QSslSocket::sslErrors, this, [this, socket](const QList<QSslError>& errors) {
        if (!settings_.tlsPin.isEmpty()) {
            // Pinned: the certificate's own validity still counts, its chain and name do not.
            QList<QSslError> remaining;
            for (const QSslError& error : errors)
                if (error.error() == QSslError::CertificateExpired ||
                    error.error() == QSslError::CertificateNotYetValid)
                    remaining << error;
            const QSslCertificate presented = socket->peerCertificate();
            if (remaining.isEmpty() && tls::pinMatches(settings_.tlsPin, presented)) {
                socket->ignoreSslErrors(errors);
                return;
            }
            if (remaining.isEmpty()) {
                tlsFailure_ = QStringLiteral("the server's certificate has SHA-256 %1, not the "
                                             "pinned %2")
                                  .arg(tls::fingerprint(presented), settings_.tlsPin);
                return;
            }
            tlsFailure_ = tls::describe(remaining, QStringLiteral("the server's"));
            return;
        }
        tlsFailure_ = tls::describe(errors, QStringLiteral("the server's"));
    });
    connect(
        socket, &QSslSocket::alertReceived, this,
        [this](QSsl::AlertLevel level, QSsl::AlertType type, const QString& description) {
            if (level != QSsl::AlertLevel::Fatal || !tlsFailure_.isEmpty())
                return;
            tlsFailure_ =
                type == QSsl::AlertType::CertificateRequired
                    ? QStringLiteral("the server requires a client certificate "
                                     "(--tls-cert, --tls-key)")
                    : QStringLiteral("the server refused the TLS handshake: %1").arg(description);
        });
    connect(socket, &QSslSocket::errorOccurred, this, [this, socket] {
        QString reason = tlsFailure_.isEmpty() ? socket->errorString() : tlsFailure_;
        // In TLS 1.3 the server judges our certificate after our side of the handshake is
        // done, and drops us without an alert we could read: the timing tells.
        if (tlsFailure_.isEmpty() && socket->isEncrypted() && !hostInit_)
            reason = socket->sslConfiguration().localCertificate().isNull()
                         ? QStringLiteral("the server closed the connection right after the "
                                          "TLS handshake: it requires a client certificate "
                                          "(--tls-cert, --tls-key)")
                         : QStringLiteral("the server closed the connection right after the "
                                          "TLS handshake: it did not accept our certificate "
                                          "(its log says why)");
        if (tlsFailure_.isEmpty() && reason.contains(QLatin1String("unsupported protocol")))
            reason = QStringLiteral("the server does not accept our TLS versions "
                                    "(--tls-min-version)");
        if (!socket->isEncrypted())
            reason = QStringLiteral("TLS handshake failed: %1").arg(reason);
        onClosed(reason);
    });
    socket->connectToHostEncrypted(endpoint_.host, endpoint_.port);
}

void HostLink::onConnected()
{
    if (auto* tcp = qobject_cast<QTcpSocket*>(socket_.data())) {
        // Every message goes out in one write; Nagle would hold the next one back.
        tcp->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        connect(tcp, &QTcpSocket::disconnected, this,
                [this] { onClosed(QStringLiteral("the host closed the connection")); });
        armQuickAck();
    } else if (auto* local = qobject_cast<QLocalSocket*>(socket_.data())) {
        connect(local, &QLocalSocket::disconnected, this,
                [this] { onClosed(QStringLiteral("the host closed the connection")); });
    }
    qCInfo(lcClient).noquote() << "connected to" << peer();
    InitPayload init;
    init.capabilities = {settings_.capabilities};
    const Bytes message = encodeInit(kUndefinedReaderId, init);
    send(MessageType::Init, kUndefinedReaderId,
         ByteView(message).subspan(kHeaderSize, message.size() - kHeaderSize));
}

// QEMU writes a message in pieces; with delayed ACKs each piece after the first waits for
// our ACK timer. Linux clears TCP_QUICKACK after a while, so it is set again after every read.
void HostLink::armQuickAck()
{
    // VSCARD_CLIENT_NO_QUICKACK=1 leaves delayed ACKs on: for the latency benchmark only.
    static const bool disabled = qEnvironmentVariableIntValue("VSCARD_CLIENT_NO_QUICKACK") != 0;
    auto* tcp = qobject_cast<QTcpSocket*>(socket_.data());
    if (disabled || !tcp || tcp->socketDescriptor() < 0)
        return;
    const int on = 1;
    ::setsockopt(static_cast<int>(tcp->socketDescriptor()), IPPROTO_TCP, TCP_QUICKACK, &on,
                 sizeof on);
}

bool HostLink::send(MessageType type, std::uint32_t readerId, ByteView payload)
{
    if (!socket_ || closing_)
        return false;
    const Bytes message = encodeMessage(type, readerId, payload);
    // Observed whether traced or not: tracing may start between a command and its answer.
    const auto secrecy =
        trace::observeMessage(secrets_, type, readerId, payload, trace::Direction::ClientToHost);
    if (lcWire().isDebugEnabled())
        qCDebug(lcWire).noquote() << "->" << peer()
                                  << QString::fromStdString(trace::describeMessage(
                                         Message{type, readerId,
                                                 Bytes(payload.begin(), payload.end())},
                                         trace::Direction::ClientToHost, secrecy));
    const qint64 written = writeNow(*socket_, message);
    return written == static_cast<qint64>(message.size());
}

void HostLink::onReadyRead()
{
    if (!socket_)
        return;
    readAndDecode(
        *socket_, decoder_, closing_,
        [this](const Message& message) {
            const auto secrecy =
                trace::observeMessage(secrets_, message, trace::Direction::HostToClient);
            if (lcWire().isDebugEnabled())
                qCDebug(lcWire).noquote() << "<-" << peer()
                                          << QString::fromStdString(trace::describeMessage(
                                                 message, trace::Direction::HostToClient, secrecy));
            if (message.type == MessageType::Init) {
                const bool first = !hostInit_;
                hostInit_ = *parseInitPayload(message.payload); // the decoder checked it
                if (first) {
                    backoffMs_ = settings_.firstBackoffMs;
                    qCInfo(lcClient).noquote()
                        << "host" << peer() << "ready"
                        << (hostIsLegacy() ? "(announces nothing beyond QEMU's protocol)"
                                           : "(extended APDUs, card power)");
                    Q_EMIT ready();
                }
                return;
            }
            if (!hostInit_) {
                drop(QStringLiteral("%1 before the host's Init")
                         .arg(QString::fromLatin1(messageTypeName(message.type).data())));
                return;
            }
            Q_EMIT messageReceived(message);
        },
        [this](const QString& error) { drop(error); });
    armQuickAck();
}

void HostLink::drop(const QString& reason)
{
    qCWarning(lcClient).noquote() << "host" << peer() << ":" << reason << "- disconnecting";
    onClosed(reason);
}

void HostLink::onClosed(const QString& reason)
{
    if (!socket_ || closing_)
        return;
    closing_ = true;
    QIODevice* socket = socket_;
    socket_ = nullptr;
    socket->disconnect(this);
    socket->close();
    socket->deleteLater();
    const bool wasReady = hostInit_.has_value();
    hostInit_.reset();
    if (wasReady)
        Q_EMIT lost(reason);
    scheduleReconnect(reason);
}

void HostLink::scheduleReconnect(const QString& reason)
{
    if (stopped_)
        return;
    if (!settings_.reconnect) {
        Q_EMIT failed(QStringLiteral("%1: %2").arg(peer(), reason));
        return;
    }
    qCInfo(lcClient).noquote() << "host" << peer() << ":" << reason << "- trying again in"
                               << backoffMs_ << "ms";
    reconnectTimer_.start(backoffMs_);
    backoffMs_ = std::min(backoffMs_ * 2, settings_.maxBackoffMs);
}

} // namespace vscard::client
