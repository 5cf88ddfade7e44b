// Emulated CACs hosted by server-ccid itself (QEMU's ccid-card-emulated has this role): made
// from libcacard's options string, each in its own slot, answering in the event loop.
#pragma once

#include "reader_registry.h"
#include "vscard/cacard/cac_card.h"
#include "vscard/cacard/nss_card_keys.h"
#include "vscard/cacard/soft_cards.h"

#include <QString>

#include <memory>
#include <optional>
#include <vector>

namespace vscard::server {

class EmulatedCard : public ServedCard {
public:
    explicit EmulatedCard(std::unique_ptr<cacard::VirtualCard> card) : card_(std::move(card)) {}

    bool acceptsExtendedApdu() const override { return true; }
    // Power reaches the card: a reset or power-off logs it out, as a real card would.
    bool forwardsPower() const override { return true; }
    void transmit(Bytes command, Completion done) override;
    void power(PowerAction action, Completion done) override;
    void detach() override { detached_ = true; }
    bool hasOperationInFlight() const override { return false; }
    const Bytes& atr() const { return card_->answerToReset(); }
    // Where the card sits, for the audit trail's VERIFY events.
    void setAuditPlace(int slot, QString readerName)
    {
        auditSlot_ = slot;
        auditName_ = std::move(readerName);
    }

private:
    int auditSlot_ = -1;
    QString auditName_;
    std::unique_ptr<cacard::VirtualCard> card_;
    bool detached_ = false;
};

struct EmulatedReader {
    QString name;
    std::shared_ptr<EmulatedCard> card;
};

using EmulationSettings = cacard::CardSettings;

// What one --card emulated:OPTIONS asks for: its soft= cards, made, and the database whose
// hardware tokens are to be mirrored (use_hw=).
struct EmulatedCards {
    std::vector<EmulatedReader> softCards;
    std::shared_ptr<cacard::NssDatabase> database;
    cacard::HardwareUse hardwareUse = cacard::HardwareUse::No;
};

// An error names what is wrong.
Result<EmulatedCards, QString> makeEmulatedCards(const QString& options,
                                                 const EmulationSettings& settings);

} // namespace vscard::server
