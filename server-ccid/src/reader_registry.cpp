#include "reader_registry.h"

#include "display_text.h"
#include "logging.h"
#include "vscard/trace.h"

namespace vscard::server {

RemoteCard::RemoteCard(CardSideSender& sender, std::uint32_t readerId, bool extendedApdu,
                       bool power)
    : sender_(&sender), readerId_(readerId), extendedApdu_(extendedApdu), power_(power)
{
}

RemoteCard::~RemoteCard() = default;

void RemoteCard::transmit(Bytes command, Completion done)
{
    enqueue(Operation{MessageType::Apdu, MessageType::Apdu, std::move(command), std::move(done)});
}

void RemoteCard::power(PowerAction action, Completion done)
{
    Bytes payload;
    appendBigEndian32(payload, static_cast<std::uint32_t>(action));
    enqueue(Operation{MessageType::PowerRequest, MessageType::PowerResponse, std::move(payload),
                      std::move(done)});
}

void RemoteCard::enqueue(Operation operation)
{
    if (!sender_) {
        operation.done(fail(std::string("the card has left")));
        return;
    }
    queue_.push_back(std::move(operation));
    if (!inFlight_)
        sendNext();
}

void RemoteCard::sendNext()
{
    if (queue_.empty() || !sender_)
        return;
    inFlight_ = std::move(queue_.front());
    queue_.pop_front();
    inFlight_->sentAt = std::chrono::steady_clock::now();
    sender_->sendToCardSide(inFlight_->request, readerId_, inFlight_->payload);
}

void RemoteCard::complete(Result<Bytes, std::string> result)
{
    Operation finished = std::move(*inFlight_);
    inFlight_.reset();
    // The next operation leaves before this completion runs: the completion may queue more.
    sendNext();
    finished.done(std::move(result));
}

void RemoteCard::onResponse(MessageType type, const Bytes& payload)
{
    if (!inFlight_ || inFlight_->response != type) {
        qCWarning(lcServer).noquote()
            << "reader" << readerId_ << ":" << messageTypeName(type).data()
            << "arrived with nothing waiting for it; dropped";
        return;
    }
    complete(payload);
}

void RemoteCard::onClientError(std::uint32_t code)
{
    if (!inFlight_)
        return;
    complete(fail("the client answered " + std::string(messageTypeName(inFlight_->request)) +
                  " with Error " + std::to_string(code)));
}

void RemoteCard::onMalformedResponse(const std::string& why)
{
    if (inFlight_)
        complete(fail(why));
}

void RemoteCard::detach()
{
    sender_ = nullptr;
    inFlight_.reset();
    queue_.clear();
}

ReaderRegistry::ReaderRegistry(int capacity, QString pcscName, QObject* parent)
    : QObject(parent), entries_(static_cast<std::size_t>(capacity)), pcscName_(std::move(pcscName))
{
}

std::optional<int> ReaderRegistry::addReader(QString name, QString owner,
                                             std::uint32_t clientReaderId,
                                             const std::function<bool(int)>& allowed)
{
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (entries_[i] || (allowed && !allowed(static_cast<int>(i))))
            continue;
        entries_[i] = ReaderEntry{std::move(name), std::move(owner), clientReaderId, nullptr, {}};
        Q_EMIT readerAdded(static_cast<int>(i));
        return static_cast<int>(i);
    }
    return std::nullopt;
}

void ReaderRegistry::removeReader(int index)
{
    if (!reader(index))
        return;
    removeCard(index);
    entries_[static_cast<std::size_t>(index)].reset();
    Q_EMIT readerRemoved(index);
}

void ReaderRegistry::insertCard(int index, std::shared_ptr<ServedCard> card, Bytes atr)
{
    auto& entry = entries_.at(static_cast<std::size_t>(index));
    if (!entry)
        return;
    if (entry->card)
        removeCard(index);
    entry->card = std::move(card);
    entry->atr = std::move(atr);
    Q_EMIT cardInserted(index);
}

void ReaderRegistry::removeCard(int index)
{
    auto& entry = entries_.at(static_cast<std::size_t>(index));
    if (!entry || !entry->card)
        return;
    entry->card->detach();
    entry->card.reset();
    entry->atr.clear();
    Q_EMIT cardRemoved(index);
}

const ReaderEntry* ReaderRegistry::reader(int index) const
{
    if (index < 0 || static_cast<std::size_t>(index) >= entries_.size() ||
        !entries_[static_cast<std::size_t>(index)])
        return nullptr;
    return &*entries_[static_cast<std::size_t>(index)];
}

std::optional<QString> ReaderRegistry::pcscSlotName(int index) const
{
    // pcscd names slot j of a reader.conf entry "FRIENDLYNAME 00 0j" (hex).
    if (index < 0 || index >= pcscSlots_)
        return std::nullopt;
    return QStringLiteral("%1 00 %2").arg(pcscName_, QString::asprintf("%02X", index));
}

QStringList ReaderRegistry::describe() const
{
    QStringList lines;
    for (int i = 0; i < capacity(); ++i) {
        const ReaderEntry* entry = reader(i);
        if (!entry)
            continue;
        const auto pcscSlot = pcscSlotName(i);
        const QString slot = pcscSlot ? QLatin1Char('"') + *pcscSlot + QLatin1Char('"')
                                      : QStringLiteral("no PC/SC slot");
        const QString card = entry->card ? QString::fromStdString("card " + trace::hex(entry->atr))
                                         : QStringLiteral("no card");
        // Names and owners are the clients' text: quoted and escaped, so that a name with a
        // newline cannot add lines of its own to --list.
        lines << QStringLiteral("slot %1: %2 <- reader %3 (id %4) of %5, %6")
                     .arg(i)
                     .arg(slot, quoted(entry->name))
                     .arg(entry->clientReaderId)
                     .arg(escapeControls(entry->owner), card);
    }
    return lines;
}

} // namespace vscard::server
