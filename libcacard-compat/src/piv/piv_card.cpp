#include "vscard/cacard/piv_card.h"

#include "piv_crypto.h"
#include "piv_defaults.h"
#include "piv_key_store.h"
#include "piv_management_auth.h"
#include "piv_objects.h"
#include "piv_state.h"
#include "vscard/apdu.h"

#include <atomic>
#include <exception>

namespace vscard::cacard {

using namespace piv;

namespace {

const Bytes kPivAid = {0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00};
constexpr std::size_t kReferenceDataBytes = 8; // a PIN or PUK, padded with FF

Bytes status(std::uint16_t sw)
{
    return {static_cast<std::uint8_t>(sw >> 8), static_cast<std::uint8_t>(sw)};
}

Bytes triesLeft(const Credential& credential)
{
    return credential.tries.refusal();
}

// 6 to 8 bytes, then FF up to 8 (SP 800-73-4 Part 2, 2.4.3; the YubiKey takes any byte
// values, and so do we, but not FF inside the value).
bool wellFormedReferenceData(ByteView data)
{
    if (data.size() != kReferenceDataBytes)
        return false;
    std::size_t length = 0;
    while (length < data.size() && data[length] != 0xFF)
        ++length;
    for (std::size_t i = length; i < data.size(); ++i)
        if (data[i] != 0xFF)
            return false;
    return length >= 6;
}

bool matches(const Credential& credential, ByteView value)
{
    const auto hash = secretHash(value, credential.salt);
    return hash && equalInConstantTime(*hash, credential.hash);
}

} // namespace

const Bytes& PivCard::atr()
{
    // T=0 and T=1 (yubico-piv-tool connects with T=1 only), historical bytes in compact-TLV
    // naming the PIV application (tag F, its AID without version), and the check byte T=1
    // requires. OpenSC then types the card "PIV from historical bytes", the one type it
    // gives no quirks (a YubiKey's ATR says YubiKey; ours does not).
    static const Bytes atr = [] {
        Bytes bytes = {0x3B, 0x8B, 0x80, 0x01, 0x80, 0xF9, 0xA0, 0x00,
                       0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00};
        std::uint8_t check = 0;
        for (std::size_t i = 1; i < bytes.size(); ++i)
            check ^= bytes[i];
        bytes.push_back(check);
        return bytes;
    }();
    return atr;
}

Result<std::unique_ptr<PivCard>, std::string> PivCard::open(PivCardSettings settings)
{
    auto file = StateFile::open(settings.stateDirectory);
    if (!file)
        return fail(file.error());
    // The key store starts NSS, which the factory state needs for its random bytes and
    // hashes; its token is named by a number unique in the process, as NSS requires.
    static std::atomic<unsigned> cardsOpened{0};
    auto keys =
        KeyStore::open(settings.stateDirectory, "vscard PIV card " + std::to_string(++cardsOpened));
    if (!keys)
        return fail(keys.error());
    auto state = std::make_unique<CardState>();
    const bool created = !(*file)->loaded();
    if (created) {
        auto made = factoryState();
        if (!made)
            return fail(made.error());
        *state = std::move(made).value();
    } else {
        *state = *(*file)->loaded();
    }
    std::unique_ptr<PivCard> card(new PivCard(std::move(settings), std::move(file).value(),
                                              std::move(keys).value(), std::move(state)));
    if (card->settings_.databaseKeys)
        card->takeDatabaseCertificates();
    // The state and the key database are written one after the other; a crash between them
    // leaves a key without a record or a record without its key: neither is used.
    bool changed = created;
    for (auto it = card->state_->keys.begin(); it != card->state_->keys.end();) {
        if (card->keys_->algorithm(it->first) == it->second.algorithm ||
            card->slotFromDatabase(it->first)) {
            ++it;
            continue;
        }
        card->notify("key slot " + std::to_string(it->first) +
                     " has a record but no key in the key database; it is empty now");
        it = card->state_->keys.erase(it);
        changed = true;
    }
    if (!card->keys_->has(kAttestationKey)) {
        if (const auto error = card->ensureAttestationKey())
            return fail(*error);
        changed = true;
    }
    if (changed && !card->save())
        return fail(std::string("cannot save the card's state"));
    if (card->usesDefaultManagementKey())
        card->notify("PIV card " + card->serial() +
                     " uses the factory default management key: anyone who reaches the card "
                     "can replace its keys; set your own (yubico-piv-tool -a set-mgm-key)");
    return card;
}

PivCard::PivCard(PivCardSettings settings, std::unique_ptr<StateFile> file,
                 std::unique_ptr<KeyStore> keys, std::unique_ptr<CardState> state)
    : settings_(std::move(settings)), file_(std::move(file)), keys_(std::move(keys)),
      state_(std::move(state)), management_(std::make_unique<ManagementAuthentication>())
{
}

PivCard::~PivCard() = default;

std::uint8_t pivSlotOfCertificate(std::size_t index)
{
    static constexpr std::uint8_t kPrimary[] = {kAuthenticationKey, kSignatureKey,
                                                kKeyManagementKey, kCardAuthenticationKey};
    if (index < 4)
        return kPrimary[index];
    return static_cast<std::uint8_t>(kFirstRetiredKey + (index - 4));
}

void PivCard::takeDatabaseCertificates()
{
    NssCardKeys& database = *settings_.databaseKeys;
    for (std::size_t index = 0; index < database.certificateCount(); ++index) {
        const std::uint8_t slot = pivSlotOfCertificate(index);
        if (keys_->has(slot))
            continue; // a key generated or imported on the card since replaces the database's
        const Bytes publicKey = database.publicKeyInfo(index);
        const auto algorithm = KeyStore::algorithmOfPublicKey(publicKey);
        if (!algorithm) {
            notify("certificate " + std::to_string(index + 1) +
                   " has a key of no PIV algorithm; its slot stays empty");
            continue;
        }
        KeySlot record;
        record.algorithm = *algorithm;
        record.origin = KeyOrigin::Imported;
        record.publicKeyInfo = publicKey;
        state_->keys[slot] = std::move(record);
        state_->objects[*certificateObject(slot)] =
            certificateObjectValue(database.certificate(index));
        databaseSlots_[slot] = index;
    }
    // A database without a password needs no PIN: its keys are there from the start.
    if (!database.needsLogin() && database.login("") == PinCheck::Accepted)
        adoptDatabaseKeys();
}

void PivCard::adoptDatabaseKeys()
{
    for (const auto& [slot, index] : databaseSlots_) {
        if (void* key = settings_.databaseKeys->privateKey(index)) {
            auto adopted = keys_->adopt(slot, key);
            if (!adopted)
                notify("PIV card " + serial() + ": certificate " + std::to_string(index + 1) +
                       ": " + adopted.error());
        }
    }
}

bool PivCard::slotFromDatabase(std::uint8_t slot) const
{
    return databaseSlots_.count(slot) != 0;
}

PinCheck PivCard::checkPin(ByteView padded)
{
    if (!settings_.databaseKeys)
        return wellFormedReferenceData(padded) && matches(state_->pin, padded) ? PinCheck::Accepted
                                                                               : PinCheck::Rejected;
    std::string pin(padded.begin(), padded.end());
    while (!pin.empty() && static_cast<unsigned char>(pin.back()) == 0xFF)
        pin.pop_back();
    settings_.databaseKeys->logout();
    const PinCheck check = settings_.databaseKeys->login(pin);
    if (check == PinCheck::Accepted)
        adoptDatabaseKeys();
    return check;
}

std::string PivCard::serial() const
{
    return std::to_string(state_->serial);
}

std::uint32_t PivCard::serialNumber() const
{
    return state_->serial;
}

unsigned PivCard::pinTriesLeft() const
{
    return state_->pin.tries.remaining();
}

std::size_t PivCard::keyCount() const
{
    return state_->keys.size() - state_->keys.count(kAttestationKey);
}

bool PivCard::usesDefaultManagementKey() const
{
    return state_->management.isDefault;
}

void PivCard::notify(const std::string& text) const
{
    if (settings_.notice)
        settings_.notice(text);
}

bool PivCard::save()
{
    if (const auto error = file_->save(*state_)) {
        notify("PIV card " + serial() + ": " + *error);
        return false;
    }
    return true;
}

void PivCard::reset()
{
    if (settings_.databaseKeys && settings_.databaseKeys->needsLogin()) {
        for (const auto& [slot, index] : databaseSlots_)
            keys_->erase(slot);
        settings_.databaseKeys->logout();
    }
    pinVerified_ = false;
    pinJustVerified_ = false;
    management_->clear();
    commandChain_.clear();
    responseChain_.clear();
}

Bytes PivCard::respond(Bytes data, const CommandApdu& command, std::uint16_t sw)
{
    return responseChain_.respond(std::move(data), command.ne(), sw);
}

Bytes PivCard::process(ByteView bytes)
{
    try {
        auto parsed = CommandApdu::parse(bytes);
        if (!parsed)
            return status(0x6700);
        CommandApdu command = std::move(parsed).value();
        if ((command.cla() & 0x0C) != 0)
            return status(0x6882); // secure messaging
        if ((command.cla() & ~0x10) != 0x00)
            return status(0x6E00);
        if (command.ins() == 0xC0) {
            if (command.p1() != 0 || command.p2() != 0)
                return status(0x6A86);
            return responseChain_.next(command.ne());
        }
        responseChain_.clear();
        switch (commandChain_.feed(command)) {
        case CommandChain::Step::Continue: return status(0x9000);
        case CommandChain::Step::TooLong: return status(0x6A84);
        case CommandChain::Step::Complete: break;
        }
        return dispatch(command);
    } catch (const std::exception& error) {
        // Nothing a client sends may take the host down; say what broke and answer
        // "no precise diagnosis".
        notify(std::string("PIV card: ") + error.what());
    } catch (...) {
        notify("PIV card: unknown failure");
    }
    return status(0x6F00);
}

Bytes PivCard::dispatch(const CommandApdu& command)
{
    switch (command.ins()) {
    case 0xA4: return select(command);
    case 0xCB: return getData(command);
    case 0xDB: return putData(command);
    case 0x20: return verify(command);
    case 0x24: return changeReferenceData(command);
    case 0x2C: return resetRetryCounter(command);
    case 0x87: return generalAuthenticate(command);
    case 0x47: return generateKeyPair(command);
    case 0xFD: return getVersion(command);
    case 0xF8: return getSerial(command);
    case 0xF7: return getMetadata(command);
    case 0xFF: return setManagementKey(command);
    case 0xFA: return setPinRetries(command);
    case 0xFB: return resetApplication(command);
    case 0xFE: return importKey(command);
    case 0xF9: return attest(command);
    default: return status(0x6D00);
    }
}

Bytes PivCard::select(const CommandApdu& command)
{
    // The PIV application is the card's only one, always selected: a SELECT of anything
    // else fails and leaves it so (ISO 7816-4: the current selection stays on failure).
    if (command.p1() != 0x04)
        return status(0x6A82);
    if (command.p2() != 0x00)
        return status(0x6A86);
    const Bytes& aid = command.data();
    if (aid.size() < 5 || aid.size() > kPivAid.size() ||
        !std::equal(aid.begin(), aid.end(), kPivAid.begin()))
        return status(0x6A82);
    Bytes authority;
    appendBerTlv(authority, 0x4F, ByteView(kPivAid).first(5));
    Bytes algorithms;
    for (Algorithm algorithm :
         {Algorithm::TripleDes, Algorithm::Aes128, Algorithm::Aes192, Algorithm::Aes256,
          Algorithm::Rsa1024, Algorithm::Rsa2048, Algorithm::Rsa3072, Algorithm::Rsa4096,
          Algorithm::EccP256, Algorithm::EccP384})
        appendBerTlv(algorithms, 0x80, Bytes{static_cast<std::uint8_t>(algorithm)});
    appendBerTlv(algorithms, 0x06, Bytes{0x00});
    Bytes template_;
    appendBerTlv(template_, 0x4F, ByteView(kPivAid).subspan(5)); // PIX with its version
    appendBerTlv(template_, 0x79, authority);
    const std::string_view label = "vscard PIV";
    appendBerTlv(template_, 0x50, Bytes(label.begin(), label.end()));
    appendBerTlv(template_, 0xAC, algorithms);
    return respond(encodeBerTlv(0x61, template_), command);
}

Bytes PivCard::getData(const CommandApdu& command)
{
    if (command.p1() != 0x3F || command.p2() != 0xFF)
        return status(0x6A86);
    auto request = parseFirstBerTlv(command.data());
    if (!request || request->second != command.nc() || request->first.tag != 0x5C ||
        request->first.value.empty() || request->first.value.size() > 3)
        return status(0x6A80);
    std::uint32_t tag = 0;
    for (std::uint8_t byte : request->first.value)
        tag = (tag << 8) | byte;
    const auto access = readAccess(tag);
    if (!access)
        return status(0x6A82);
    if (*access == ReadAccess::Pin && !pinVerified_)
        return status(0x6982);
    if (tag == kKeyHistoryObject)
        return respond(encodeBerTlv(0x53, keyHistory(*state_)), command);
    const auto found = state_->objects.find(tag);
    if (found == state_->objects.end())
        return status(0x6A82);
    return respond(encodeBerTlv(tag == kDiscoveryObject ? 0x7E : 0x53, found->second), command);
}

Bytes PivCard::putData(const CommandApdu& command)
{
    if (command.p1() != 0x3F || command.p2() != 0xFF)
        return status(0x6A86);
    if (!management_->authenticated())
        return status(0x6982);
    auto members = parseBerTlvs(command.data());
    if (!members || members->empty())
        return status(0x6A80);
    std::uint32_t tag = 0;
    const Bytes* value = nullptr;
    if (members->size() == 1 && members->front().tag == kDiscoveryObject) {
        tag = kDiscoveryObject;
        value = &members->front().value;
    } else {
        const BerTlv* name = findBerTlv(*members, 0x5C);
        const BerTlv* content = findBerTlv(*members, 0x53);
        if (members->size() != 2 || !name || !content || name->value.empty() ||
            name->value.size() > 3)
            return status(0x6A80);
        for (std::uint8_t byte : name->value)
            tag = (tag << 8) | byte;
        value = &content->value;
    }
    if (!writable(tag))
        return status(0x6A80);
    if (value->size() > kMaxObjectBytes)
        return status(0x6A84);
    if (value->empty())
        state_->objects.erase(tag);
    else
        state_->objects[tag] = *value;
    return save() ? status(0x9000) : status(0x6581);
}

Bytes PivCard::verify(const CommandApdu& command)
{
    if (command.p1() == 0xFF) { // reset the PIN's security status (SP 800-73-4 Part 2, 3.2.1)
        if (command.p2() != kPin || command.nc() != 0)
            return status(0x6A80);
        pinVerified_ = false;
        pinJustVerified_ = false;
        return status(0x9000);
    }
    if (command.p1() != 0x00)
        return status(0x6A86);
    if (command.p2() == kPuk)
        return verifyPuk(command);
    if (command.p2() != kPin) // the global PIN is not offered
        return status(0x6A88);
    Credential& pin = state_->pin;
    if (command.nc() == 0)
        return pinVerified_ ? status(0x9000) : triesLeft(pin);
    if (pin.blocked())
        return status(0x6983);
    if (command.nc() != kReferenceDataBytes)
        return status(0x6A80);
    // A malformed PIN (all FF, FF inside) is a wrong one and counts, as on a YubiKey: ykcs11's
    // C_InitToken blocks the PIN with FF..FF.
    const PinCheck check = checkPin(command.data());
    if (check == PinCheck::Unusable)
        return status(0x6985);
    if (check == PinCheck::Accepted) {
        pinVerified_ = true;
        pinJustVerified_ = true;
        if (pin.tries.remaining() != pin.tries.maxTries()) {
            pin.tries.recordSuccess();
            if (!save())
                return status(0x6581);
        }
        return status(0x9000);
    }
    pinVerified_ = false;
    pinJustVerified_ = false;
    pin.tries.recordFailure();
    if (!save())
        return status(0x6581);
    return triesLeft(pin);
}

Bytes PivCard::verifyPuk(const CommandApdu& command)
{
    // OpenSC's security officer login (C_Login CKU_SO) is a VERIFY of the PUK: it is checked
    // and counted like the PIN, and grants nothing by itself; unblocking still takes RESET
    // RETRY COUNTER with the PUK in it.
    Credential& puk = state_->puk;
    if (command.nc() == 0)
        return triesLeft(puk);
    if (puk.blocked())
        return status(0x6983);
    if (command.nc() != kReferenceDataBytes)
        return status(0x6A80);
    if (wellFormedReferenceData(command.data()) && matches(puk, command.data())) {
        if (puk.tries.remaining() != puk.tries.maxTries()) {
            puk.tries.recordSuccess();
            if (!save())
                return status(0x6581);
        }
        return status(0x9000);
    }
    puk.tries.recordFailure();
    return save() ? triesLeft(puk) : status(0x6581);
}

Bytes PivCard::changeReferenceData(const CommandApdu& command)
{
    if (command.p1() != 0x00)
        return status(0x6A86);
    if (command.p2() != kPin && command.p2() != kPuk)
        return status(0x6A88);
    if (command.p2() == kPin && settings_.databaseKeys) {
        notify("PIV card " + serial() +
               ": its PIN is the NSS database's password; change that with certutil -W");
        return status(0x6985);
    }
    Credential& credential = command.p2() == kPin ? state_->pin : state_->puk;
    if (credential.blocked())
        return status(0x6983);
    if (command.nc() != 2 * kReferenceDataBytes)
        return status(0x6A80);
    const ByteView current = ByteView(command.data()).first(kReferenceDataBytes);
    const ByteView next = ByteView(command.data()).subspan(kReferenceDataBytes);
    if (!wellFormedReferenceData(current) || !wellFormedReferenceData(next))
        return status(0x6A80);
    if (!matches(credential, current)) {
        credential.tries.recordFailure();
        if (command.p2() == kPin)
            pinVerified_ = false;
        return save() ? triesLeft(credential) : status(0x6581);
    }
    auto replaced = makeCredential(next, static_cast<std::uint8_t>(credential.tries.maxTries()),
                                   command.p2() == kPin ? kFactoryPin : kFactoryPuk);
    if (!replaced)
        return status(0x6F00);
    credential = std::move(replaced).value();
    return save() ? status(0x9000) : status(0x6581);
}

Bytes PivCard::resetRetryCounter(const CommandApdu& command)
{
    if (command.p1() != 0x00)
        return status(0x6A86);
    if (command.p2() != kPin)
        return status(0x6A88);
    Credential& puk = state_->puk;
    if (puk.blocked())
        return status(0x6983);
    if (command.nc() != 2 * kReferenceDataBytes)
        return status(0x6A80);
    const ByteView unblocking = ByteView(command.data()).first(kReferenceDataBytes);
    const ByteView newPin = ByteView(command.data()).subspan(kReferenceDataBytes);
    if (!wellFormedReferenceData(unblocking) || !wellFormedReferenceData(newPin))
        return status(0x6A80);
    if (!matches(puk, unblocking)) {
        puk.tries.recordFailure();
        return save() ? triesLeft(puk) : status(0x6581);
    }
    if (settings_.databaseKeys) {
        // The PIN stays the database's password: the PUK unblocks it only when the "new" PIN
        // is that password.
        puk.tries.recordSuccess();
        if (checkPin(newPin) != PinCheck::Accepted) {
            settings_.databaseKeys->logout();
            return save() ? status(0x6A80) : status(0x6581);
        }
        state_->pin.tries.recordSuccess();
        return save() ? status(0x9000) : status(0x6581);
    }
    auto pin = makeCredential(newPin, static_cast<std::uint8_t>(state_->pin.tries.maxTries()),
                              kFactoryPin);
    if (!pin)
        return status(0x6F00);
    puk.tries.recordSuccess();
    state_->pin = std::move(pin).value();
    pinVerified_ = false;
    return save() ? status(0x9000) : status(0x6581);
}

bool PivCard::pinSatisfiedFor(std::uint8_t slot)
{
    const auto found = state_->keys.find(slot);
    const PinPolicy stored =
        found == state_->keys.end() ? PinPolicy::Default : found->second.pinPolicy;
    switch (effectivePinPolicy(slot, stored)) {
    case PinPolicy::Never: return true;
    case PinPolicy::Always: {
        const bool fresh = pinVerified_ && pinJustVerified_;
        pinJustVerified_ = false; // one VERIFY, one use
        return fresh;
    }
    default: return pinVerified_;
    }
}

Bytes PivCard::generalAuthenticate(const CommandApdu& command)
{
    auto outer = parseFirstBerTlv(command.data());
    if (!outer || outer->second != command.nc() || outer->first.tag != 0x7C)
        return status(0x6A80);
    auto members = parseBerTlvs(outer->first.value);
    if (!members)
        return status(0x6A80);
    const std::uint8_t reference = command.p2();
    if (reference == kManagementKey) {
        // OpenSC asks for random bytes as a 9B challenge with algorithm 00, whatever the key.
        const bool challengeRequest =
            members->size() == 1 && members->front().tag == 0x81 && members->front().value.empty();
        if (command.p1() != static_cast<std::uint8_t>(state_->management.algorithm) &&
            !(command.p1() == 0x00 && challengeRequest))
            return status(0x6A86);
        auto answer = management_->step(state_->management, *members);
        if (answer.sw == 0x9000 && management_->authenticated() && usesDefaultManagementKey())
            notify("PIV card " + serial() +
                   ": authenticated with the factory default management key");
        if (answer.data.empty())
            return status(answer.sw);
        return respond(std::move(answer.data), command, answer.sw);
    }
    if (!isAsymmetricKeySlot(reference) || reference == kAttestationKey)
        return status(0x6A86);
    const auto held = keys_->algorithm(reference);
    if (!held) // a database's key is there once its password, the PIN, opened it
        return status(slotFromDatabase(reference) ? 0x6982 : 0x6A88);
    if (command.p1() != static_cast<std::uint8_t>(*held))
        return status(0x6A86);
    return privateKeyOperation(command, reference, *members);
}

Bytes PivCard::privateKeyOperation(const CommandApdu& command, std::uint8_t slot,
                                   const std::vector<BerTlv>& members)
{
    const BerTlv* response = findBerTlv(members, 0x82);
    const BerTlv* challenge = findBerTlv(members, 0x81);
    const BerTlv* exponentiation = findBerTlv(members, 0x85);
    if (!response || !response->value.empty() || (!challenge == !exponentiation))
        return status(0x6A80);
    const Algorithm algorithm = *keys_->algorithm(slot);
    if (exponentiation && !isEcc(algorithm))
        return status(0x6A80);
    if (challenge && isEcc(algorithm) &&
        (challenge->value.empty() || challenge->value.size() > 2 * eccFieldBytes(algorithm)))
        return status(0x6A80);
    if (challenge && isRsa(algorithm) && challenge->value.size() != rsaBits(algorithm) / 8)
        return status(0x6A80);
    if (!pinSatisfiedFor(slot))
        return status(0x6982);
    Result<Bytes, std::string> result = exponentiation ? keys_->ecdh(slot, exponentiation->value)
                                        : isRsa(algorithm)
                                            ? keys_->rsaPrivate(slot, challenge->value)
                                            : keys_->ecdsaSign(slot, challenge->value);
    if (!result) {
        notify("PIV card " + serial() + ": " + result.error());
        return status(exponentiation ? 0x6A80 : 0x6F00);
    }
    return respond(encodeBerTlv(0x7C, encodeBerTlv(0x82, *result)), command);
}

Bytes PivCard::generateKeyPair(const CommandApdu& command)
{
    if (command.p1() != 0x00)
        return status(0x6A86);
    const std::uint8_t slot = command.p2();
    if (!isAsymmetricKeySlot(slot) || slot == kAttestationKey)
        return status(0x6A86);
    if (!management_->authenticated())
        return status(0x6982);
    auto outer = parseFirstBerTlv(command.data());
    if (!outer || outer->second != command.nc() || outer->first.tag != 0xAC)
        return status(0x6A80);
    auto members = parseBerTlvs(outer->first.value);
    if (!members)
        return status(0x6A80);
    const BerTlv* algorithmMember = findBerTlv(*members, 0x80);
    const BerTlv* pinMember = findBerTlv(*members, 0xAA);
    const BerTlv* touchMember = findBerTlv(*members, 0xAB);
    if (!algorithmMember || algorithmMember->value.size() != 1)
        return status(0x6A80);
    const auto algorithm = asymmetricAlgorithm(algorithmMember->value[0]);
    if (!algorithm)
        return status(0x6A80);
    KeySlot record;
    record.algorithm = *algorithm;
    if (pinMember) {
        if (pinMember->value.size() != 1 || pinMember->value[0] > 3)
            return status(0x6A80);
        record.pinPolicy = static_cast<PinPolicy>(pinMember->value[0]);
    }
    if (touchMember) {
        if (touchMember->value.size() != 1 || touchMember->value[0] > 3)
            return status(0x6A80);
        record.touchPolicy = static_cast<TouchPolicy>(touchMember->value[0]);
    }
    auto publicKey = keys_->generate(slot, *algorithm);
    if (!publicKey) {
        notify("PIV card " + serial() + ": " + publicKey.error());
        return status(0x6F00);
    }
    auto members86 = KeyStore::publicKeyMembers(*publicKey);
    if (!members86)
        return status(0x6F00);
    record.publicKeyInfo = std::move(publicKey).value();
    state_->keys[slot] = std::move(record);
    databaseSlots_.erase(slot); // the card's own key now, not the database's
    if (!save())
        return status(0x6581);
    return respond(encodeBerTlv(0x7F49, *members86), command);
}

} // namespace vscard::cacard
