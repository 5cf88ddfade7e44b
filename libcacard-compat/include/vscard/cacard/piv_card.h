// The emulated PIV card: the PIV card application of NIST SP 800-73-4 Part 2 with the YubiKey
// PIV extensions most tools expect (GET VERSION, GET SERIAL, GET METADATA, SET MANAGEMENT
// KEY, SET PIN RETRIES, RESET), keys held by NSS (src/piv/piv_key_store.h) and everything else
// in a state (src/piv/piv_state.h), both kept in the card's state directory when it has one.
//
// A blank card is created with the factory defaults the tools assume: PIN 123456, PUK
// 12345678, the well-known 3DES management key; its serial and CHUID GUID are random, its
// own. It never calls itself a YubiKey: GET VERSION names the level of the YubiKey interface
// it implements, the ATR and the application label say vscard.
#pragma once

#include "vscard/cacard/apdu_chaining.h"
#include "vscard/cacard/ber_tlv.h"
#include "vscard/cacard/nss_card_keys.h"
#include "vscard/cacard/virtual_card.h"
#include "vscard/result.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace vscard {
class CommandApdu;
}

namespace vscard::cacard {

namespace piv {
class KeyStore;
class StateFile;
struct CardState;
class ManagementAuthentication;
} // namespace piv

struct PivCardSettings {
    // The card's own directory: created on first use, reused after, locked while the card
    // lives. Without one the card is new at every start and forgotten at exit.
    std::optional<std::string> stateDirectory;
    // Things the card's owner should hear about (the default management key in use, a state
    // that could not be saved); the host logs them.
    std::function<void(const std::string&)> notice;
    // A card made from an NSS database's certificates (soft=(...,PIV,...,cert1,...)):
    // certificate N goes to slot 9A, 9C, 9D, 9E, then the retired slots 82.., its key stays
    // in the database, and the PIN is the database's password. Keys generated on the card and
    // objects written to it are kept in the state directory as for a blank card.
    std::shared_ptr<NssCardKeys> databaseKeys;
};

// The slot of certificate `index` of a card made from a database.
std::uint8_t pivSlotOfCertificate(std::size_t index);

class PivCard : public VirtualCard {
public:
    static Result<std::unique_ptr<PivCard>, std::string> open(PivCardSettings settings);
    ~PivCard() override;
    PivCard(const PivCard&) = delete;
    PivCard& operator=(const PivCard&) = delete;

    static const Bytes& atr();
    // The level of the YubiKey PIV interface implemented, as GET VERSION answers it.
    static constexpr std::uint8_t kInterfaceVersion[3] = {5, 4, 3};

    std::string_view typeName() const override { return "PIV"; }
    const Bytes& answerToReset() const override { return atr(); }
    Bytes process(ByteView command) override;
    void reset() override;
    bool loggedIn() const override { return pinVerified_; }
    std::string serial() const override;
    std::size_t keyCount() const override;

    std::uint32_t serialNumber() const;
    unsigned pinTriesLeft() const;
    bool usesDefaultManagementKey() const;

private:
    PivCard(PivCardSettings settings, std::unique_ptr<piv::StateFile> file,
            std::unique_ptr<piv::KeyStore> keys, std::unique_ptr<piv::CardState> state);

    Bytes dispatch(const CommandApdu& command);
    Bytes select(const CommandApdu& command);
    Bytes getData(const CommandApdu& command);
    Bytes putData(const CommandApdu& command);
    Bytes verify(const CommandApdu& command);
    Bytes verifyPuk(const CommandApdu& command);
    Bytes changeReferenceData(const CommandApdu& command);
    Bytes resetRetryCounter(const CommandApdu& command);
    Bytes generalAuthenticate(const CommandApdu& command);
    Bytes privateKeyOperation(const CommandApdu& command, std::uint8_t slot,
                              const std::vector<BerTlv>& members);
    Bytes generateKeyPair(const CommandApdu& command);
    // The YubiKey extensions (piv_yubikey.cpp).
    Bytes getVersion(const CommandApdu& command);
    Bytes getSerial(const CommandApdu& command);
    Bytes getMetadata(const CommandApdu& command);
    Bytes setManagementKey(const CommandApdu& command);
    Bytes setPinRetries(const CommandApdu& command);
    Bytes resetApplication(const CommandApdu& command);
    Bytes importKey(const CommandApdu& command);
    Bytes attest(const CommandApdu& command);
    // Makes the attestation key and certificate if the card has none (first start, or a
    // state from before attestation existed).
    std::optional<std::string> ensureAttestationKey();

    // Saves the state; a failure is a notice and an error answer (6581 memory failure).
    bool save();
    void notify(const std::string& text) const;
    // Whether the PIN satisfies the slot's policy now; a PIN-always key uses it up.
    bool pinSatisfiedFor(std::uint8_t slot);
    // A card made from a database: its certificates as objects and key records, and (once
    // the database is logged in) its keys in their slots.
    void takeDatabaseCertificates();
    void adoptDatabaseKeys();
    bool slotFromDatabase(std::uint8_t slot) const;
    Bytes respond(Bytes data, const CommandApdu& command, std::uint16_t sw = 0x9000);
    // The PIN check of VERIFY: the card's own hash, or the database's password.
    PinCheck checkPin(ByteView padded);

    PivCardSettings settings_;
    std::unique_ptr<piv::StateFile> file_;
    std::unique_ptr<piv::KeyStore> keys_;
    std::unique_ptr<piv::CardState> state_;
    std::unique_ptr<piv::ManagementAuthentication> management_;
    CommandChain commandChain_;
    ResponseChain responseChain_;
    std::map<std::uint8_t, std::size_t> databaseSlots_; // slot -> certificate of databaseKeys
    bool pinVerified_ = false;
    bool pinJustVerified_ = false; // for keys whose PIN policy is "always"
};

} // namespace vscard::cacard
