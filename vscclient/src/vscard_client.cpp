#include "vscard_client.h"

#include "logging.h"
#include "vscard/qemu_quirks.h"
#include "vscard/trace.h"

namespace vscard::client {

namespace {

QString hex(const Bytes& bytes)
{
    return QString::fromStdString(trace::hex(bytes));
}

} // namespace

VscardClient::VscardClient(HostLink& link, QObject* parent) : QObject(parent), link_(link)
{
    connect(&link_, &HostLink::ready, this, &VscardClient::onReady);
    connect(&link_, &HostLink::lost, this, &VscardClient::onLost);
    connect(&link_, &HostLink::messageReceived, this, &VscardClient::onMessage);
}

int VscardClient::addReader(const QString& name, std::shared_ptr<LocalCard> card)
{
    Reader reader;
    reader.name = name;
    reader.card = card;
    reader.lastCard = card;
    readers_.push_back(std::move(reader));
    const int number = static_cast<int>(readers_.size()) - 1;
    if (link_.isReady())
        enqueue({Step::AddReader, number, {}});
    return number;
}

bool VscardClient::hasReader(int reader) const
{
    return reader >= 0 && reader < readerCount() &&
           !readers_[static_cast<std::size_t>(reader)].removed;
}

QString VscardClient::checkReader(int reader) const
{
    return hasReader(reader) ? QString() : QStringLiteral("no reader %1").arg(reader);
}

QString VscardClient::removeReader(int number)
{
    if (const QString problem = checkReader(number); !problem.isEmpty())
        return problem;
    Reader& reader = readers_[static_cast<std::size_t>(number)];
    reader.removed = true;
    reader.card.reset();
    if (link_.isReady())
        enqueue({Step::RemoveReader, number, reader.hostId});
    reader.hostId.reset();
    return {};
}

QString VscardClient::insertCard(int number, std::shared_ptr<LocalCard> card)
{
    if (const QString problem = checkReader(number); !problem.isEmpty())
        return problem;
    Reader& reader = readers_[static_cast<std::size_t>(number)];
    if (reader.card)
        return QStringLiteral("reader %1 already holds a card").arg(number);
    if (!card)
        card = reader.lastCard;
    if (!card)
        return QStringLiteral("reader %1 has no card to insert").arg(number);
    reader.card = card;
    reader.lastCard = card;
    if (link_.isReady())
        enqueue({Step::InsertCard, number, {}});
    return {};
}

QString VscardClient::removeCard(int number)
{
    if (const QString problem = checkReader(number); !problem.isEmpty())
        return problem;
    Reader& reader = readers_[static_cast<std::size_t>(number)];
    if (!reader.card)
        return QStringLiteral("reader %1 holds no card").arg(number);
    reader.card.reset();
    if (link_.isReady())
        enqueue({Step::RemoveCard, number, {}});
    return {};
}

void VscardClient::cardGone(int number)
{
    if (!hasReader(number))
        return;
    Reader& reader = readers_[static_cast<std::size_t>(number)];
    reader.lastCard.reset();
    if (reader.card)
        removeCard(number);
}

QString VscardClient::resetCard(int number)
{
    if (const QString problem = checkReader(number); !problem.isEmpty())
        return problem;
    Reader& reader = readers_[static_cast<std::size_t>(number)];
    if (!reader.card)
        return QStringLiteral("reader %1 holds no card").arg(number);
    reader.card->power(PowerAction::WarmReset, [](const Result<Bytes, std::string>&) {});
    if (link_.isReady()) {
        enqueue({Step::RemoveCard, number, {}});
        enqueue({Step::InsertCard, number, {}});
    }
    return {};
}

QStringList VscardClient::describe() const
{
    QStringList lines;
    for (std::size_t i = 0; i < readers_.size(); ++i) {
        const Reader& reader = readers_[i];
        if (reader.removed)
            continue;
        const QString host = reader.hostId ? QStringLiteral("host id %1").arg(*reader.hostId)
                                           : QStringLiteral("not on the host");
        const QString card =
            reader.card ? "card " + hex(reader.card->atr()) : QStringLiteral("no card");
        lines << QStringLiteral("%1 \"%2\" (%3): %4").arg(i).arg(reader.name, host, card);
    }
    return lines;
}

void VscardClient::onReady()
{
    ++connection_;
    controls_.clear();
    pending_.reset();
    for (std::size_t i = 0; i < readers_.size(); ++i)
        if (!readers_[i].removed)
            enqueue({Step::AddReader, static_cast<int>(i), {}});
    if (settled())
        Q_EMIT settledChanged();
}

void VscardClient::onLost()
{
    ++connection_;
    heldTails_.clear();
    controls_.clear();
    pending_.reset();
    apdusInFlight_ = 0;
    flushReader_.reset();
    for (Reader& reader : readers_)
        reader.hostId.reset();
}

void VscardClient::enqueue(Control control)
{
    controls_.push_back(control);
    if (!pending_)
        sendNext();
}

void VscardClient::sendNext()
{
    while (!pending_ && !controls_.empty()) {
        Control control = controls_.front();
        controls_.pop_front();
        Reader& reader = readers_[static_cast<std::size_t>(control.reader)];
        switch (control.step) {
        case Step::AddReader: {
            if (reader.removed)
                continue;
            const std::string name = reader.name.toStdString();
            const Bytes message = encodeReaderAdd(kUndefinedReaderId, name);
            link_.send(MessageType::ReaderAdd, kUndefinedReaderId,
                       ByteView(message).subspan(kHeaderSize));
            break;
        }
        case Step::RemoveReader:
            if (!control.hostId)
                continue;
            link_.send(MessageType::ReaderRemove, *control.hostId);
            break;
        case Step::InsertCard:
            if (!reader.hostId || !reader.card)
                continue;
            link_.send(MessageType::Atr, *reader.hostId, reader.card->atr());
            break;
        case Step::RemoveCard:
            if (!reader.hostId)
                continue;
            link_.send(MessageType::CardRemove, *reader.hostId);
            break;
        }
        pending_ = control;
    }
    if (settled())
        Q_EMIT settledChanged();
}

void VscardClient::onMessage(const Message& message)
{
    switch (message.type) {
    case MessageType::Error: onAcknowledgement(message); return;
    case MessageType::Apdu: onApdu(message); return;
    case MessageType::PowerRequest: onPowerRequest(message); return;
    case MessageType::Flush:
        if (apdusInFlight_ == 0)
            link_.send(MessageType::FlushComplete, message.readerId);
        else
            flushReader_ = message.readerId;
        return;
    default:
        qCWarning(lcClient).noquote()
            << "host" << link_.peer() << "sent" << messageTypeName(message.type).data()
            << ", which only a client sends; ignored";
        return;
    }
}

void VscardClient::onAcknowledgement(const Message& message)
{
    const auto code = parseErrorPayload(message.payload); // the decoder checked the size
    if (!pending_) {
        qCWarning(lcClient).noquote()
            << "host" << link_.peer() << "reports" << errorCodeName(*code).data() << "for reader"
            << message.readerId;
        return;
    }
    const Control control = *pending_;
    pending_.reset();
    Reader& reader = readers_[static_cast<std::size_t>(control.reader)];
    const bool success = *code == static_cast<std::uint32_t>(ErrorCode::Success);
    switch (control.step) {
    case Step::AddReader:
        if (!success) {
            const QString why = QString::fromLatin1(errorCodeName(*code).data());
            qCWarning(lcClient).noquote() << "host refused reader" << control.reader
                                          << ('"' + reader.name + '"') << ":" << why;
            Q_EMIT readerRefused(control.reader, why);
            break;
        }
        reader.hostId = message.readerId;
        qCInfo(lcClient).noquote() << "reader" << control.reader << ('"' + reader.name + '"')
                                   << "added as host reader" << message.readerId;
        // QEMU keeps a card inserted across connections: clear it before telling the truth.
        if (link_.hostIsLegacy())
            controls_.push_front({Step::RemoveCard, control.reader, {}});
        if (reader.card)
            controls_.insert(controls_.begin() + (link_.hostIsLegacy() ? 1 : 0),
                             {Step::InsertCard, control.reader, {}});
        break;
    case Step::InsertCard:
        if (success)
            qCInfo(lcClient).noquote() << "card inserted in reader" << control.reader;
        else
            qCWarning(lcClient).noquote() << "host refused the card of reader" << control.reader
                                          << ":" << errorCodeName(*code).data();
        break;
    case Step::RemoveCard:
    case Step::RemoveReader:
        if (!success)
            qCWarning(lcClient).noquote() << "host answered" << errorCodeName(*code).data()
                                          << "to a removal in reader" << control.reader;
        break;
    }
    sendNext();
}

VscardClient::Reader* VscardClient::readerWithHostId(std::uint32_t hostId, int* number)
{
    for (std::size_t i = 0; i < readers_.size(); ++i) {
        if (!readers_[i].removed && readers_[i].hostId == hostId) {
            if (number)
                *number = static_cast<int>(i);
            return &readers_[i];
        }
    }
    return nullptr;
}

void VscardClient::sendGeneralError(std::uint32_t hostId)
{
    const Bytes error = encodeError(hostId, ErrorCode::GeneralError);
    link_.send(MessageType::Error, hostId, ByteView(error).subspan(kHeaderSize));
}

void VscardClient::answer(int reader, std::uint32_t hostId, const Bytes& command,
                          const Bytes& response)
{
    link_.send(MessageType::Apdu, hostId, response);
    ++apdusAnswered_;
    Q_EMIT apduAnswered(reader, command, response);
}

void VscardClient::onApdu(const Message& message)
{
    int number = -1;
    Reader* reader = readerWithHostId(message.readerId, &number);
    if (!reader || !reader->card) {
        qCWarning(lcClient).noquote() << "APDU for host reader" << message.readerId
                                      << "which holds no card here; answering GENERAL_ERROR";
        sendGeneralError(message.readerId);
        return;
    }
    const std::uint32_t hostId = message.readerId;
    const Bytes command = message.payload;
    // The GET RESPONSE that fetches a held tail (vscard/qemu_quirks.h) never reaches the card.
    if (const auto held = heldTails_.find(hostId); held != heldTails_.end()) {
        const Bytes tail = std::move(held->second);
        heldTails_.erase(held);
        if (fetchesHeldTail(command)) {
            answer(number, hostId, command, tail);
            return;
        }
    }
    ++apdusInFlight_;
    const std::uint64_t connection = connection_;
    std::weak_ptr<LocalCard> card = reader->card;
    reader->card->transmit(command, [this, connection, hostId, number, command,
                                     card](Result<Bytes, std::string> result) {
        if (connection != connection_)
            return; // that host is gone; its successor never asked
        --apdusInFlight_;
        const Reader& now = readers_[static_cast<std::size_t>(number)];
        if (!result || card.expired() || now.card != card.lock()) {
            qCWarning(lcClient).noquote() << "reader" << number << ": no answer from the card:"
                                          << (result ? QStringLiteral("it was removed")
                                                     : QString::fromStdString(result.error()));
            sendGeneralError(hostId);
        } else if (link_.hostIsLegacy()) {
            auto [first, tail] = qemuSafeResponse(*result);
            if (!tail.empty())
                heldTails_[hostId] = std::move(tail);
            answer(number, hostId, command, first);
        } else {
            answer(number, hostId, command, *result);
        }
        if (apdusInFlight_ == 0 && flushReader_) {
            link_.send(MessageType::FlushComplete, *flushReader_);
            flushReader_.reset();
        }
    });
}

void VscardClient::onPowerRequest(const Message& message)
{
    const auto action = parsePowerRequestPayload(message.payload);
    Reader* reader = readerWithHostId(message.readerId);
    if (!action || !reader || !reader->card || !link_.negotiated(capability::CardPower)) {
        sendGeneralError(message.readerId);
        return;
    }
    const std::uint64_t connection = connection_;
    const std::uint32_t hostId = message.readerId;
    reader->card->power(*action, [this, connection, hostId](Result<Bytes, std::string> result) {
        if (connection != connection_)
            return;
        if (result) {
            link_.send(MessageType::PowerResponse, hostId, *result);
        } else {
            sendGeneralError(hostId);
        }
    });
}

} // namespace vscard::client
