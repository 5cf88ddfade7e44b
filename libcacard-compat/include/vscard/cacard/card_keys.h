// What an emulated card needs from its key store: certificates, PIN verification, and the raw
// RSA private-key operation behind SIGN/DECRYPT. NssCardKeys implements it on an NSS database;
// unit tests of the card use a fake.
#pragma once

#include "vscard/bytes.h"
#include "vscard/result.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vscard::cacard {

enum class PinCheck {
    Accepted,
    Rejected, // the PIN is wrong
    Unusable, // the token could not check it (not initialised, no PIN set, ...)
};

class CardKeys {
public:
    virtual ~CardKeys() = default;

    virtual std::size_t certificateCount() const = 0;
    // DER of certificate `index`, in the order the options list them.
    virtual const Bytes& certificate(std::size_t index) const = 0;
    // Size of the RSA modulus of key `index` in bits.
    virtual std::size_t keyBits(std::size_t index) const = 0;
    // SHA-256, for the card's identity (the crypto library is the key store's).
    virtual Bytes sha256(ByteView data) const = 0;
    // Random bytes for GET CHALLENGE.
    virtual Bytes random(std::size_t count) const = 0;
    // Checks the PIN against the token and, if it is right, unlocks the keys for this card
    // until logout(): later operations do not pay the password derivation again.
    virtual PinCheck login(std::string_view pin) = 0;
    virtual void logout() = 0;
    virtual bool loggedIn() const = 0;
    // Whether the keys need a PIN at all: an NSS database without a password does not, and
    // its card counts as verified (libcacard: the soft token "unlocked automatically").
    virtual bool needsLogin() const { return true; }
    // Whether the PIN's retry counter is the card's own, kept by us (an emulated card), or
    // the token's, which PKCS#11 does not tell (a hardware token mirrored through a module).
    virtual bool pinTriesAreOurs() const { return true; }
    // RSA without padding: input is one modulus-sized block (a padded hash to sign, or a
    // ciphertext to decrypt); the result is the block raised to the private exponent.
    virtual Result<Bytes, std::string> rsaPrivate(std::size_t index, ByteView input) = 0;
    // The value of the token's data object with this label (CKO_DATA, CKA_LABEL), for the
    // Person Instance and Personnel applets; nullopt when there is none.
    virtual std::optional<Bytes> dataObject(std::string_view label)
    {
        (void)label;
        return std::nullopt;
    }
};

} // namespace vscard::cacard
