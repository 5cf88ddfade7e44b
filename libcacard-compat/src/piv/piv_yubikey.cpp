// The YubiKey PIV extensions (Yubico's "PIV commands" reference, as yubico-piv-tool 2.2 and
// ykman use them), members of PivCard in a file of their own.
#include "vscard/cacard/piv_card.h"

#include "piv_attestation.h"
#include "piv_defaults.h"
#include "piv_key_store.h"
#include "piv_management_auth.h"
#include "piv_objects.h"
#include "piv_state.h"
#include "vscard/apdu.h"

namespace vscard::cacard {

using namespace piv;

namespace {

Bytes status(std::uint16_t sw)
{
    return {static_cast<std::uint8_t>(sw >> 8), static_cast<std::uint8_t>(sw)};
}

// GET METADATA's tags.
constexpr std::uint32_t kMetaAlgorithm = 0x01;
constexpr std::uint32_t kMetaPolicy = 0x02;
constexpr std::uint32_t kMetaOrigin = 0x03;
constexpr std::uint32_t kMetaPublicKey = 0x04;
constexpr std::uint32_t kMetaIsDefault = 0x05;
constexpr std::uint32_t kMetaRetries = 0x06;
constexpr std::uint8_t kPinAlgorithm = 0xFF; // what the YubiKey says of a PIN's "algorithm"

} // namespace

Bytes PivCard::getVersion(const CommandApdu& command)
{
    return respond(Bytes(std::begin(kInterfaceVersion), std::end(kInterfaceVersion)), command);
}

Bytes PivCard::getSerial(const CommandApdu& command)
{
    Bytes serial;
    appendBigEndian32(serial, state_->serial);
    return respond(std::move(serial), command);
}

Bytes PivCard::getMetadata(const CommandApdu& command)
{
    if (command.p1() != 0x00)
        return status(0x6A86);
    const std::uint8_t reference = command.p2();
    Bytes out;
    if (reference == kPin || reference == kPuk) {
        const Credential& credential = reference == kPin ? state_->pin : state_->puk;
        appendBerTlv(out, kMetaAlgorithm, Bytes{kPinAlgorithm});
        // A database's PIN is its password: never the factory's.
        const bool isDefault =
            credential.isDefault && !(reference == kPin && settings_.databaseKeys);
        appendBerTlv(out, kMetaIsDefault, Bytes{static_cast<std::uint8_t>(isDefault)});
        appendBerTlv(out, kMetaRetries,
                     Bytes{static_cast<std::uint8_t>(credential.tries.maxTries()),
                           static_cast<std::uint8_t>(credential.tries.remaining())});
        return respond(std::move(out), command);
    }
    if (reference == kManagementKey) {
        const ManagementKey& key = state_->management;
        appendBerTlv(out, kMetaAlgorithm, Bytes{static_cast<std::uint8_t>(key.algorithm)});
        appendBerTlv(out, kMetaPolicy,
                     Bytes{static_cast<std::uint8_t>(PinPolicy::Never),
                           static_cast<std::uint8_t>(effectiveTouchPolicy(key.touch))});
        appendBerTlv(out, kMetaIsDefault, Bytes{static_cast<std::uint8_t>(key.isDefault)});
        return respond(std::move(out), command);
    }
    if (!isAsymmetricKeySlot(reference))
        return status(0x6A86);
    const auto found = state_->keys.find(reference);
    if (found == state_->keys.end() || (!keys_->has(reference) && !slotFromDatabase(reference)))
        return status(0x6A88);
    const KeySlot& key = found->second;
    auto publicKey = KeyStore::publicKeyMembers(key.publicKeyInfo);
    if (!publicKey)
        return status(0x6F00);
    appendBerTlv(out, kMetaAlgorithm, Bytes{static_cast<std::uint8_t>(key.algorithm)});
    appendBerTlv(out, kMetaPolicy,
                 Bytes{static_cast<std::uint8_t>(effectivePinPolicy(reference, key.pinPolicy)),
                       static_cast<std::uint8_t>(effectiveTouchPolicy(key.touchPolicy))});
    appendBerTlv(out, kMetaOrigin, Bytes{static_cast<std::uint8_t>(key.origin)});
    appendBerTlv(out, kMetaPublicKey, *publicKey);
    return respond(std::move(out), command);
}

Bytes PivCard::setManagementKey(const CommandApdu& command)
{
    // P2 FF: no touch needed; FE: touch always (kept as metadata: nothing here can be touched).
    if (command.p1() != 0xFF || (command.p2() != 0xFF && command.p2() != 0xFE))
        return status(0x6A86);
    if (!management_->authenticated())
        return status(0x6982);
    const Bytes& data = command.data();
    if (data.size() < 3 || data[1] != kManagementKey)
        return status(0x6A80);
    const auto algorithm = managementAlgorithm(data[0]);
    if (!algorithm || data[2] != symmetricKeyBytes(*algorithm) || data.size() != 3u + data[2])
        return status(0x6A80);
    ManagementKey& key = state_->management;
    key.algorithm = *algorithm;
    key.key.assign(data.begin() + 3, data.end());
    key.touch = command.p2() == 0xFE ? TouchPolicy::Always : TouchPolicy::Never;
    key.isDefault = key.algorithm == Algorithm::TripleDes && key.key == factoryManagementKey();
    return save() ? status(0x9000) : status(0x6581);
}

Bytes PivCard::setPinRetries(const CommandApdu& command)
{
    if (!management_->authenticated() || !pinVerified_)
        return status(0x6982);
    // 63Cx has four bits for the count: 1 to 15 tries.
    if (command.p1() == 0 || command.p1() > 15 || command.p2() == 0 || command.p2() > 15)
        return status(0x6A86);
    auto pin = makeCredential(paddedReferenceData(kFactoryPin), command.p1(), kFactoryPin);
    auto puk = makeCredential(paddedReferenceData(kFactoryPuk), command.p2(), kFactoryPuk);
    if (!pin || !puk)
        return status(0x6F00);
    state_->pin = std::move(pin).value();
    state_->puk = std::move(puk).value();
    return save() ? status(0x9000) : status(0x6581);
}

Bytes PivCard::resetApplication(const CommandApdu& command)
{
    (void)command;
    if (!state_->pin.blocked() || !state_->puk.blocked())
        return status(0x6985);
    auto fresh = factoryState(state_->serial);
    if (!fresh)
        return status(0x6F00);
    // The attestation key and its certificate are the card's, not its user's: they stay.
    keys_->eraseAllBut(kAttestationKey);
    const auto attestationKey = state_->keys.find(kAttestationKey);
    if (attestationKey != state_->keys.end())
        fresh->keys[kAttestationKey] = attestationKey->second;
    const auto attestationCertificate = state_->objects.find(*certificateObject(kAttestationKey));
    if (attestationCertificate != state_->objects.end())
        fresh->objects.insert(*attestationCertificate);
    *state_ = std::move(fresh).value();
    reset();
    databaseSlots_.clear();
    if (settings_.databaseKeys) // the database's certificates are its own, not the card's
        takeDatabaseCertificates();
    notify("PIV card " + serial() +
           " was reset: keys, objects, PIN, PUK and management key "
           "are the factory's again");
    return save() ? status(0x9000) : status(0x6581);
}

std::optional<std::string> PivCard::ensureAttestationKey()
{
    auto made = makeAttestationKey(*keys_, state_->serial);
    if (!made)
        return "cannot make the attestation key: " + made.error();
    KeySlot record;
    record.algorithm = Algorithm::EccP256;
    record.pinPolicy = PinPolicy::Never;
    record.touchPolicy = TouchPolicy::Never;
    record.publicKeyInfo = made->publicKeyInfo;
    state_->keys[kAttestationKey] = std::move(record);
    state_->objects[*certificateObject(kAttestationKey)] =
        certificateObjectValue(made->certificate);
    return std::nullopt;
}

Bytes PivCard::attest(const CommandApdu& command)
{
    const std::uint8_t slot = command.p1();
    if (command.p2() != 0x00 || !isAsymmetricKeySlot(slot) || slot == kAttestationKey)
        return status(0x6A86);
    const auto found = state_->keys.find(slot);
    if (found == state_->keys.end() || !keys_->has(slot))
        return status(0x6A88);
    // Only a key made on the card can be vouched for by it.
    if (found->second.origin != KeyOrigin::Generated)
        return status(0x6A80);
    const auto authority = state_->objects.find(*certificateObject(kAttestationKey));
    if (authority == state_->objects.end() || !keys_->has(kAttestationKey))
        return status(0x6A88);
    auto certificate = attestKey(*keys_, slot, found->second, state_->serial, authority->second);
    if (!certificate) {
        notify("PIV card " + serial() + ": " + certificate.error());
        return status(0x6F00);
    }
    return respond(std::move(certificate).value(), command);
}

Bytes PivCard::importKey(const CommandApdu& command)
{
    const std::uint8_t slot = command.p2();
    if (!isAsymmetricKeySlot(slot) || slot == kAttestationKey)
        return status(0x6A86);
    const auto algorithm = asymmetricAlgorithm(command.p1());
    if (!algorithm)
        return status(0x6A86);
    if (!management_->authenticated())
        return status(0x6982);
    auto members = parseBerTlvs(command.data());
    if (!members)
        return status(0x6A80);
    KeySlot record;
    record.algorithm = *algorithm;
    record.origin = KeyOrigin::Imported;
    for (const BerTlv& member : *members) {
        if (member.tag != 0xAA && member.tag != 0xAB)
            continue;
        if (member.value.size() != 1 || member.value[0] > 3)
            return status(0x6A80);
        if (member.tag == 0xAA)
            record.pinPolicy = static_cast<PinPolicy>(member.value[0]);
        else
            record.touchPolicy = static_cast<TouchPolicy>(member.value[0]);
    }
    Result<Bytes, std::string> publicKey = fail(std::string("no key"));
    if (isRsa(*algorithm)) {
        RsaComponents components;
        Bytes* parts[] = {&components.p, &components.q, &components.dp, &components.dq,
                          &components.qinv};
        const std::size_t half = rsaBits(*algorithm) / 16;
        for (std::uint32_t tag = 1; tag <= 5; ++tag) {
            const BerTlv* member = findBerTlv(*members, tag);
            if (!member || member->value.empty() || member->value.size() > half)
                return status(0x6A80);
            *parts[tag - 1] = member->value;
        }
        publicKey = keys_->importRsa(slot, *algorithm, components);
    } else {
        const BerTlv* scalar = findBerTlv(*members, 0x06);
        if (!scalar || scalar->value.size() != eccFieldBytes(*algorithm))
            return status(0x6A80);
        publicKey = keys_->importEcc(slot, *algorithm, scalar->value);
    }
    if (!publicKey) {
        notify("PIV card " + serial() + ": " + publicKey.error());
        return status(0x6A80);
    }
    record.publicKeyInfo = std::move(publicKey).value();
    state_->keys[slot] = std::move(record);
    databaseSlots_.erase(slot);
    return save() ? status(0x9000) : status(0x6581);
}

} // namespace vscard::cacard
