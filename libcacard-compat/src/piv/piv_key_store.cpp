#include "piv_key_store.h"

#include "piv_crypto.h"
#include "piv_ec_point.h"
#include "vscard/cacard/ber_tlv.h"

#include <cryptohi.h>
#include <keyhi.h>
#include <nss.h>
#include <pk11pub.h>
#include <secmod.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sys/stat.h>
#include <vector>

namespace vscard::cacard::piv {

namespace {

// DER of the named curves' OIDs, as NSS takes EC parameters.
const Bytes kP256Parameters = {0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
const Bytes kP384Parameters = {0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22};

PK11SlotInfo* asSlot(void* pointer)
{
    return static_cast<PK11SlotInfo*>(pointer);
}
SECKEYPrivateKey* asKey(void* pointer)
{
    return static_cast<SECKEYPrivateKey*>(pointer);
}

std::string nickname(std::uint8_t slot)
{
    char text[32];
    std::snprintf(text, sizeof text, "vscard-piv-%02x", slot);
    return text;
}

std::optional<std::uint8_t> slotOfNickname(const char* name)
{
    unsigned slot = 0;
    char tail = 0;
    if (!name || std::sscanf(name, "vscard-piv-%02x%c", &slot, &tail) != 1 || slot > 0xFF)
        return std::nullopt;
    return static_cast<std::uint8_t>(slot);
}

const Bytes& curveParameters(Algorithm algorithm)
{
    return algorithm == Algorithm::EccP384 ? kP384Parameters : kP256Parameters;
}

std::optional<Algorithm> algorithmOf(SECKEYPrivateKey* key)
{
    switch (SECKEY_GetPrivateKeyType(key)) {
    case rsaKey:
        switch (PK11_GetPrivateModulusLen(key) * 8) {
        case 1024: return Algorithm::Rsa1024;
        case 2048: return Algorithm::Rsa2048;
        case 3072: return Algorithm::Rsa3072;
        case 4096: return Algorithm::Rsa4096;
        default: return std::nullopt;
        }
    case ecKey: {
        SECItem parameters = {siBuffer, nullptr, 0};
        if (PK11_ReadRawAttribute(PK11_TypePrivKey, key, CKA_EC_PARAMS, &parameters) != SECSuccess)
            return std::nullopt;
        const Bytes found(parameters.data, parameters.data + parameters.len);
        SECITEM_FreeItem(&parameters, PR_FALSE);
        if (found == kP256Parameters)
            return Algorithm::EccP256;
        if (found == kP384Parameters)
            return Algorithm::EccP384;
        return std::nullopt;
    }
    default: return std::nullopt;
    }
}

// Removes the permanent objects a slot's key left in the token (private and public halves).
void deleteTokenObjects(PK11SlotInfo* token, std::uint8_t slot)
{
    const std::string name = nickname(slot);
    if (SECKEYPrivateKeyList* keys =
            PK11_ListPrivKeysInSlot(token, const_cast<char*>(name.c_str()), nullptr)) {
        for (SECKEYPrivateKeyListNode* node = PRIVKEY_LIST_HEAD(keys);
             !PRIVKEY_LIST_END(node, keys); node = PRIVKEY_LIST_NEXT(node))
            PK11_DestroyTokenObject(node->key->pkcs11Slot, node->key->pkcs11ID);
        SECKEY_DestroyPrivateKeyList(keys);
    }
    if (SECKEYPublicKeyList* keys =
            PK11_ListPublicKeysInSlot(token, const_cast<char*>(name.c_str()))) {
        for (SECKEYPublicKeyListNode* node = PUBKEY_LIST_HEAD(keys); !PUBKEY_LIST_END(node, keys);
             node = PUBKEY_LIST_NEXT(node))
            PK11_DestroyTokenObject(node->key->pkcs11Slot, node->key->pkcs11ID);
        SECKEY_DestroyPublicKeyList(keys);
    }
}

// Removes the slot's earlier private keys from the token, all but the one just made.
void deleteOtherTokenKeys(PK11SlotInfo* token, std::uint8_t slot, CK_OBJECT_HANDLE keep)
{
    const std::string name = nickname(slot);
    if (SECKEYPrivateKeyList* keys =
            PK11_ListPrivKeysInSlot(token, const_cast<char*>(name.c_str()), nullptr)) {
        for (SECKEYPrivateKeyListNode* node = PRIVKEY_LIST_HEAD(keys);
             !PRIVKEY_LIST_END(node, keys); node = PRIVKEY_LIST_NEXT(node))
            if (node->key->pkcs11ID != keep)
                PK11_DestroyTokenObject(node->key->pkcs11Slot, node->key->pkcs11ID);
        SECKEY_DestroyPrivateKeyList(keys);
    }
}

} // namespace

Result<std::unique_ptr<KeyStore>, std::string>
KeyStore::open(const std::optional<std::string>& directory, const std::string& tokenLabel)
{
    // NSS without a database of its own: the card's database is opened beside whatever else
    // the process has open (the user's database of a CAC, QEMU's own).
    NSSInitParameters parameters = {};
    parameters.length = sizeof parameters;
    NSSInitContext* context = NSS_InitContext("", "", "", "", &parameters,
                                              NSS_INIT_NOCERTDB | NSS_INIT_NOMODDB |
                                                  NSS_INIT_FORCEOPEN | NSS_INIT_NOROOTINIT);
    if (!context)
        return fail("cannot start NSS: " + nssErrorText());
    if (!directory) {
        std::unique_ptr<KeyStore> store(new KeyStore(context, PK11_GetInternalSlot(), false));
        return store;
    }
    const std::string database = *directory + "/nssdb";
    if (database.find('\'') != std::string::npos || database.find('"') != std::string::npos) {
        NSS_ShutdownContext(context);
        return fail("a state directory's path cannot hold quotes: " + *directory);
    }
    if (::mkdir(database.c_str(), 0700) != 0 && errno != EEXIST) {
        NSS_ShutdownContext(context);
        return fail("cannot create " + database + ": " + std::strerror(errno));
    }
    const std::string spec =
        "configdir='sql:" + database + "' tokenDescription='" + tokenLabel + "'";
    PK11SlotInfo* slot = SECMOD_OpenUserDB(spec.c_str());
    if (!slot) {
        const std::string error = nssErrorText();
        NSS_ShutdownContext(context);
        return fail("cannot open the key database " + database + ": " + error);
    }
    // A new database gets an empty password: the card's PIN is checked by the card, and keys
    // whose PIN policy is "never" must work without one.
    if (PK11_NeedUserInit(slot) && PK11_InitPin(slot, nullptr, "") != SECSuccess) {
        const std::string error = nssErrorText();
        SECMOD_CloseUserDB(slot);
        PK11_FreeSlot(slot);
        NSS_ShutdownContext(context);
        return fail("cannot initialise the key database " + database + ": " + error);
    }
    if (PK11_NeedLogin(slot) && PK11_Authenticate(slot, PR_FALSE, nullptr) != SECSuccess) {
        SECMOD_CloseUserDB(slot);
        PK11_FreeSlot(slot);
        NSS_ShutdownContext(context);
        return fail("the key database " + database +
                    " has a password; the card keeps its database without one");
    }
    std::unique_ptr<KeyStore> store(new KeyStore(context, slot, true));
    store->loadPermanentKeys();
    return store;
}

KeyStore::~KeyStore()
{
    for (auto& [slot, held] : keys_)
        SECKEY_DestroyPrivateKey(asKey(held.privateKey));
    keys_.clear();
    if (persistent_)
        SECMOD_CloseUserDB(asSlot(slot_));
    PK11_FreeSlot(asSlot(slot_));
    NSS_ShutdownContext(static_cast<NSSInitContext*>(context_));
}

void KeyStore::loadPermanentKeys()
{
    SECKEYPrivateKeyList* list = PK11_ListPrivKeysInSlot(asSlot(slot_), nullptr, nullptr);
    if (!list)
        return;
    for (SECKEYPrivateKeyListNode* node = PRIVKEY_LIST_HEAD(list); !PRIVKEY_LIST_END(node, list);
         node = PRIVKEY_LIST_NEXT(node)) {
        char* name = PK11_GetPrivateKeyNickname(node->key);
        const auto slot = slotOfNickname(name);
        PORT_Free(name);
        const auto algorithm = algorithmOf(node->key);
        if (!slot || !algorithm || keys_.count(*slot))
            continue;
        keys_[*slot] = {SECKEY_CopyPrivateKey(node->key), *algorithm};
    }
    SECKEY_DestroyPrivateKeyList(list);
}

std::optional<Algorithm> KeyStore::algorithm(std::uint8_t slot) const
{
    const auto found = keys_.find(slot);
    if (found == keys_.end())
        return std::nullopt;
    return found->second.algorithm;
}

void* KeyStore::keyOf(std::uint8_t slot) const
{
    const auto found = keys_.find(slot);
    return found == keys_.end() ? nullptr : found->second.privateKey;
}

Result<Bytes, std::string> KeyStore::hold(std::uint8_t slot, void* privateKey, void* publicKey)
{
    SECKEYPrivateKey* key = asKey(privateKey);
    auto* pub = static_cast<SECKEYPublicKey*>(publicKey);
    const auto algorithm = algorithmOf(key);
    SECItem* info = pub ? SECKEY_EncodeDERSubjectPublicKeyInfo(pub) : nullptr;
    if (!algorithm || !info) {
        if (info)
            SECITEM_FreeItem(info, PR_TRUE);
        return fail(std::string("the key is of no algorithm a PIV slot holds"));
    }
    Bytes der(info->data, info->data + info->len);
    SECITEM_FreeItem(info, PR_TRUE);
    erase(slot);
    if (persistent_ && key->pkcs11Slot == asSlot(slot_)) { // ours, not an adopted key
        PK11_SetPrivateKeyNickname(key, nickname(slot).c_str());
        // A public key made from the private one (an import) is no object of the token.
        if (pub->pkcs11Slot == asSlot(slot_) && pub->pkcs11ID != CK_INVALID_HANDLE)
            PK11_SetPublicKeyNickname(pub, nickname(slot).c_str());
    }
    keys_[slot] = {SECKEY_CopyPrivateKey(key), *algorithm};
    return der;
}

Result<Bytes, std::string> KeyStore::generate(std::uint8_t slot, Algorithm algorithm)
{
    SECKEYPublicKey* pub = nullptr;
    SECKEYPrivateKey* key = nullptr;
    if (isRsa(algorithm)) {
        PK11RSAGenParams parameters = {static_cast<int>(rsaBits(algorithm)), 65537};
        key = PK11_GenerateKeyPair(asSlot(slot_), CKM_RSA_PKCS_KEY_PAIR_GEN, &parameters, &pub,
                                   persistent_, PR_TRUE, nullptr);
    } else if (isEcc(algorithm)) {
        const Bytes& curve = curveParameters(algorithm);
        SECKEYECParams parameters = {siDEROID, const_cast<unsigned char*>(curve.data()),
                                     static_cast<unsigned>(curve.size())};
        key = PK11_GenerateKeyPair(asSlot(slot_), CKM_EC_KEY_PAIR_GEN, &parameters, &pub,
                                   persistent_, PR_TRUE, nullptr);
    } else {
        return fail("no key pair of " + std::string(algorithmName(algorithm)));
    }
    if (!key)
        return fail("key generation failed: " + nssErrorText());
    if (persistent_)
        deleteTokenObjects(asSlot(slot_), slot); // the old key, now that the new one exists
    auto held = hold(slot, key, pub);
    SECKEY_DestroyPrivateKey(key);
    SECKEY_DestroyPublicKey(pub);
    return held;
}

Result<Bytes, std::string> KeyStore::importRsa(std::uint8_t slot, Algorithm algorithm,
                                               const RsaComponents& components)
{
    if (!isRsa(algorithm))
        return fail(std::string("not an RSA algorithm"));
    // IMPORT gives the primes and CRT values but not the modulus nor the private exponent:
    // NSS's soft token computes them from the primes and the public exponent (the YubiKey's
    // 65537) when a key is created without them.
    CK_OBJECT_CLASS keyClass = CKO_PRIVATE_KEY;
    CK_KEY_TYPE keyType = CKK_RSA;
    CK_BBOOL yes = CK_TRUE;
    CK_BBOOL token = persistent_ ? CK_TRUE : CK_FALSE;
    const std::string label = nickname(slot);
    auto id = randomBytes(16);
    if (!id)
        return fail(id.error());
    unsigned char exponent[] = {0x01, 0x00, 0x01};
    const auto attribute = [](CK_ATTRIBUTE_TYPE type, const void* value, std::size_t size) {
        return CK_ATTRIBUTE{type, const_cast<void*>(value), static_cast<CK_ULONG>(size)};
    };
    CK_ATTRIBUTE attributes[] = {
        attribute(CKA_CLASS, &keyClass, sizeof keyClass),
        attribute(CKA_KEY_TYPE, &keyType, sizeof keyType),
        attribute(CKA_TOKEN, &token, 1),
        attribute(CKA_PRIVATE, &yes, 1),
        attribute(CKA_SENSITIVE, &yes, 1),
        attribute(CKA_SIGN, &yes, 1),
        attribute(CKA_DECRYPT, &yes, 1),
        attribute(CKA_ID, id->data(), id->size()),
        attribute(CKA_LABEL, label.data(), label.size()),
        attribute(CKA_PUBLIC_EXPONENT, exponent, sizeof exponent),
        attribute(CKA_PRIME_1, components.p.data(), components.p.size()),
        attribute(CKA_PRIME_2, components.q.data(), components.q.size()),
        attribute(CKA_EXPONENT_1, components.dp.data(), components.dp.size()),
        attribute(CKA_EXPONENT_2, components.dq.data(), components.dq.size()),
        attribute(CKA_COEFFICIENT, components.qinv.data(), components.qinv.size()),
    };
    PK11GenericObject* object = PK11_CreateGenericObject(
        asSlot(slot_), attributes, sizeof attributes / sizeof attributes[0], persistent_);
    if (!object)
        return fail("NSS refused the RSA key: " + nssErrorText());
    PK11_DestroyGenericObject(object); // the handle only; the key stays
    SECItem idItem = {siBuffer, id->data(), static_cast<unsigned>(id->size())};
    SECKEYPrivateKey* key = PK11_FindKeyByKeyID(asSlot(slot_), &idItem, nullptr);
    if (!key)
        return fail("the imported key is not found again: " + nssErrorText());
    if (algorithmOf(key) != algorithm) {
        PK11_DeleteTokenPrivateKey(key, PR_FALSE);
        return fail(std::string("the primes make a key of another size than the algorithm says"));
    }
    return holdImported(slot, key);
}

Result<Bytes, std::string> KeyStore::importEcc(std::uint8_t slot, Algorithm algorithm,
                                               ByteView privateScalar)
{
    auto point = ecPublicPoint(algorithm, privateScalar);
    if (!point)
        return fail(point.error());
    // PKCS#8 PrivateKeyInfo of an ECPrivateKey with its public key, as NSS imports one.
    static const Bytes kEcPublicKeyOid = {0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01};
    Bytes publicBits = {0x00};
    publicBits.insert(publicBits.end(), point->begin(), point->end());
    Bytes ecKey;
    appendBerTlv(ecKey, 0x02, Bytes{0x01});
    appendBerTlv(ecKey, 0x04, privateScalar);
    appendBerTlv(ecKey, 0xA1, encodeBerTlv(0x03, publicBits));
    Bytes algorithmId = kEcPublicKeyOid;
    const Bytes& curve = curveParameters(algorithm);
    algorithmId.insert(algorithmId.end(), curve.begin(), curve.end());
    Bytes info;
    appendBerTlv(info, 0x02, Bytes{0x00});
    appendBerTlv(info, 0x30, algorithmId);
    appendBerTlv(info, 0x04, encodeBerTlv(0x30, ecKey));
    Bytes der = encodeBerTlv(0x30, info);
    const std::string label = nickname(slot);
    SECItem derItem = {siBuffer, der.data(), static_cast<unsigned>(der.size())};
    SECItem labelItem = {siBuffer,
                         reinterpret_cast<unsigned char*>(const_cast<char*>(label.data())),
                         static_cast<unsigned>(label.size())};
    SECKEYPrivateKey* key = nullptr;
    const SECStatus imported = PK11_ImportDERPrivateKeyInfoAndReturnKey(
        asSlot(slot_), &derItem, &labelItem, nullptr, persistent_, PR_TRUE, KU_ALL, &key, nullptr);
    std::fill(der.begin(), der.end(), 0); // the scalar was in it
    if (imported != SECSuccess || !key)
        return fail("NSS refused the EC key: " + nssErrorText());
    return holdImported(slot, key);
}

Result<Bytes, std::string> KeyStore::holdImported(std::uint8_t slot, void* privateKey)
{
    SECKEYPrivateKey* key = asKey(privateKey);
    SECKEYPublicKey* pub = SECKEY_ConvertToPublicKey(key);
    if (!pub) {
        const std::string error = nssErrorText();
        PK11_DeleteTokenPrivateKey(key, PR_FALSE);
        return fail("no public key for the imported key: " + error);
    }
    if (persistent_)
        deleteOtherTokenKeys(asSlot(slot_), slot, key->pkcs11ID);
    auto held = hold(slot, key, pub);
    SECKEY_DestroyPrivateKey(key);
    SECKEY_DestroyPublicKey(pub);
    return held;
}

Result<Bytes, std::string> KeyStore::adopt(std::uint8_t slot, void* privateKey)
{
    SECKEYPrivateKey* key = asKey(privateKey);
    SECKEYPublicKey* pub = SECKEY_ConvertToPublicKey(key);
    if (!pub)
        return fail("no public key for the key: " + nssErrorText());
    auto held = hold(slot, key, pub);
    SECKEY_DestroyPublicKey(pub);
    return held;
}

void KeyStore::erase(std::uint8_t slot)
{
    const auto found = keys_.find(slot);
    if (found != keys_.end()) {
        SECKEY_DestroyPrivateKey(asKey(found->second.privateKey));
        keys_.erase(found);
    }
}

void KeyStore::eraseAllBut(std::uint8_t keep)
{
    std::vector<std::uint8_t> slots;
    for (const auto& [slot, held] : keys_)
        if (slot != keep)
            slots.push_back(slot);
    for (std::uint8_t slot : slots) {
        erase(slot);
        if (persistent_)
            deleteTokenObjects(asSlot(slot_), slot);
    }
}

Result<Bytes, std::string> KeyStore::rsaPrivate(std::uint8_t slot, ByteView block)
{
    SECKEYPrivateKey* key = asKey(keyOf(slot));
    if (!key || !isRsa(keys_.at(slot).algorithm))
        return fail(std::string("no RSA key in the slot"));
    const int modulus = PK11_GetPrivateModulusLen(key);
    if (modulus <= 0 || block.size() != static_cast<std::size_t>(modulus))
        return fail("a block of " + std::to_string(block.size()) + " bytes for a " +
                    std::to_string(modulus) + "-byte modulus");
    Bytes output(static_cast<std::size_t>(modulus));
    unsigned length = 0;
    if (PK11_PrivDecryptRaw(key, output.data(), &length, static_cast<unsigned>(output.size()),
                            const_cast<unsigned char*>(block.data()),
                            static_cast<unsigned>(block.size())) != SECSuccess)
        return fail("the RSA operation failed: " + nssErrorText());
    // A result with leading zero bytes comes back shorter; the block is modulus-sized.
    output.resize(length);
    output.insert(output.begin(), static_cast<std::size_t>(modulus) - length, 0);
    return output;
}

Result<Bytes, std::string> KeyStore::ecdsaSign(std::uint8_t slot, ByteView digest)
{
    SECKEYPrivateKey* key = asKey(keyOf(slot));
    if (!key || !isEcc(keys_.at(slot).algorithm))
        return fail(std::string("no EC key in the slot"));
    const int length = PK11_SignatureLen(key);
    if (length <= 0)
        return fail("no signature length: " + nssErrorText());
    Bytes raw(static_cast<std::size_t>(length));
    SECItem signature = {siBuffer, raw.data(), static_cast<unsigned>(raw.size())};
    SECItem hash = {siBuffer, const_cast<unsigned char*>(digest.data()),
                    static_cast<unsigned>(digest.size())};
    if (PK11_SignWithMechanism(key, CKM_ECDSA, nullptr, &signature, &hash) != SECSuccess)
        return fail("ECDSA failed: " + nssErrorText());
    SECItem der = {siBuffer, nullptr, 0};
    if (DSAU_EncodeDerSigWithLen(&der, &signature, signature.len) != SECSuccess)
        return fail("cannot encode the signature: " + nssErrorText());
    Bytes out(der.data, der.data + der.len);
    SECITEM_FreeItem(&der, PR_FALSE);
    return out;
}

Result<Bytes, std::string> KeyStore::ecdh(std::uint8_t slot, ByteView peerPoint)
{
    SECKEYPrivateKey* key = asKey(keyOf(slot));
    if (!key || !isEcc(keys_.at(slot).algorithm))
        return fail(std::string("no EC key in the slot"));
    const Algorithm algorithm = keys_.at(slot).algorithm;
    const std::size_t field = eccFieldBytes(algorithm);
    if (peerPoint.size() != 1 + 2 * field || peerPoint[0] != 0x04)
        return fail(
            std::string("the peer's point is not an uncompressed point of the key's curve"));
    PLArenaPool* arena = PORT_NewArena(DER_DEFAULT_CHUNKSIZE);
    if (!arena)
        return fail(std::string("out of memory"));
    auto* peer = PORT_ArenaZNew(arena, SECKEYPublicKey);
    peer->arena = arena;
    peer->keyType = ecKey;
    peer->pkcs11ID = CK_INVALID_HANDLE;
    const Bytes& curve = curveParameters(algorithm);
    SECItem curveItem = {siDEROID, const_cast<unsigned char*>(curve.data()),
                         static_cast<unsigned>(curve.size())};
    SECItem pointItem = {siBuffer, const_cast<unsigned char*>(peerPoint.data()),
                         static_cast<unsigned>(peerPoint.size())};
    SECITEM_CopyItem(arena, &peer->u.ec.DEREncodedParams, &curveItem);
    SECITEM_CopyItem(arena, &peer->u.ec.publicValue, &pointItem);
    peer->u.ec.size = static_cast<unsigned>(field * 8);
    peer->u.ec.encoding = ECPoint_Uncompressed;
    PK11SymKey* shared = PK11_PubDeriveWithKDF(key, peer, PR_FALSE, nullptr, nullptr,
                                               CKM_ECDH1_DERIVE, CKM_GENERIC_SECRET_KEY_GEN,
                                               CKA_DERIVE, 0, CKD_NULL, nullptr, nullptr);
    SECKEY_DestroyPublicKey(peer); // frees the arena
    if (!shared)
        return fail("ECDH failed: " + nssErrorText());
    Result<Bytes, std::string> secret = fail("cannot read the shared secret: " + nssErrorText());
    if (PK11_ExtractKeyValue(shared) == SECSuccess) {
        const SECItem* value = PK11_GetKeyData(shared);
        if (value)
            secret = Bytes(value->data, value->data + value->len);
    }
    PK11_FreeSymKey(shared);
    return secret;
}

Result<Bytes, std::string> KeyStore::publicKeyMembers(ByteView publicKeyInfo)
{
    SECItem der = {siBuffer, const_cast<unsigned char*>(publicKeyInfo.data()),
                   static_cast<unsigned>(publicKeyInfo.size())};
    CERTSubjectPublicKeyInfo* info = SECKEY_DecodeDERSubjectPublicKeyInfo(&der);
    if (!info)
        return fail("not a SubjectPublicKeyInfo: " + nssErrorText());
    SECKEYPublicKey* key = SECKEY_ExtractPublicKey(info);
    SECKEY_DestroySubjectPublicKeyInfo(info);
    if (!key)
        return fail("no public key in the SubjectPublicKeyInfo: " + nssErrorText());
    // DER integers may carry a leading zero byte; PIV's values do not.
    const auto unsignedValue = [](const SECItem& item) {
        std::size_t skip = 0;
        while (skip + 1 < item.len && item.data[skip] == 0)
            ++skip;
        return Bytes(item.data + skip, item.data + item.len);
    };
    Result<Bytes, std::string> members = fail(std::string("neither an RSA nor an EC key"));
    if (key->keyType == rsaKey) {
        Bytes out;
        appendBerTlv(out, 0x81, unsignedValue(key->u.rsa.modulus));
        appendBerTlv(out, 0x82, unsignedValue(key->u.rsa.publicExponent));
        members = std::move(out);
    } else if (key->keyType == ecKey) {
        members = encodeBerTlv(0x86, Bytes(key->u.ec.publicValue.data,
                                           key->u.ec.publicValue.data + key->u.ec.publicValue.len));
    }
    SECKEY_DestroyPublicKey(key);
    return members;
}

int KeyStore::certificateSignatureAlgorithm(std::uint8_t slot) const
{
    const auto held = algorithm(slot);
    if (held == Algorithm::EccP384)
        return SEC_OID_ANSIX962_ECDSA_SHA384_SIGNATURE;
    if (held && isEcc(*held))
        return SEC_OID_ANSIX962_ECDSA_SHA256_SIGNATURE;
    return SEC_OID_PKCS1_SHA256_WITH_RSA_ENCRYPTION;
}

Result<Bytes, std::string> KeyStore::signCertificate(std::uint8_t slot, ByteView tbsCertificate)
{
    SECKEYPrivateKey* key = asKey(keyOf(slot));
    if (!key)
        return fail(std::string("no key in the slot"));
    PLArenaPool* arena = PORT_NewArena(DER_DEFAULT_CHUNKSIZE);
    if (!arena)
        return fail(std::string("out of memory"));
    SECItem signedDer = {siBuffer, nullptr, 0};
    const SECStatus status = SEC_DerSignData(
        arena, &signedDer, tbsCertificate.data(), static_cast<int>(tbsCertificate.size()), key,
        static_cast<SECOidTag>(certificateSignatureAlgorithm(slot)));
    Result<Bytes, std::string> out = fail("signing the certificate failed: " + nssErrorText());
    if (status == SECSuccess)
        out = Bytes(signedDer.data, signedDer.data + signedDer.len);
    PORT_FreeArena(arena, PR_FALSE);
    return out;
}

std::optional<Algorithm> KeyStore::algorithmOfPublicKey(ByteView publicKeyInfo)
{
    SECItem der = {siBuffer, const_cast<unsigned char*>(publicKeyInfo.data()),
                   static_cast<unsigned>(publicKeyInfo.size())};
    CERTSubjectPublicKeyInfo* info = SECKEY_DecodeDERSubjectPublicKeyInfo(&der);
    SECKEYPublicKey* key = info ? SECKEY_ExtractPublicKey(info) : nullptr;
    if (info)
        SECKEY_DestroySubjectPublicKeyInfo(info);
    if (!key)
        return std::nullopt;
    std::optional<Algorithm> algorithm;
    if (key->keyType == rsaKey) {
        switch (SECKEY_PublicKeyStrengthInBits(key)) {
        case 1024: algorithm = Algorithm::Rsa1024; break;
        case 2048: algorithm = Algorithm::Rsa2048; break;
        case 3072: algorithm = Algorithm::Rsa3072; break;
        case 4096: algorithm = Algorithm::Rsa4096; break;
        default: break;
        }
    } else if (key->keyType == ecKey) {
        const Bytes curve(key->u.ec.DEREncodedParams.data,
                          key->u.ec.DEREncodedParams.data + key->u.ec.DEREncodedParams.len);
        if (curve == kP256Parameters)
            algorithm = Algorithm::EccP256;
        else if (curve == kP384Parameters)
            algorithm = Algorithm::EccP384;
    }
    SECKEY_DestroyPublicKey(key);
    return algorithm;
}

} // namespace vscard::cacard::piv
