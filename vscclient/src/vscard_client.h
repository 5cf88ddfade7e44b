// The client's side of the VSCard conversation: its readers and the cards in them, told to
// the host one control message at a time (ReaderAdd, ATR, CardRemove, ReaderRemove, each
// waiting for the host's acknowledgement), the host's commands answered by the cards. After a
// reconnection every reader is added again and every card inserted again.
#pragma once

#include "host_link.h"
#include "local_card.h"

#include <QObject>
#include <QStringList>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace vscard::client {

class VscardClient : public QObject {
    Q_OBJECT

public:
    explicit VscardClient(HostLink& link, QObject* parent = nullptr);

    // A new reader (with a card or empty); its number, stable for the process's life.
    int addReader(const QString& name, std::shared_ptr<LocalCard> card);
    // Each returns what is wrong, or an empty string.
    QString removeReader(int reader);
    // Inserts card, or the card last removed from the reader when card is null.
    QString insertCard(int reader, std::shared_ptr<LocalCard> card = {});
    QString removeCard(int reader);
    // The card left the reader for good (a real card pulled out): removed if it was in, and
    // not kept for a later insert.
    void cardGone(int reader);
    // Warm-resets the card (it forgets a verified PIN) and tells the host as a card removal
    // and insertion: VSCard has no reset message from the client.
    QString resetCard(int reader);

    // One line per reader: number, host id, name, card.
    QStringList describe() const;
    int readerCount() const { return static_cast<int>(readers_.size()); }
    bool hasReader(int reader) const;
    // Nothing sent that the host has not acknowledged, nothing waiting to be sent.
    bool settled() const { return !pending_ && controls_.empty(); }
    std::uint64_t apdusAnswered() const { return apdusAnswered_; }

Q_SIGNALS:
    void settledChanged();
    void apduAnswered(int reader, const vscard::Bytes& command, const vscard::Bytes& response);
    void readerRefused(int reader, const QString& why);

private:
    struct Reader {
        QString name;
        std::shared_ptr<LocalCard> card;
        std::shared_ptr<LocalCard> lastCard; // for insert without a card
        std::optional<std::uint32_t> hostId;
        bool removed = false; // removeReader(): gone from the host and from describe()
    };
    enum class Step { AddReader, RemoveReader, InsertCard, RemoveCard };
    struct Control {
        Step step;
        int reader;
        std::optional<std::uint32_t> hostId; // RemoveReader/RemoveCard of a gone reader
    };

    void onReady();
    void onLost();
    void onMessage(const Message& message);
    void onAcknowledgement(const Message& message);
    void onApdu(const Message& message);
    void onPowerRequest(const Message& message);
    // What the host gets when a card cannot answer.
    void sendGeneralError(std::uint32_t hostId);
    // A response for the host, counted for wait-apdu.
    void answer(int reader, std::uint32_t hostId, const Bytes& command, const Bytes& response);
    void enqueue(Control control);
    void sendNext();
    Reader* readerWithHostId(std::uint32_t hostId, int* number = nullptr);
    QString checkReader(int reader) const;

    HostLink& link_;
    std::vector<Reader> readers_;
    std::deque<Control> controls_;
    std::optional<Control> pending_;
    std::uint64_t connection_ = 0; // answers of an earlier connection are not sent
    int apdusInFlight_ = 0;
    std::optional<std::uint32_t> flushReader_;
    std::uint64_t apdusAnswered_ = 0;
    // The end of a response held back for the GET RESPONSE that follows
    // (vscard/qemu_quirks.h).
    std::map<std::uint32_t, Bytes> heldTails_;
};

} // namespace vscard::client
