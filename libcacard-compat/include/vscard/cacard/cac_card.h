// The emulated CAC (GSC-IS 2.1) as libcacard 2.8 presents it to OpenSC: the same ATR, the same
// 15 + N applets, the same files, properties, status words and 61xx buffering, byte for byte.
// Deliberate differences from libcacard, each a defect it has:
//   - VERIFY counts wrong PINs: 63Cx with the tries left, 6983 once blocked (libcacard: 6985,
//     no counter); the PIN status query answers 63Cx instead of 6A88;
//   - the CCC card identifier, and so the serial OpenSC shows, is derived from the card's
//     certificates (libcacard: one fixed value for every card);
//   - GET CHALLENGE answers random bytes (libcacard: 6D00 or 6900, so OpenSC's RNG fails);
//   - an unsigned block whose padding is broken is refused with 6984 (libcacard crashes).
#pragma once

#include "vscard/cacard/apdu_chaining.h"
#include "vscard/cacard/card_keys.h"
#include "vscard/cacard/pin_retry_state.h"
#include "vscard/cacard/virtual_card.h"

#include <array>
#include <memory>
#include <optional>

namespace vscard {
class CommandApdu;
}

namespace vscard::cacard {

class CacApplet;

// The 14 identifier bytes of a card's CCC, derived from all its certificates: each card its
// own serial. Also names the card's PIN state file.
Bytes cardIdentity(CardKeys& keys);

class CacCard : public VirtualCard {
public:
    static constexpr std::size_t kChannels = 4;

    CacCard(std::unique_ptr<CardKeys> keys, std::unique_ptr<PinRetryState> pin);
    ~CacCard() override;
    CacCard(const CacCard&) = delete;
    CacCard& operator=(const CacCard&) = delete;

    static const Bytes& atr();

    std::string_view typeName() const override { return "CAC"; }
    const Bytes& answerToReset() const override { return atr(); }
    Bytes process(ByteView command) override;
    void reset() override;
    std::string serial() const override;
    std::size_t keyCount() const override { return keys_->certificateCount(); }

    // The 14 bytes after the CCC card identifier's RID: what OpenSC reports as the serial.
    const Bytes& cardId() const { return cardId_; }
    std::size_t appletCount() const { return applets_.size(); }
    bool loggedIn() const override { return keys_->loggedIn(); }
    const PinRetryState& pinState() const { return *pin_; }

    // --- for the applets -------------------------------------------------------------------

    // data + sw if it fits ne (0: no Le field), else the data is kept for GET RESPONSE and the
    // answer is 61xx alone, as libcacard does.
    Bytes respond(Bytes data, std::uint32_t ne, std::uint16_t sw = 0x9000);
    CardKeys& keys() { return *keys_; }
    void setWindowsCompatibility() { windowsCompatibility_ = true; }

private:
    Bytes processWithoutApplet(const CommandApdu& command, std::size_t channel);
    Bytes select(const CommandApdu& command, std::size_t channel);
    Bytes verify(const CommandApdu& command);
    Bytes getResponse(const CommandApdu& command);
    Bytes getChallenge(const CommandApdu& command);

    std::unique_ptr<CardKeys> keys_;
    std::unique_ptr<PinRetryState> pin_;
    Bytes cardId_;
    std::vector<std::unique_ptr<CacApplet>> applets_;
    std::array<CacApplet*, kChannels> selected_{};
    // The rest of a response, for GET RESPONSE, as libcacard buffers it (6A88 when none).
    ResponseChain pending_{ResponseChain::Style::Libcacard, 0x6A88};
    bool windowsCompatibility_ = false;
};

} // namespace vscard::cacard
