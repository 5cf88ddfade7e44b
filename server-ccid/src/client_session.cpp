#include "client_session.h"

#include "audit_trail.h"
#include "logging.h"
#include "stream_listener.h"
#include "vscard/atr.h"
#include "vscard/qt/socket_writer.h"
#include "vscard/trace.h"

#include <QAbstractSocket>
#include <QLocalSocket>

namespace vscard::server {

namespace {

// Qt buffers no more than this of a client's input: a client whose reading is paused (by the
// message rate) then waits in the kernel, and its flood does not pile up in our memory.
constexpr qint64 kReadBufferSize = 64 * 1024;

// What this host announces: it understands both extensions of docs/protocol.md.
InitPayload hostInit()
{
    InitPayload init;
    init.capabilities = {capability::ExtendedApdu | capability::CardPower};
    return init;
}

// QEMU accepts up to 40 bytes; pcsc-lite cannot hold more than 33, so neither can we.
std::optional<QString> atrProblem(const Bytes& atr)
{
    if (atr.size() < 2 || atr.size() > Atr::kMaxSize)
        return QStringLiteral("ATR of %1 bytes (2 to %2 allowed)")
            .arg(atr.size())
            .arg(Atr::kMaxSize);
    if (atr[0] != 0x3B && atr[0] != 0x3F)
        return QStringLiteral("ATR starting with %1 (3B or 3F expected)")
            .arg(atr[0], 2, 16, QLatin1Char('0'));
    return std::nullopt;
}

QString quoted(const QString& name)
{
    return QLatin1Char('"') + name + QLatin1Char('"');
}

} // namespace

ClientSession::ClientSession(QIODevice* socket, QString peer, ClientAuthorization authorization,
                             ReaderRegistry& registry, ClientLimits limits, QObject* parent)
    : QObject(parent), socket_(socket), peer_(std::move(peer)), registry_(registry),
      authorization_(std::move(authorization)), limits_(limits),
      decoder_(DecoderLimits{limits.messageSize})
{
    socket->setParent(this);
    if (auto* network = qobject_cast<QAbstractSocket*>(socket))
        network->setReadBufferSize(kReadBufferSize);
    else if (auto* local = qobject_cast<QLocalSocket*>(socket))
        local->setReadBufferSize(kReadBufferSize);
    if (limits_.messagesPerSecond > 0)
        rate_.emplace(limits_.messagesPerSecond, limits_.messagesPerSecond);
    resumeTimer_.setSingleShot(true);
    connect(&resumeTimer_, &QTimer::timeout, this, &ClientSession::onReadyRead);
    // Until its first message, a connection holds a socket for nothing: it gets a deadline
    // (slow or silent peers must not hold connections open); after it, --client-idle.
    idleTimer_.setSingleShot(true);
    connect(&idleTimer_, &QTimer::timeout, this, [this] {
        drop(receivedMessage_
                 ? QStringLiteral("idle for %1 s (--client-idle)").arg(limits_.idleSeconds)
                 : QStringLiteral("it sent no complete message within %1 s")
                       .arg(limits_.firstMessageSeconds));
    });
    if (limits_.firstMessageSeconds > 0)
        idleTimer_.start(limits_.firstMessageSeconds * 1000);
    answerWatch_.setInterval(1000);
    connect(&answerWatch_, &QTimer::timeout, this, &ClientSession::checkAnswers);
    answerWatch_.start();
    connect(socket, &QIODevice::readyRead, this, &ClientSession::onReadyRead);
    qCInfo(lcServer).noquote() << "client" << peer_ << "connected";
    // Client-chosen text (names, certificate subjects) goes through one arg() call, so that a
    // "%2" in it stays text.
    qCInfo(lcAudit).noquote() << QStringLiteral("connect %1 %2%3")
                                     .arg(peer_, authorization_.identity,
                                          authorization_.rule.isEmpty()
                                              ? QString()
                                              : QStringLiteral(", allowed by ") +
                                                    authorization_.rule);
}

ClientSession::~ClientSession()
{
    // Deleted without a disconnect (the server stops): release quietly, nobody listens.
    blockSignals(true);
    release();
}

void ClientSession::onReadyRead() noexcept
{
    if (!socket_ || resumeTimer_.isActive())
        return;
    try {
        pump();
    } catch (const std::exception& error) {
        drop(QStringLiteral("internal error: %1").arg(error.what()));
    }
}

void ClientSession::pump()
{
    while (!released_ && socket_) {
        if (rate_ && !rate_->hasToken()) {
            pauseReading(rate_->millisecondsUntilToken());
            return;
        }
        auto next = decoder_.next();
        if (!next) {
            if (socket_->bytesAvailable() <= 0)
                return;
            const QByteArray chunk = socket_->read(kReadBufferSize);
            decoder_.feed(ByteView(reinterpret_cast<const std::uint8_t*>(chunk.constData()),
                                   static_cast<std::size_t>(chunk.size())));
            continue;
        }
        if (!*next) {
            drop(QString::fromStdString(next->error().message));
            return;
        }
        if (rate_)
            rate_->tryTake();
        receivedMessage_ = true;
        if (limits_.idleSeconds > 0)
            idleTimer_.start(limits_.idleSeconds * 1000);
        else
            idleTimer_.stop();
        handle(**next);
    }
}

void ClientSession::pauseReading(int milliseconds)
{
    if (!rateWarned_) {
        rateWarned_ = true;
        qCWarning(lcServer).noquote()
            << "client" << peer_ << "sends more than" << limits_.messagesPerSecond
            << "messages a second (--client-rate): its messages wait";
    }
    resumeTimer_.start(milliseconds);
}

void ClientSession::onDisconnected() noexcept
{
    if (released_)
        return;
    bool midApdu = false;
    for (const auto& [readerId, index] : readers_) {
        if (const ReaderEntry* entry = registry_.reader(index); entry && entry->card)
            midApdu = midApdu || entry->card->hasOperationInFlight();
    }
    if (decoder_.pendingBytes() > 0)
        qCWarning(lcServer).noquote() << "client" << peer_ << "disconnected mid-message with"
                                      << decoder_.pendingBytes() << "bytes of it received";
    else if (midApdu)
        qCWarning(lcServer).noquote()
            << "client" << peer_ << "disconnected while a command waited for its card";
    else
        qCInfo(lcServer).noquote() << "client" << peer_ << "disconnected";
    qCInfo(lcAudit).noquote() << "disconnect" << peer_ << authorization_.identity;
    release();
}

void ClientSession::drop(const QString& reason)
{
    qCWarning(lcServer).noquote() << "client" << peer_ << ":" << reason << "- connection dropped";
    qCInfo(lcAudit).noquote() << "disconnect" << peer_
                              << authorization_.identity + ", dropped:" << reason;
    release();
}

void ClientSession::release()
{
    if (released_)
        return;
    released_ = true;
    resumeTimer_.stop();
    idleTimer_.stop();
    answerWatch_.stop();
    for (const auto& [readerId, index] : readers_) {
        qCInfo(lcAudit).noquote()
            << QStringLiteral("reader-remove %1 slot %2 (disconnected)").arg(peer_).arg(index);
        registry_.removeReader(index);
    }
    if (authorization_.ruleReaders)
        *authorization_.ruleReaders -= static_cast<int>(readers_.size());
    readers_.clear();
    if (socket_) {
        socket_->disconnect(this);
        abortSocket(socket_.data());
    }
    Q_EMIT finished();
}

void ClientSession::send(MessageType type, std::uint32_t readerId, const Bytes& payload)
{
    if (released_ || !socket_)
        return;
    // Observed whether traced or not (PowerRequest too: a reset ends an exchange): --trace may
    // be switched on between a command and its answer, which must still be masked then.
    const trace::Secrecy secrecy =
        trace::observeMessage(secrets_, type, readerId, payload, trace::Direction::HostToClient);
    if (lcWire().isDebugEnabled())
        traceMessage(Message{type, readerId, payload}, trace::Direction::HostToClient, secrecy);
    const Bytes wire = encodeMessage(type, readerId, payload);
    // One write per message, sent now; what the kernel cannot take waits in Qt's buffer.
    writeNow(*socket_, wire);
    if (socket_->bytesToWrite() > limits_.backlog)
        drop(QStringLiteral("%1 bytes wait unread by the peer").arg(socket_->bytesToWrite()));
}

void ClientSession::sendToCardSide(MessageType type, std::uint32_t readerId, const Bytes& payload)
{
    send(type, readerId, payload);
}

void ClientSession::acknowledge(std::uint32_t readerId, ErrorCode code)
{
    Bytes payload;
    appendBigEndian32(payload, static_cast<std::uint32_t>(code));
    send(MessageType::Error, readerId, payload);
}

std::optional<int> ClientSession::registryIndex(std::uint32_t readerId) const
{
    const auto found = readers_.find(readerId);
    return found == readers_.end() ? std::nullopt : std::optional<int>(found->second);
}

std::uint32_t ClientSession::lowestFreeReaderId() const
{
    std::uint32_t id = kMinimalReaderId;
    while (readers_.count(id))
        ++id;
    return id;
}

void ClientSession::traceMessage(const Message& message, trace::Direction direction,
                                 trace::Secrecy secrecy)
{
    qCDebug(lcWire).noquote() << peer_
                              << (direction == trace::Direction::ClientToHost ? "->" : "<-")
                              << QString::fromStdString(
                                     trace::describeMessage(message, direction, secrecy));
}

void ClientSession::handle(const Message& message)
{
    const trace::Secrecy secrecy =
        trace::observeMessage(secrets_, message, trace::Direction::ClientToHost);
    if (lcWire().isDebugEnabled())
        traceMessage(message, trace::Direction::ClientToHost, secrecy);
    switch (message.type) {
    case MessageType::Init: handleInit(message); return;
    case MessageType::ReaderAdd: handleReaderAdd(message); return;
    case MessageType::ReaderRemove:
        // libcacard's vscclient removes reader 0 before it ever adds one: that is fine.
        if (const auto index = registryIndex(message.readerId)) {
            qCInfo(lcServer).noquote() << "client" << peer_ << "removed reader" << message.readerId
                                       << "from slot" << *index;
            qCInfo(lcAudit).noquote()
                << QStringLiteral("reader-remove %1 slot %2").arg(peer_).arg(*index);
            registry_.removeReader(*index);
            readers_.erase(message.readerId);
            if (readers_.empty())
                readerlessSince_ = std::chrono::steady_clock::now();
            if (authorization_.ruleReaders)
                --*authorization_.ruleReaders;
        }
        acknowledge(message.readerId, ErrorCode::Success);
        return;
    case MessageType::Atr: handleAtr(message); return;
    case MessageType::CardRemove:
        if (const auto index = registryIndex(message.readerId)) {
            qCInfo(lcServer).noquote() << "client" << peer_ << "removed the card of slot" << *index;
            qCInfo(lcAudit).noquote()
                << QStringLiteral("card-remove %1 slot %2").arg(peer_).arg(*index);
            registry_.removeCard(*index);
        }
        acknowledge(message.readerId, ErrorCode::Success);
        return;
    case MessageType::Apdu:
    case MessageType::PowerResponse:
    case MessageType::Error: toCard(message); return;
    case MessageType::Flush:
        // Nothing of ours waits on the client's side of this connection.
        send(MessageType::FlushComplete, message.readerId, {});
        return;
    case MessageType::FlushComplete: return;
    case MessageType::PowerRequest:
        qCWarning(lcServer).noquote()
            << "client" << peer_ << "sent PowerRequest, which only a host sends";
        acknowledge(message.readerId, ErrorCode::GeneralError);
        return;
    }
}

void ClientSession::handleInit(const Message& message)
{
    const auto init = parseInitPayload(message.payload); // the decoder checked it
    peerInit_ = *init;
    if (versionMajor(init->version) != versionMajor(kProtocolVersion))
        qCWarning(lcServer).noquote()
            << "client" << peer_ << "speaks protocol version" << versionMajor(init->version) << "."
            << versionMiddle(init->version) << "." << versionMinor(init->version)
            << ", continuing as with version 0.0.2";
    qCInfo(lcServer).noquote() << "client" << peer_ << "capabilities:"
                               << (init->has(capability::ExtendedApdu) ? "extended-apdu" : "")
                               << (init->has(capability::CardPower) ? "card-power" : "")
                               << (init->has(capability::ExtendedApdu | capability::CardPower)
                                       ? ""
                                       : "(none beyond QEMU's)");
    const Bytes reply = encodeInit(kUndefinedReaderId, hostInit());
    send(MessageType::Init, kUndefinedReaderId, Bytes(reply.begin() + kHeaderSize, reply.end()));
}

QString ClientSession::ruleName() const
{
    return QStringLiteral("the policy rule at ") + authorization_.rule;
}

std::optional<std::pair<QString, ErrorCode>> ClientSession::readerRefusal(const QString& name) const
{
    const policy::Grant& grant = authorization_.grant;
    // --client-readers counts this connection's readers; a rule's readers= counts those of
    // every connection the identity has under that rule, so more connections get no more.
    const int connectionMost = limits_.readers > 0 ? limits_.readers : registry_.capacity();
    if (static_cast<int>(readers_.size()) >= connectionMost)
        return std::pair(QStringLiteral("it has %1 readers, the most --client-readers allows")
                             .arg(readers_.size()),
                         ErrorCode::CannotAddMoreReaders);
    const int held = authorization_.ruleReaders ? *authorization_.ruleReaders
                                                : static_cast<int>(readers_.size());
    if (grant.maxReaders && held >= static_cast<int>(*grant.maxReaders))
        return std::pair(QStringLiteral("it has %1 readers, the most %2 allows")
                             .arg(QString::number(held), ruleName()),
                         ErrorCode::CannotAddMoreReaders);
    if (!grant.allowsName(name.toStdString()))
        return std::pair(QStringLiteral("%1 allows no reader of that name").arg(ruleName()),
                         ErrorCode::GeneralError);
    return std::nullopt;
}

void ClientSession::handleReaderAdd(const Message& message)
{
    QString name = QString::fromStdString(readerNameFromPayload(message.payload));
    const std::uint32_t readerId = lowestFreeReaderId();
    if (name.isEmpty())
        name = QStringLiteral("VSCard reader %1").arg(readerId); // libcacard sends no name
    const auto refuse =
        [&](const QString& reason, ErrorCode code) {
            qCWarning(lcServer).noquote()
                << "client" << peer_ << ": reader" << quoted(name) << "refused," << reason;
            qCInfo(lcAudit).noquote()
                << QStringLiteral("refuse-reader %1 %2: %3").arg(peer_, quoted(name), reason);
            acknowledge(kUndefinedReaderId, code);
        };
    if (const auto refusal = readerRefusal(name)) {
        refuse(refusal->first, refusal->second);
        return;
    }
    const policy::Grant& grant = authorization_.grant;
    const auto index = registry_.addReader(name, peer_, readerId,
                                           [&grant](int slot) { return grant.allowsSlot(slot); });
    if (!index) {
        refuse(grant.slots.empty()
                   ? QStringLiteral("all %1 readers are taken").arg(registry_.capacity())
                   : QStringLiteral("no slot %1 allows is free").arg(ruleName()),
               ErrorCode::CannotAddMoreReaders);
        return;
    }
    readers_[readerId] = *index;
    if (authorization_.ruleReaders)
        ++*authorization_.ruleReaders;
    const auto pcscSlot = registry_.pcscSlotName(*index);
    qCInfo(lcServer).noquote() << QStringLiteral("client %1 added reader %2 %3 in slot %4, %5")
                                      .arg(peer_, QString::number(readerId), quoted(name),
                                           QString::number(*index),
                                           pcscSlot ? "PC/SC reader " + quoted(*pcscSlot)
                                                    : QStringLiteral("no PC/SC slot"));
    qCInfo(lcAudit).noquote() << QStringLiteral("reader-add %1 %2 slot %3")
                                     .arg(peer_, quoted(name), QString::number(*index));
    acknowledge(readerId, ErrorCode::Success);
}

void ClientSession::handleAtr(const Message& message)
{
    auto index = registryIndex(message.readerId);
    if (!index && readers_.empty() && message.readerId == kMinimalReaderId) {
        // QEMU keeps no reader state: a client may insert a card without adding a reader.
        handleReaderAdd(Message{MessageType::ReaderAdd, message.readerId, {}});
        index = registryIndex(message.readerId);
    }
    if (!index) {
        qCWarning(lcServer).noquote() << "client" << peer_ << ": ATR for reader" << message.readerId
                                      << "which it never added";
        acknowledge(message.readerId, ErrorCode::GeneralError);
        return;
    }
    if (const auto problem = atrProblem(message.payload)) {
        qCWarning(lcServer).noquote() << "client" << peer_ << ": card refused:" << *problem;
        acknowledge(message.readerId, ErrorCode::GeneralError);
        return;
    }
    const bool extended = peerInit_ && peerInit_->has(capability::ExtendedApdu);
    const bool power = peerInit_ && peerInit_->has(capability::CardPower);
    auto card = std::make_shared<RemoteCard>(*this, message.readerId, extended, power);
    qCInfo(lcServer).noquote() << "client" << peer_ << "inserted a card in slot" << *index << ":"
                               << QString::fromStdString(trace::hex(message.payload));
    qCInfo(lcAudit).noquote() << QStringLiteral("card-insert %1 slot %2 ATR %3")
                                     .arg(peer_)
                                     .arg(*index)
                                     .arg(QString::fromStdString(trace::hex(message.payload)));
    cards_[message.readerId] = card;
    registry_.insertCard(*index, std::move(card), message.payload);
    acknowledge(message.readerId, ErrorCode::Success);
}

void ClientSession::toCard(const Message& message)
{
    const auto index = registryIndex(message.readerId);
    const ReaderEntry* entry = index ? registry_.reader(*index) : nullptr;
    const auto found = cards_.find(message.readerId);
    const std::shared_ptr<RemoteCard> card = found == cards_.end() ? nullptr : found->second.lock();
    if (!entry || !card || entry->card != card) {
        qCWarning(lcServer).noquote()
            << "client" << peer_ << ":" << messageTypeName(message.type).data() << "for reader"
            << message.readerId << "which holds no card; dropped";
        return;
    }
    if (message.type == MessageType::Error) {
        const auto code = parseErrorPayload(message.payload); // size checked by the decoder
        if (*code != static_cast<std::uint32_t>(ErrorCode::Success))
            card->onClientError(*code);
        return;
    }
    if (message.type == MessageType::Apdu && card->commandInFlight() &&
        message.payload.size() < 2) {
        // An answer without its status word is no answer: the application gets an error,
        // not "success" with nothing in it.
        const QString why = QStringLiteral("reader %1 answered an APDU with %2 byte(s), no "
                                           "status word")
                                .arg(message.readerId)
                                .arg(message.payload.size());
        qCWarning(lcServer).noquote()
            << "client" << peer_ << ":" << why << "- the application gets an error";
        card->onMalformedResponse(why.toStdString());
        return;
    }
    if (message.type == MessageType::Apdu)
        if (const Bytes* command = card->commandInFlight())
            auditVerify(*index, entry->name, peer_, *command, message.payload);
    card->onResponse(message.type, message.payload);
}

std::optional<std::chrono::milliseconds>
ClientSession::readerlessFor(std::chrono::steady_clock::time_point now) const
{
    if (released_ || !readers_.empty())
        return std::nullopt;
    return std::chrono::duration_cast<std::chrono::milliseconds>(now - readerlessSince_);
}

void ClientSession::giveUpPlace(const QString& newcomer)
{
    const auto held = readerlessFor(std::chrono::steady_clock::now());
    drop(QStringLiteral("it has held no reader for %1 s and %2 needed its place")
             .arg(held ? held->count() / 1000 : 0)
             .arg(newcomer));
}

void ClientSession::checkAnswers()
{
    if (limits_.answerSeconds <= 0)
        return;
    const auto now = std::chrono::steady_clock::now();
    for (const auto& [readerId, weak] : cards_) {
        const std::shared_ptr<RemoteCard> card = weak.lock();
        const auto waited = card ? card->waiting(now) : std::nullopt;
        if (!waited || *waited < std::chrono::seconds(limits_.answerSeconds))
            continue;
        const auto index = registryIndex(readerId);
        const ReaderEntry* entry = index ? registry_.reader(*index) : nullptr;
        drop(QStringLiteral("reader %1 (\"%2\") left its %3 unanswered for %4 s "
                            "(--card-answer-timeout); the application gets an error")
                 .arg(readerId)
                 .arg(entry ? entry->name : QString(),
                      QString::fromLatin1(card->operationInFlight().data(),
                                          static_cast<qsizetype>(card->operationInFlight().size())))
                 .arg(limits_.answerSeconds));
        return;
    }
}

} // namespace vscard::server
