// bench-sign: RSA-2048 PKCS#1 v1.5 signatures of a SHA-256 DigestInfo, timed, one process that
// logs in once and keeps the key handle.
//   bench-sign nss DBDIR PIN N      NSS on the database itself: the floor
//   bench-sign nss-session DBDIR PIN N   the same key copied once into a session object: the
//                                   RSA computation alone (the soft token otherwise decrypts
//                                   the stored key, a password derivation, for every use)
//   bench-sign pkcs11 MODULE PIN N  a PKCS#11 module (OpenSC's: the card through PC/SC)
//   bench-sign pkcs11 MODULE PIN N rsa|ecdsa ID   ... with the key of that CKA_ID (hex), RSA
//                                   PKCS#1 v1.5 or ECDSA over a SHA-256 digest
//   bench-sign nss-generated rsa|ecdsa N   a key NSS makes in memory (RSA-2048 or P-256): the
//                                   floor for a PIV card's generated keys
// Prints "RESULT signatures=N seconds=S p50_us=X p99_us=Y".
#include <cert.h>
#include <dlfcn.h>
#include <keyhi.h>
#include <nss.h>
#include <pk11pub.h>
#include <pkcs11.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace {

// SHA-256 DigestInfo of a fixed digest: the same 51 bytes every time.
std::vector<unsigned char> digestInfo()
{
    std::vector<unsigned char> info{0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    info.resize(info.size() + 32, 0xAB);
    return info;
}

int timeSignatures(int count, const std::function<bool()>& sign)
{
    if (!sign()) {
        std::fprintf(stderr, "bench-sign: the first signature failed\n");
        return 1;
    }
    std::vector<double> micros;
    const auto begin = std::chrono::steady_clock::now();
    for (int i = 0; i < count; ++i) {
        const auto start = std::chrono::steady_clock::now();
        if (!sign()) {
            std::fprintf(stderr, "bench-sign: signature %d failed\n", i);
            return 1;
        }
        micros.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                .count());
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    std::sort(micros.begin(), micros.end());
    std::printf("RESULT signatures=%d seconds=%.6f p50_us=%.1f p99_us=%.1f\n", count, seconds,
                micros[micros.size() / 2],
                micros[std::min(micros.size() - 1, micros.size() * 99 / 100)]);
    return 0;
}

char* givePassword(PK11SlotInfo*, PRBool retry, void* pin)
{
    return retry ? nullptr : PORT_Strdup(static_cast<const char*>(pin));
}

int nssFloor(const char* directory, const char* pin, int count, bool sessionCopy)
{
    if (NSS_Init((std::string("sql:") + directory).c_str()) != SECSuccess) {
        std::fprintf(stderr, "bench-sign: NSS_Init failed\n");
        return 1;
    }
    PK11_SetPasswordFunc(givePassword);
    PK11SlotInfo* slot = PK11_GetInternalKeySlot();
    if (PK11_Authenticate(slot, PR_TRUE, const_cast<char*>(pin)) != SECSuccess) {
        std::fprintf(stderr, "bench-sign: wrong database password\n");
        return 1;
    }
    CERTCertificate* certificate = CERT_FindCertByNickname(CERT_GetDefaultCertDB(), "cert1");
    SECKEYPrivateKey* key =
        certificate ? PK11_FindKeyByAnyCert(certificate, const_cast<char*>(pin)) : nullptr;
    if (!key) {
        std::fprintf(stderr, "bench-sign: no key for cert1\n");
        return 1;
    }
    if (sessionCopy) {
        SECKEYPrivateKey* copy = PK11_CopyTokenPrivKeyToSessionPrivKey(slot, key);
        if (!copy) {
            std::fprintf(stderr, "bench-sign: cannot copy the key into a session object\n");
            return 1;
        }
        SECKEY_DestroyPrivateKey(key);
        key = copy;
    }
    auto info = digestInfo();
    SECItem data{siBuffer, info.data(), static_cast<unsigned>(info.size())};
    unsigned char buffer[512];
    const int result = timeSignatures(count, [&] {
        SECItem signature{siBuffer, buffer, sizeof buffer};
        signature.len = static_cast<unsigned>(PK11_SignatureLen(key));
        return PK11_SignWithMechanism(key, CKM_RSA_PKCS, nullptr, &signature, &data) ==
                   SECSuccess &&
               signature.len == 256;
    });
    SECKEY_DestroyPrivateKey(key);
    CERT_DestroyCertificate(certificate);
    PK11_FreeSlot(slot);
    NSS_Shutdown();
    return result;
}

std::vector<unsigned char> fromHex(const char* text)
{
    std::vector<unsigned char> bytes;
    for (std::size_t i = 0; text[i] && text[i + 1]; i += 2)
        bytes.push_back(
            static_cast<unsigned char>(std::stoi(std::string(text + i, 2), nullptr, 16)));
    return bytes;
}

// A key NSS generates in memory and signs with, as the PIV card's NSS does with its own.
int nssGenerated(bool ecdsa, int count)
{
    if (NSS_NoDB_Init(nullptr) != SECSuccess) {
        std::fprintf(stderr, "bench-sign: NSS_NoDB_Init failed\n");
        return 1;
    }
    PK11SlotInfo* slot = PK11_GetInternalSlot();
    SECKEYPublicKey* pub = nullptr;
    SECKEYPrivateKey* key = nullptr;
    unsigned char p256[] = {0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
    SECKEYECParams curve{siDEROID, p256, sizeof p256};
    PK11RSAGenParams rsa{2048, 65537};
    if (ecdsa)
        key = PK11_GenerateKeyPair(slot, CKM_EC_KEY_PAIR_GEN, &curve, &pub, PR_FALSE, PR_TRUE,
                                   nullptr);
    else
        key = PK11_GenerateKeyPair(slot, CKM_RSA_PKCS_KEY_PAIR_GEN, &rsa, &pub, PR_FALSE, PR_TRUE,
                                   nullptr);
    if (!key) {
        std::fprintf(stderr, "bench-sign: no key generated\n");
        return 1;
    }
    auto info = digestInfo();
    std::vector<unsigned char> digest(32, 0xAB);
    SECItem data = ecdsa ? SECItem{siBuffer, digest.data(), static_cast<unsigned>(digest.size())}
                         : SECItem{siBuffer, info.data(), static_cast<unsigned>(info.size())};
    unsigned char buffer[512];
    const int result = timeSignatures(count, [&] {
        SECItem signature{siBuffer, buffer, static_cast<unsigned>(PK11_SignatureLen(key))};
        return PK11_SignWithMechanism(key, ecdsa ? CKM_ECDSA : CKM_RSA_PKCS, nullptr, &signature,
                                      &data) == SECSuccess;
    });
    SECKEY_DestroyPrivateKey(key);
    SECKEY_DestroyPublicKey(pub);
    PK11_FreeSlot(slot);
    NSS_Shutdown();
    return result;
}

int throughModule(const char* module, const char* pin, int count, bool ecdsa = false,
                  const char* keyId = nullptr)
{
    void* library = dlopen(module, RTLD_NOW);
    auto getList = library ? reinterpret_cast<CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR)>(
                                 dlsym(library, "C_GetFunctionList"))
                           : nullptr;
    CK_FUNCTION_LIST_PTR p11 = nullptr;
    if (!getList || getList(&p11) != CKR_OK || p11->C_Initialize(nullptr) != CKR_OK) {
        std::fprintf(stderr, "bench-sign: cannot load %s\n", module);
        return 1;
    }
    CK_SLOT_ID slots[8];
    CK_ULONG slotCount = 8;
    if (p11->C_GetSlotList(CK_TRUE, slots, &slotCount) != CKR_OK || slotCount == 0) {
        std::fprintf(stderr, "bench-sign: no token\n");
        return 1;
    }
    CK_SESSION_HANDLE session = 0;
    if (p11->C_OpenSession(slots[0], CKF_SERIAL_SESSION, nullptr, nullptr, &session) != CKR_OK ||
        p11->C_Login(session, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(pin)),
                     std::strlen(pin)) != CKR_OK) {
        std::fprintf(stderr, "bench-sign: login failed\n");
        return 1;
    }
    CK_OBJECT_CLASS keyClass = CKO_PRIVATE_KEY;
    std::vector<unsigned char> id = keyId ? fromHex(keyId) : std::vector<unsigned char>{};
    CK_ATTRIBUTE filter[] = {{CKA_CLASS, &keyClass, sizeof keyClass},
                             {CKA_ID, id.data(), id.size()}};
    CK_OBJECT_HANDLE key = 0;
    CK_ULONG found = 0;
    p11->C_FindObjectsInit(session, filter, keyId ? 2 : 1);
    p11->C_FindObjects(session, &key, 1, &found);
    p11->C_FindObjectsFinal(session);
    if (found == 0) {
        std::fprintf(stderr, "bench-sign: no private key\n");
        return 1;
    }
    auto info = ecdsa ? std::vector<unsigned char>(32, 0xAB) : digestInfo();
    CK_MECHANISM mechanism{ecdsa ? CKM_ECDSA : CKM_RSA_PKCS, nullptr, 0};
    const CK_ULONG expected = ecdsa ? 64 : 256;
    const int result = timeSignatures(count, [&] {
        unsigned char signature[512];
        CK_ULONG length = sizeof signature;
        return p11->C_SignInit(session, &mechanism, key) == CKR_OK &&
               p11->C_Sign(session, info.data(), info.size(), signature, &length) == CKR_OK &&
               length == expected;
    });
    p11->C_Logout(session);
    p11->C_CloseSession(session);
    p11->C_Finalize(nullptr);
    return result;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc == 4 && std::strcmp(argv[1], "nss-generated") == 0)
        return nssGenerated(std::strcmp(argv[2], "ecdsa") == 0, std::atoi(argv[3]));
    if (argc == 7 && std::strcmp(argv[1], "pkcs11") == 0)
        return throughModule(argv[2], argv[3], std::atoi(argv[4]),
                             std::strcmp(argv[5], "ecdsa") == 0, argv[6]);
    if (argc != 5) {
        std::fprintf(stderr,
                     "usage: bench-sign nss|nss-session DBDIR PIN N | bench-sign pkcs11 MODULE "
                     "PIN N [rsa|ecdsa ID] | bench-sign nss-generated rsa|ecdsa N\n");
        return 2;
    }
    const int count = std::atoi(argv[4]);
    if (std::strcmp(argv[1], "nss") == 0 || std::strcmp(argv[1], "nss-session") == 0)
        return nssFloor(argv[2], argv[3], count, std::strcmp(argv[1], "nss-session") == 0);
    return throughModule(argv[2], argv[3], count);
}
