// Every VSCard reader the server knows, whichever client owns it, and the card in it. Links
// (pcscd driver connections, the serial pty) follow the registry's signals; a reader's index is
// its CCID slot number on every link.
#pragma once

#include "vscard/ccid/ccid_device.h"

#include <QObject>
#include <QString>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace vscard::server {

// Sends one VSCard message for a reader; implemented by the client session.
class CardSideSender {
public:
    virtual ~CardSideSender() = default;
    virtual void sendToCardSide(MessageType type, std::uint32_t readerId, const Bytes& payload) = 0;
};

// A card the registry holds: the device models talk to it as a CardPort; when it leaves its
// slot, it is detached and answers nothing more.
class ServedCard : public ccid::CardPort {
public:
    virtual void detach() = 0;
    virtual bool hasOperationInFlight() const = 0;
};

// The card in a VSCard reader, as the CCID device models see it. VSCard carries one APDU per
// reader at a time, and several links may share the card, so operations queue here.
class RemoteCard : public ServedCard {
public:
    RemoteCard(CardSideSender& sender, std::uint32_t readerId, bool extendedApdu, bool power);
    ~RemoteCard() override;

    bool acceptsExtendedApdu() const override { return extendedApdu_; }
    bool forwardsPower() const override { return power_; }
    void transmit(Bytes command, Completion done) override;
    void power(PowerAction action, Completion done) override;

    // What the client sent back for the operation in flight.
    void onResponse(MessageType type, const Bytes& payload);
    void onClientError(std::uint32_t code);
    // The client's answer to the operation in flight cannot be one (an APDU response without
    // a status word): the operation fails with `why`.
    void onMalformedResponse(const std::string& why);
    // How long the operation in flight has waited for the client's answer; nullopt if none.
    std::optional<std::chrono::milliseconds>
    waiting(std::chrono::steady_clock::time_point now) const
    {
        if (!inFlight_)
            return std::nullopt;
        return std::chrono::duration_cast<std::chrono::milliseconds>(now - inFlight_->sentAt);
    }
    // "APDU" or "PowerRequest": what is in flight, for log lines.
    std::string_view operationInFlight() const
    {
        return inFlight_ ? messageTypeName(inFlight_->request) : std::string_view();
    }
    // The card is gone: nothing more is sent, nothing queued is answered.
    void detach() override;
    bool hasOperationInFlight() const override { return inFlight_.has_value(); }
    // The command APDU the card is answering now, if any.
    const Bytes* commandInFlight() const
    {
        return inFlight_ && inFlight_->request == MessageType::Apdu ? &inFlight_->payload : nullptr;
    }

private:
    struct Operation {
        MessageType request;  // Apdu or PowerRequest
        MessageType response; // Apdu or PowerResponse
        Bytes payload;
        Completion done;
        std::chrono::steady_clock::time_point sentAt{};
    };
    void enqueue(Operation operation);
    void sendNext();
    void complete(Result<Bytes, std::string> result);

    CardSideSender* sender_;
    std::uint32_t readerId_;
    bool extendedApdu_;
    bool power_;
    std::optional<Operation> inFlight_;
    std::deque<Operation> queue_;
};

struct ReaderEntry {
    QString name;
    QString owner; // the client's peer address, for logs and --list
    std::uint32_t clientReaderId = 0;
    std::shared_ptr<ServedCard> card; // null: no card
    Bytes atr;
};

class ReaderRegistry : public QObject {
    Q_OBJECT

public:
    // pcscName: the FRIENDLYNAME of the driver's reader.conf entry, to name PC/SC slots.
    ReaderRegistry(int capacity, QString pcscName, QObject* parent = nullptr);

    int capacity() const { return static_cast<int>(entries_.size()); }
    // The lowest free index that `allowed` accepts for the new reader, or nullopt when none is.
    std::optional<int> addReader(QString name, QString owner, std::uint32_t clientReaderId,
                                 const std::function<bool(int)>& allowed = {});
    void removeReader(int index);
    void insertCard(int index, std::shared_ptr<ServedCard> card, Bytes atr);
    void removeCard(int index);

    const ReaderEntry* reader(int index) const;
    // Slots the connected pcscd driver offers (0 while none is connected): readers at higher
    // indexes have no PC/SC slot.
    void setPcscSlots(int slots) { pcscSlots_ = slots; }
    // "vscard 00 02" for the reader at index 2, if a driver with that many slots is connected.
    std::optional<QString> pcscSlotName(int index) const;
    // One line per reader: index, PC/SC slot name, reader name, owner, card.
    QStringList describe() const;

Q_SIGNALS:
    void readerAdded(int index);
    void readerRemoved(int index);
    void cardInserted(int index);
    void cardRemoved(int index);

private:
    std::vector<std::optional<ReaderEntry>> entries_;
    QString pcscName_;
    int pcscSlots_ = 0;
};

} // namespace vscard::server
