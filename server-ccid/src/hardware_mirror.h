// Hardware tokens mirrored as emulated CACs (--card emulated:... use_hw=yes|removable), as
// QEMU's ccid-card-emulated does with libcacard: every removable PKCS#11 slot of the NSS
// database becomes a reader, a token in it a card, and inserting or removing the token is a
// card event. PKCS#11 calls can block (a real card, a remote pcscd), so the tokens are watched
// and their cards answer in a thread of their own: the event loop never waits for a token.
#pragma once

#include "emulated_card.h"
#include "reader_registry.h"
#include "vscard/cacard/cac_card.h"
#include "vscard/cacard/hardware_tokens.h"

#include <QObject>
#include <QPointer>
#include <QThread>

#include <map>
#include <memory>

namespace vscard::server {

// A card made from a token: its APDUs run on the token thread, the answers come back to the
// event loop. Once detached, nothing more is answered.
class MirroredCard : public ServedCard, public std::enable_shared_from_this<MirroredCard> {
public:
    MirroredCard(std::shared_ptr<cacard::CacCard> card, QObject* tokenThreadContext, QObject* home)
        : card_(std::move(card)), tokenThreadContext_(tokenThreadContext), home_(home)
    {
    }

    bool acceptsExtendedApdu() const override { return true; }
    bool forwardsPower() const override { return true; }
    void transmit(Bytes command, Completion done) override;
    void power(PowerAction action, Completion done) override;
    void detach() override { detached_ = true; }
    bool hasOperationInFlight() const override { return inFlight_ > 0; }

private:
    void runOnTokenThread(std::function<Result<Bytes, std::string>()> work, Completion done);

    std::shared_ptr<cacard::CacCard> card_;
    QPointer<QObject> tokenThreadContext_;
    QPointer<QObject> home_;
    int inFlight_ = 0;
    bool detached_ = false;
};

class HardwareMirror : public QObject {
    Q_OBJECT

public:
    // ownPcscName: the FRIENDLYNAME of our own PC/SC readers, whose slots are never mirrored.
    HardwareMirror(std::shared_ptr<cacard::NssDatabase> database, cacard::HardwareUse use,
                   const QString& ownPcscName, EmulationSettings settings, ReaderRegistry& registry,
                   QObject* parent = nullptr);
    ~HardwareMirror() override;

    void start();

private:
    struct Update {
        cacard::TokenEvent event;
        std::shared_ptr<cacard::CacCard> card; // for TokenInserted, unless it failed
        std::string problem;
    };
    void pollOnTokenThread();
    void apply(const std::vector<Update>& updates);

    std::unique_ptr<cacard::HardwareTokens> tokens_; // used on the token thread only
    EmulationSettings settings_;
    ReaderRegistry& registry_;
    QThread thread_;
    QObject* tokenThreadContext_; // lives on thread_
    std::map<std::size_t, int> readerOfSlot_;
};

} // namespace vscard::server
