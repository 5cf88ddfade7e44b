// An emulated CAC (libcacard-compat's core, linked statically: nothing of it clashes with a
// system libcacard) as a card of the client.
#pragma once

#include "local_card.h"
#include "vscard/cacard/cac_card.h"

#include <memory>

namespace vscard::client {

class EmulatedCardSource : public LocalCard {
public:
    explicit EmulatedCardSource(std::unique_ptr<cacard::VirtualCard> card) : card_(std::move(card))
    {
    }

    Bytes atr() const override { return card_->answerToReset(); }
    void transmit(Bytes command, Completion done) override { done(card_->process(command)); }
    void power(PowerAction action, Completion done) override
    {
        card_->reset(); // power off and every reset log the card out
        done(action == PowerAction::Off ? Bytes{} : card_->answerToReset());
    }

private:
    std::unique_ptr<cacard::VirtualCard> card_;
};

} // namespace vscard::client
