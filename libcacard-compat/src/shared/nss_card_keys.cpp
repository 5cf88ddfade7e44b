#include "vscard/cacard/nss_card_keys.h"

#include <cert.h>
#include <keyhi.h>
#include <nss.h>
#include <pk11pub.h>
#include <prerror.h>
#include <secerr.h>

#include <cstdio>
#include <cstring>
#include <optional>

namespace vscard::cacard {

namespace {

// libcacard's default database.
constexpr const char* kDefaultDatabase = "sql:/etc/pki/nssdb";

// NSS must never prompt for a password: a card learns its PIN from VERIFY.
char* noPasswordPrompt(PK11SlotInfo*, PRBool, void*)
{
    return nullptr;
}

std::string nssError()
{
    const PRErrorCode code = PORT_GetError();
    const char* text = PR_ErrorToString(code, PR_LANGUAGE_I_DEFAULT);
    return std::string(text && *text ? text : "NSS error") + " (" + std::to_string(code) + ")";
}

CERTCertificate* asCertificate(void* pointer)
{
    return static_cast<CERTCertificate*>(pointer);
}
PK11SlotInfo* asSlot(void* pointer)
{
    return static_cast<PK11SlotInfo*>(pointer);
}
SECKEYPrivateKey* asKey(void* pointer)
{
    return static_cast<SECKEYPrivateKey*>(pointer);
}

// The PKCS#1 v1.5 block of a signature: 00 01 FF..FF 00 data. Returns the data, if it is one.
std::optional<Bytes> unpadSignatureBlock(ByteView block)
{
    if (block.size() < 11 || block[0] != 0x00 || block[1] != 0x01)
        return std::nullopt;
    std::size_t i = 2;
    while (i < block.size() && block[i] == 0xFF)
        ++i;
    if (i < 10 || i >= block.size() || block[i] != 0x00)
        return std::nullopt;
    return Bytes(block.begin() + static_cast<std::ptrdiff_t>(i + 1), block.end());
}

// The PKCS#1 v1.5 encryption block 00 02 PS 00 data, with PS random and non-zero, as a raw
// decryption would have returned it.
Result<Bytes, std::string> padDecryptionBlock(ByteView data, std::size_t modulusBytes)
{
    if (data.size() + 11 > modulusBytes)
        return fail(std::string("decrypted data does not fit the modulus"));
    Bytes block(modulusBytes, 0);
    block[1] = 0x02;
    const std::size_t paddingEnd = modulusBytes - data.size() - 1;
    for (std::size_t i = 2; i < paddingEnd; ++i) {
        do {
            if (PK11_GenerateRandom(&block[i], 1) != SECSuccess)
                return fail("no random bytes: " + nssError());
        } while (block[i] == 0);
    }
    std::memcpy(block.data() + paddingEnd + 1, data.data(), data.size());
    return block;
}

} // namespace

Result<std::shared_ptr<NssDatabase>, std::string> NssDatabase::open(const std::string& path)
{
    const std::string directory = path.empty() ? kDefaultDatabase : path;
    NSSInitParameters parameters = {};
    parameters.length = sizeof parameters;
    NSSInitContext* context = NSS_InitContext(directory.c_str(), "", "", "", &parameters,
                                              NSS_INIT_READONLY | NSS_INIT_NOROOTINIT);
    if (!context)
        return fail("cannot open the NSS database " + directory + ": " + nssError());
    PK11_SetPasswordFunc(noPasswordPrompt);
    return std::shared_ptr<NssDatabase>(new NssDatabase(directory, context));
}

NssDatabase::~NssDatabase()
{
    NSS_ShutdownContext(static_cast<NSSInitContext*>(context_));
}

void NssDatabase::acquireLogin(void* slot)
{
    std::lock_guard lock(loginMutex_);
    ++logins_[slot];
}

void NssDatabase::releaseLogin(void* slot)
{
    std::lock_guard lock(loginMutex_);
    auto found = logins_.find(slot);
    if (found == logins_.end())
        return;
    if (--found->second == 0) {
        PK11_Logout(static_cast<PK11SlotInfo*>(slot));
        logins_.erase(found);
    }
}

NssCardKeys::NssCardKeys(std::shared_ptr<NssDatabase> database, void* slot,
                         RsaMechanisms mechanisms)
    : database_(std::move(database)), slot_(PK11_ReferenceSlot(asSlot(slot))),
      tokenName_(PK11_GetTokenName(asSlot(slot))),
      rawRsa_(mechanisms == RsaMechanisms::RawWhereOffered &&
              PK11_DoesMechanism(asSlot(slot), CKM_RSA_X_509))
{
}

Result<std::unique_ptr<NssCardKeys>, std::string>
NssCardKeys::open(std::shared_ptr<NssDatabase> database, const SoftCardSource& source,
                  RsaMechanisms mechanisms)
{
    PK11SlotInfo* namedSlot = nullptr;
    if (!source.slotName.empty()) {
        namedSlot = PK11_FindSlotByName(source.slotName.c_str());
        if (!namedSlot)
            return fail("no NSS token named \"" + source.slotName + "\" in " + database->path());
    }
    std::vector<Certificate> certificates;
    auto destroyAll = [&certificates] {
        for (auto& entry : certificates)
            CERT_DestroyCertificate(asCertificate(entry.certificate));
    };
    for (const std::string& nickname : source.nicknames) {
        CERTCertificate* certificate = PK11_FindCertFromNickname(nickname.c_str(), nullptr);
        if (!certificate && source.skipMissing)
            continue;
        if (!certificate) {
            destroyAll();
            if (namedSlot)
                PK11_FreeSlot(namedSlot);
            return fail("certificate \"" + nickname + "\" is not in " + database->path());
        }
        Certificate entry;
        entry.nickname = nickname;
        entry.der.assign(certificate->derCert.data,
                         certificate->derCert.data + certificate->derCert.len);
        entry.certificate = certificate;
        certificates.push_back(std::move(entry));
    }
    // The token of the first certificate holds the keys (NSS's soft token for a plain
    // database).
    PK11SlotInfo* slot = nullptr;
    if (namedSlot)
        slot = namedSlot;
    else if (!certificates.empty() && asCertificate(certificates.front().certificate)->slot)
        slot = PK11_ReferenceSlot(asCertificate(certificates.front().certificate)->slot);
    else
        slot = PK11_GetInternalKeySlot();
    std::unique_ptr<NssCardKeys> keys(new NssCardKeys(std::move(database), slot, mechanisms));
    PK11_FreeSlot(slot);
    keys->certificates_ = std::move(certificates);
    return keys;
}

Result<std::unique_ptr<NssCardKeys>, std::string>
NssCardKeys::openToken(std::shared_ptr<NssDatabase> database, void* slot, RsaMechanisms mechanisms)
{
    std::unique_ptr<NssCardKeys> keys(new NssCardKeys(std::move(database), slot, mechanisms));
    // Objects, not NSS's certificate view: the token shows its certificates before login.
    PK11GenericObject* first = PK11_FindGenericObjects(asSlot(slot), CKO_CERTIFICATE);
    for (PK11GenericObject* object = first; object; object = PK11_GetNextGenericObject(object)) {
        if (keys->certificates_.size() == kMaxCertificatesPerCard)
            break;
        SECItem der = {siBuffer, nullptr, 0};
        if (PK11_ReadRawAttribute(PK11_TypeGeneric, object, CKA_VALUE, &der) != SECSuccess)
            continue;
        CERTCertificate* certificate =
            CERT_NewTempCertificate(CERT_GetDefaultCertDB(), &der, nullptr, PR_FALSE, PR_TRUE);
        SECITEM_FreeItem(&der, PR_FALSE);
        if (!certificate)
            continue;
        Certificate entry;
        entry.nickname = "certificate " + std::to_string(keys->certificates_.size() + 1) +
                         " of token \"" + keys->tokenName_ + "\"";
        entry.der.assign(certificate->derCert.data,
                         certificate->derCert.data + certificate->derCert.len);
        entry.certificate = certificate;
        keys->certificates_.push_back(std::move(entry));
    }
    if (first)
        PK11_DestroyGenericObjects(first);
    if (keys->certificates_.empty())
        return fail("token \"" + keys->tokenName_ + "\" shows no certificate");
    return keys;
}

NssCardKeys::~NssCardKeys()
{
    // A destructor must not throw (it would terminate the host process): logging out takes
    // the database's login mutex, whose lock may in principle fail.
    try {
        logout();
    } catch (const std::exception& error) {
        std::fprintf(stderr, "vscard: logging out of \"%s\": %s\n", tokenName_.c_str(),
                     error.what());
    } catch (...) {
        std::fprintf(stderr, "vscard: logging out of \"%s\" failed\n", tokenName_.c_str());
    }
    for (auto& entry : certificates_)
        CERT_DestroyCertificate(asCertificate(entry.certificate));
    PK11_FreeSlot(asSlot(slot_));
}

std::size_t NssCardKeys::keyBits(std::size_t index) const
{
    SECKEYPublicKey* key =
        CERT_ExtractPublicKey(asCertificate(certificates_.at(index).certificate));
    if (!key)
        return 0;
    const unsigned bits = SECKEY_PublicKeyStrengthInBits(key);
    SECKEY_DestroyPublicKey(key);
    return bits;
}

Bytes NssCardKeys::publicKeyInfo(std::size_t index) const
{
    const SECItem& info = asCertificate(certificates_.at(index).certificate)->derPublicKey;
    return Bytes(info.data, info.data + info.len);
}

Bytes NssCardKeys::sha256(ByteView data) const
{
    Bytes digest(32);
    PK11_HashBuf(SEC_OID_SHA256, digest.data(), data.data(), static_cast<PRInt32>(data.size()));
    return digest;
}

Bytes NssCardKeys::random(std::size_t count) const
{
    Bytes bytes(count);
    if (count > 0 && PK11_GenerateRandom(bytes.data(), static_cast<int>(count)) != SECSuccess)
        return {};
    return bytes;
}

PinCheck NssCardKeys::login(std::string_view pin)
{
    if (certificates_.empty())
        return PinCheck::Unusable;
    PK11SlotInfo* token = asSlot(slot_);
    const std::string terminated(pin);
    if (PK11_NeedLogin(token)) {
        if (PK11_CheckUserPassword(token, terminated.c_str()) != SECSuccess)
            return PORT_GetError() == SEC_ERROR_BAD_PASSWORD ? PinCheck::Rejected
                                                             : PinCheck::Unusable;
    }
    if (loggedIn_)
        return PinCheck::Accepted;
    database_->acquireLogin(token);
    loggedIn_ = true;
    // Found once per session and copied into a session object: the soft token keeps its
    // private keys encrypted under the password, and every operation on the token object
    // would pay the password-based key derivation again (about 35 ms on an sql: database).
    for (auto& entry : certificates_) {
        if (entry.privateKey)
            continue;
        SECKEYPrivateKey* tokenKey =
            PK11_FindPrivateKeyFromCert(token, asCertificate(entry.certificate), nullptr);
        if (!tokenKey)
            continue;
        SECKEYPrivateKey* sessionKey = PK11_CopyTokenPrivKeyToSessionPrivKey(token, tokenKey);
        if (sessionKey) {
            SECKEY_DestroyPrivateKey(tokenKey);
            entry.privateKey = sessionKey;
        } else {
            entry.privateKey = tokenKey; // a hardware key never leaves its token: same, slower
        }
    }
    return PinCheck::Accepted;
}

bool NssCardKeys::needsLogin() const
{
    return PK11_NeedLogin(asSlot(slot_)) != PR_FALSE;
}

bool NssCardKeys::pinTriesAreOurs() const
{
    // The database's own key slot holds an emulated card's keys; any other slot is a token.
    return PK11_IsInternal(asSlot(slot_)) != PR_FALSE;
}

void NssCardKeys::logout()
{
    if (!loggedIn_)
        return;
    for (auto& entry : certificates_) {
        if (entry.privateKey)
            SECKEY_DestroyPrivateKey(asKey(entry.privateKey));
        entry.privateKey = nullptr;
    }
    database_->releaseLogin(slot_);
    loggedIn_ = false;
}

Result<Bytes, std::string> NssCardKeys::rsaPrivate(std::size_t index, ByteView input)
{
    if (index >= certificates_.size())
        return fail(std::string("no such key"));
    SECKEYPrivateKey* key = asKey(certificates_[index].privateKey);
    if (!loggedIn_ || !key)
        return fail("no private key for \"" + certificates_[index].nickname +
                    "\" (not logged in?)");
    const int modulus = PK11_GetPrivateModulusLen(key);
    if (modulus <= 0 || input.size() != static_cast<std::size_t>(modulus))
        return fail("input of " + std::to_string(input.size()) + " bytes for a " +
                    std::to_string(modulus) + "-byte modulus");
    if (rawRsa_) {
        Bytes output(static_cast<std::size_t>(modulus));
        unsigned length = 0;
        if (PK11_PrivDecryptRaw(key, output.data(), &length, static_cast<unsigned>(output.size()),
                                const_cast<unsigned char*>(input.data()),
                                static_cast<unsigned>(input.size())) == SECSuccess) {
            output.resize(length);
            return output;
        }
    }
    return rsaWithPkcs1(key, input, static_cast<std::size_t>(modulus));
}

Result<Bytes, std::string> NssCardKeys::rsaWithPkcs1(void* privateKey, ByteView input,
                                                     std::size_t modulus)
{
    // Do what the block asks for with the PKCS#1 mechanisms, as libcacard does: a signature
    // block has a recognisable padding; anything else is a ciphertext.
    SECKEYPrivateKey* key = asKey(privateKey);
    Bytes output(modulus);
    if (const auto data = unpadSignatureBlock(input)) {
        SECItem digest = {siBuffer, const_cast<unsigned char*>(data->data()),
                          static_cast<unsigned>(data->size())};
        SECItem signature = {siBuffer, output.data(), static_cast<unsigned>(output.size())};
        if (PK11_SignWithMechanism(key, CKM_RSA_PKCS, nullptr, &signature, &digest) != SECSuccess)
            return fail("RSA signature failed: " + nssError());
        output.resize(signature.len);
        return output;
    }
    unsigned length = 0;
    if (PK11_PrivDecryptPKCS1(key, output.data(), &length, static_cast<unsigned>(output.size()),
                              const_cast<unsigned char*>(input.data()),
                              static_cast<unsigned>(input.size())) != SECSuccess)
        return fail("RSA decryption failed: " + nssError());
    output.resize(length);
    return padDecryptionBlock(output, modulus);
}

std::optional<Bytes> NssCardKeys::dataObject(std::string_view label)
{
    std::optional<Bytes> value;
    PK11GenericObject* first = PK11_FindGenericObjects(asSlot(slot_), CKO_DATA);
    for (PK11GenericObject* object = first; object && !value;
         object = PK11_GetNextGenericObject(object)) {
        SECItem found = {siBuffer, nullptr, 0};
        if (PK11_ReadRawAttribute(PK11_TypeGeneric, object, CKA_LABEL, &found) != SECSuccess)
            continue;
        const bool matches =
            std::string_view(reinterpret_cast<const char*>(found.data), found.len) == label;
        SECITEM_FreeItem(&found, PR_FALSE);
        if (!matches)
            continue;
        SECItem content = {siBuffer, nullptr, 0};
        if (PK11_ReadRawAttribute(PK11_TypeGeneric, object, CKA_VALUE, &content) != SECSuccess)
            continue;
        value = Bytes(content.data, content.data + content.len);
        SECITEM_FreeItem(&content, PR_FALSE);
    }
    if (first)
        PK11_DestroyGenericObjects(first);
    return value;
}

} // namespace vscard::cacard
