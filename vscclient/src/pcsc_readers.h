// --pcsc: the real readers of this machine's pcscd, each one a reader of the client, the card
// in it forwarded APDU by APDU.
//
// A monitor thread waits in SCardGetStatusChange (readers plugged and unplugged through
// pcsc-lite's \\?PnP?\Notification, cards inserted and removed; no polling loop) and survives
// pcscd restarts. Each card has a thread of its own for SCardTransmit, so a slow card never
// stalls the others or the host connection.
//
// Sharing with local applications (unless --exclusive): VSCard has no transactions, so between
// two commands of the guest a local application could slip in its own. The card is held in a
// PC/SC transaction while the guest is in the middle of something: a command chain (CLA bit
// 0x10), an answer still to be fetched (61xx), and from a successful VERIFY until the host
// resets or powers off the card. Otherwise the transaction ends after each command.
//
// PIN tries: before a VERIFY with a PIN, the card is asked how many tries are left (VERIFY
// without data); with one try left (or none) the VERIFY is not forwarded, whatever the PIN,
// and is answered 6985, unless --allow-last-pin-try. A local application with the right PIN
// (or the card's owner, with the PUK) has to restore the tries first.
#pragma once

#include "local_card.h"
#include "vscard_client.h"

#include <QObject>
#include <QRegularExpression>
#include <QThread>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace vscard::client {

struct PcscSettings {
    std::vector<QRegularExpression> readerFilters; // none: every reader
    bool exclusive = false;
    bool allowLastPinTry = false;
};

class PcscReaders : public QObject {
    Q_OBJECT

public:
    PcscReaders(VscardClient& client, PcscSettings settings, QObject* parent = nullptr);
    ~PcscReaders() override;

    void start();

private:
    struct Known {
        int clientReader = -1;
        std::shared_ptr<LocalCard> card;
        std::uint64_t cardGeneration = 0; // a card connected for an earlier insertion is stale
    };

    void monitor();
    bool wanted(const QString& reader) const;
    void onReaderAppeared(const QString& reader);
    void onReaderGone(const QString& reader);
    void onCardInserted(const QString& reader);
    void onCardRemoved(const QString& reader);

    VscardClient& client_;
    PcscSettings settings_;
    std::map<QString, Known> readers_;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::mutex contextMutex_;
    std::optional<long> context_; // the monitor's SCARDCONTEXT, for SCardCancel
};

} // namespace vscard::client
