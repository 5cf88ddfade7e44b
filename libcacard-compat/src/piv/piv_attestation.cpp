#include "piv_attestation.h"

#include "piv_crypto.h"
#include "vscard/cacard/piv_card.h"

#include <cert.h>
#include <certt.h>
#include <keyhi.h>
#include <secasn1.h>
#include <secder.h>
#include <secoid.h>

#include <cstdio>

namespace vscard::cacard::piv {

namespace {

// 1.3.6.1.4.1.41482.3.{3,7,8}: firmware version, serial, PIN and touch policy.
const Bytes kVersionExtension = {0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0xC4, 0x0A, 0x03, 0x03};
const Bytes kSerialExtension = {0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0xC4, 0x0A, 0x03, 0x07};
const Bytes kPolicyExtension = {0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0xC4, 0x0A, 0x03, 0x08};
constexpr PRTime kSecond = 1000000;
constexpr PRTime kTwentyYears = PRTime(20) * 365 * 24 * 3600 * kSecond;

struct Extension {
    Bytes oid;
    Bytes value;
};

struct CertificateRequest {
    std::string subject;
    std::string issuer;
    Bytes publicKeyInfo;
    unsigned long serialNumber;
    bool authority = false;
    std::vector<Extension> extensions;
};

// Builds the TBSCertificate with NSS's encoders and has the signer's key sign it.
Result<Bytes, std::string> issue(KeyStore& keys, std::uint8_t signer,
                                 const CertificateRequest& request)
{
    CERTName* subject = CERT_AsciiToName(request.subject.c_str());
    CERTName* issuer = CERT_AsciiToName(request.issuer.c_str());
    SECItem infoItem = {siBuffer, const_cast<unsigned char*>(request.publicKeyInfo.data()),
                        static_cast<unsigned>(request.publicKeyInfo.size())};
    CERTSubjectPublicKeyInfo* info = SECKEY_DecodeDERSubjectPublicKeyInfo(&infoItem);
    const PRTime now = PR_Now();
    CERTValidity* validity = CERT_CreateValidity(now - 60 * kSecond, now + kTwentyYears);
    CERTCertificateRequest* csr =
        subject && info ? CERT_CreateCertificateRequest(subject, info, nullptr) : nullptr;
    CERTCertificate* certificate =
        csr && issuer && validity
            ? CERT_CreateCertificate(request.serialNumber, issuer, validity, csr)
            : nullptr;
    Result<Bytes, std::string> result = fail("cannot build a certificate: " + nssErrorText());
    if (certificate) {
        PLArenaPool* arena = certificate->arena;
        bool built = SEC_ASN1EncodeInteger(arena, &certificate->version,
                                           SEC_CERTIFICATE_VERSION_3) != nullptr;
        void* handle = built ? CERT_StartCertExtensions(certificate) : nullptr;
        built = handle != nullptr;
        if (built && request.authority) {
            CERTBasicConstraints constraints = {PR_TRUE, CERT_UNLIMITED_PATH_CONSTRAINT};
            SECItem value = {siBuffer, nullptr, 0};
            built = CERT_EncodeBasicConstraintValue(arena, &constraints, &value) == SECSuccess &&
                    CERT_AddExtension(handle, SEC_OID_X509_BASIC_CONSTRAINTS, &value, PR_TRUE,
                                      PR_TRUE) == SECSuccess;
        }
        for (const Extension& extension : request.extensions) {
            if (!built)
                break;
            SECItem oid = {siDEROID, const_cast<unsigned char*>(extension.oid.data()),
                           static_cast<unsigned>(extension.oid.size())};
            SECItem value = {siBuffer, const_cast<unsigned char*>(extension.value.data()),
                             static_cast<unsigned>(extension.value.size())};
            built = CERT_AddExtensionByOID(handle, &oid, &value, PR_FALSE, PR_TRUE) == SECSuccess;
        }
        if (handle)
            built = CERT_FinishExtensions(handle) == SECSuccess && built;
        built = built && SECOID_SetAlgorithmID(
                             arena, &certificate->signature,
                             static_cast<SECOidTag>(keys.certificateSignatureAlgorithm(signer)),
                             nullptr) == SECSuccess;
        SECItem tbs = {siBuffer, nullptr, 0};
        built = built && SEC_ASN1EncodeItem(arena, &tbs, certificate,
                                            SEC_ASN1_GET(CERT_CertificateTemplate)) != nullptr;
        if (built)
            result = keys.signCertificate(signer, ByteView(tbs.data, tbs.len));
        CERT_DestroyCertificate(certificate);
    }
    if (csr)
        CERT_DestroyCertificateRequest(csr);
    if (validity)
        CERT_DestroyValidity(validity);
    if (info)
        SECKEY_DestroySubjectPublicKeyInfo(info);
    if (subject)
        CERT_DestroyName(subject);
    if (issuer)
        CERT_DestroyName(issuer);
    return result;
}

std::string authorityName(std::uint32_t serial)
{
    return "CN=vscard PIV attestation,serialNumber=" + std::to_string(serial) + ",O=vscard";
}

Bytes derInteger(std::uint32_t value)
{
    Bytes content;
    appendBigEndian32(content, value);
    while (content.size() > 1 && content[0] == 0 && (content[1] & 0x80) == 0)
        content.erase(content.begin());
    if (content[0] & 0x80)
        content.insert(content.begin(), 0x00);
    Bytes out = {0x02, static_cast<std::uint8_t>(content.size())};
    out.insert(out.end(), content.begin(), content.end());
    return out;
}

} // namespace

Result<AttestationKey, std::string> makeAttestationKey(KeyStore& keys, std::uint32_t serial)
{
    auto publicKey = keys.generate(kAttestationKey, Algorithm::EccP256);
    if (!publicKey)
        return fail(publicKey.error());
    CertificateRequest request{
        authorityName(serial), authorityName(serial), *publicKey, serial, true, {}};
    auto certificate = issue(keys, kAttestationKey, request);
    if (!certificate)
        return fail(certificate.error());
    return AttestationKey{std::move(publicKey).value(), std::move(certificate).value()};
}

Result<Bytes, std::string> attestKey(KeyStore& keys, std::uint8_t slot, const KeySlot& key,
                                     std::uint32_t serial, ByteView attestationCertificate)
{
    (void)attestationCertificate; // its subject is authorityName(serial), by construction
    char name[96];
    std::snprintf(name, sizeof name, "CN=vscard PIV attestation %02x,serialNumber=%u", slot,
                  static_cast<unsigned>(serial));
    auto number = randomBytes(4);
    if (!number)
        return fail(number.error());
    CertificateRequest request{name,
                               authorityName(serial),
                               key.publicKeyInfo,
                               readBigEndian32(*number, 0) & 0x7FFFFFFFu,
                               false,
                               {}};
    request.extensions.push_back({kVersionExtension, Bytes(std::begin(PivCard::kInterfaceVersion),
                                                           std::end(PivCard::kInterfaceVersion))});
    request.extensions.push_back({kSerialExtension, derInteger(serial)});
    request.extensions.push_back(
        {kPolicyExtension,
         {static_cast<std::uint8_t>(effectivePinPolicy(slot, key.pinPolicy)),
          static_cast<std::uint8_t>(effectiveTouchPolicy(key.touchPolicy))}});
    return issue(keys, kAttestationKey, request);
}

} // namespace vscard::cacard::piv
