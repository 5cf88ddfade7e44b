#include "piv_crypto.h"

#include <nss.h>
#include <pk11pub.h>
#include <prerror.h>
#include <secoid.h>

namespace vscard::cacard::piv {

namespace {

// Enough to make guessing a 6-digit PIN from a stolen state file cost hours, not seconds,
// while a VERIFY stays well under what a client waits for.
constexpr int kSecretHashIterations = 20000;

CK_MECHANISM_TYPE ecbMechanism(Algorithm algorithm)
{
    return algorithm == Algorithm::TripleDes ? CKM_DES3_ECB : CKM_AES_ECB;
}

Result<Bytes, std::string> blockCipher(Algorithm algorithm, ByteView key, ByteView data,
                                       CK_ATTRIBUTE_TYPE operation)
{
    if (key.size() != symmetricKeyBytes(algorithm))
        return fail("a " + std::string(algorithmName(algorithm)) + " key has " +
                    std::to_string(symmetricKeyBytes(algorithm)) + " bytes, not " +
                    std::to_string(key.size()));
    if (data.empty() || data.size() % symmetricBlockBytes(algorithm) != 0)
        return fail("data of " + std::to_string(data.size()) + " bytes is not whole blocks");
    const CK_MECHANISM_TYPE mechanism = ecbMechanism(algorithm);
    PK11SlotInfo* slot = PK11_GetBestSlot(mechanism, nullptr);
    if (!slot)
        return fail("no NSS slot does " + std::string(algorithmName(algorithm)));
    SECItem keyItem = {siBuffer, const_cast<unsigned char*>(key.data()),
                       static_cast<unsigned>(key.size())};
    PK11SymKey* symmetric =
        PK11_ImportSymKey(slot, mechanism, PK11_OriginUnwrap, operation, &keyItem, nullptr);
    PK11_FreeSlot(slot);
    if (!symmetric)
        return fail("NSS refused the management key: " + nssErrorText());
    Bytes out(data.size());
    unsigned length = 0;
    const SECStatus status = operation == CKA_ENCRYPT
                                 ? PK11_Encrypt(symmetric, mechanism, nullptr, out.data(), &length,
                                                static_cast<unsigned>(out.size()), data.data(),
                                                static_cast<unsigned>(data.size()))
                                 : PK11_Decrypt(symmetric, mechanism, nullptr, out.data(), &length,
                                                static_cast<unsigned>(out.size()), data.data(),
                                                static_cast<unsigned>(data.size()));
    PK11_FreeSymKey(symmetric);
    if (status != SECSuccess)
        return fail("block cipher failed: " + nssErrorText());
    out.resize(length);
    return out;
}

} // namespace

std::string nssErrorText()
{
    const PRErrorCode code = PORT_GetError();
    const char* text = PR_ErrorToString(code, PR_LANGUAGE_I_DEFAULT);
    return std::string(text && *text ? text : "NSS error") + " (" + std::to_string(code) + ")";
}

Result<Bytes, std::string> randomBytes(std::size_t count)
{
    Bytes bytes(count);
    if (count > 0 && PK11_GenerateRandom(bytes.data(), static_cast<int>(count)) != SECSuccess)
        return fail("no random bytes: " + nssErrorText());
    return bytes;
}

Result<Bytes, std::string> blockEncrypt(Algorithm algorithm, ByteView key, ByteView data)
{
    return blockCipher(algorithm, key, data, CKA_ENCRYPT);
}

Result<Bytes, std::string> blockDecrypt(Algorithm algorithm, ByteView key, ByteView data)
{
    return blockCipher(algorithm, key, data, CKA_DECRYPT);
}

Result<Bytes, std::string> secretHash(ByteView secret, ByteView salt)
{
    SECItem saltItem = {siBuffer, const_cast<unsigned char*>(salt.data()),
                        static_cast<unsigned>(salt.size())};
    SECAlgorithmID* algorithm =
        PK11_CreatePBEV2AlgorithmID(SEC_OID_PKCS5_PBKDF2, SEC_OID_HMAC_SHA256, SEC_OID_HMAC_SHA256,
                                    32, kSecretHashIterations, &saltItem);
    if (!algorithm)
        return fail("no PBKDF2: " + nssErrorText());
    PK11SlotInfo* slot = PK11_GetInternalSlot();
    SECItem secretItem = {siBuffer, const_cast<unsigned char*>(secret.data()),
                          static_cast<unsigned>(secret.size())};
    PK11SymKey* derived = PK11_PBEKeyGen(slot, algorithm, &secretItem, PR_FALSE, nullptr);
    SECOID_DestroyAlgorithmID(algorithm, PR_TRUE);
    PK11_FreeSlot(slot);
    if (!derived)
        return fail("PBKDF2 failed: " + nssErrorText());
    Result<Bytes, std::string> hash = fail(std::string("PBKDF2 gave no value"));
    if (PK11_ExtractKeyValue(derived) == SECSuccess) {
        const SECItem* value = PK11_GetKeyData(derived);
        if (value && value->len > 0)
            hash = Bytes(value->data, value->data + value->len);
    }
    PK11_FreeSymKey(derived);
    return hash;
}

bool equalInConstantTime(ByteView a, ByteView b)
{
    if (a.size() != b.size())
        return false;
    unsigned difference = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        difference |= static_cast<unsigned>(a[i] ^ b[i]);
    return difference == 0;
}

} // namespace vscard::cacard::piv
