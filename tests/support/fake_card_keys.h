// Card keys without NSS, for tests of the card alone: three certificates of chosen sizes, a
// PIN, and a "private-key operation" that reverses its input (enough to see what went in).
#pragma once

#include "vscard/cacard/card_keys.h"

#include <initializer_list>
#include <map>

namespace vscard::test {

class FakeCardKeys : public cacard::CardKeys {
public:
    explicit FakeCardKeys(std::initializer_list<std::size_t> certificateSizes = {673, 700, 300},
                          std::string pin = "12345678", std::size_t keyBits = 2048)
        : pin_(std::move(pin)), keyBits_(keyBits)
    {
        for (std::size_t size : certificateSizes) {
            Bytes der(size);
            for (std::size_t i = 0; i < size; ++i)
                der[i] = static_cast<std::uint8_t>(i * 3 + size);
            der[0] = 0x30;
            certificates_.push_back(der);
        }
    }

    std::size_t certificateCount() const override { return certificates_.size(); }
    const Bytes& certificate(std::size_t index) const override { return certificates_.at(index); }
    std::size_t keyBits(std::size_t) const override { return keyBits_; }
    Bytes sha256(ByteView data) const override
    {
        Bytes digest(32);
        for (std::size_t i = 0; i < digest.size(); ++i)
            digest[i] = static_cast<std::uint8_t>(data.size() + i * 7);
        return digest;
    }
    Bytes random(std::size_t count) const override { return Bytes(count, 0x5A); }
    cacard::PinCheck login(std::string_view pin) override
    {
        loggedIn_ = pin == pin_;
        return loggedIn_ ? cacard::PinCheck::Accepted : cacard::PinCheck::Rejected;
    }
    void logout() override { loggedIn_ = false; }
    bool loggedIn() const override { return loggedIn_; }
    bool needsLogin() const override { return needsPin; }
    bool pinTriesAreOurs() const override { return countsOwnTries; }
    Result<Bytes, std::string> rsaPrivate(std::size_t, ByteView input) override
    {
        return Bytes(input.rbegin(), input.rend());
    }
    std::optional<Bytes> dataObject(std::string_view label) override
    {
        const auto found = dataObjects.find(std::string(label));
        return found == dataObjects.end() ? std::nullopt : std::optional<Bytes>(found->second);
    }

    std::map<std::string, Bytes> dataObjects; // the token's CKO_DATA objects by label
    bool needsPin = true;                     // false: a database without a password
    bool countsOwnTries = true; // false: a hardware token, whose counter PKCS#11 hides

private:
    std::vector<Bytes> certificates_;
    std::string pin_;
    std::size_t keyBits_;
    bool loggedIn_ = false;
};

} // namespace vscard::test
