#include "host_link.h"

#include "logging.h"
#include "vscard/qt/socket_reader.h"
#include "vscard/qt/socket_writer.h"
#include "vscard/trace.h"

#include <QLocalSocket>
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
    hostInit_.reset();
    closing_ = false;
    if (endpoint_.kind == Endpoint::Kind::Tcp) {
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
    if (lcWire().isDebugEnabled()) {
        const Message decoded{type, readerId, Bytes(payload.begin(), payload.end())};
        qCDebug(lcWire).noquote() << "->" << peer()
                                  << QString::fromStdString(trace::describeMessage(
                                         decoded, trace::Direction::ClientToHost));
    }
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
            if (lcWire().isDebugEnabled())
                qCDebug(lcWire).noquote() << "<-" << peer()
                                          << QString::fromStdString(trace::describeMessage(
                                                 message, trace::Direction::HostToClient));
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
