#include "piv_algorithms.h"

namespace vscard::cacard::piv {

std::optional<Algorithm> asymmetricAlgorithm(std::uint8_t id)
{
    switch (static_cast<Algorithm>(id)) {
    case Algorithm::Rsa1024:
    case Algorithm::Rsa2048:
    case Algorithm::Rsa3072:
    case Algorithm::Rsa4096:
    case Algorithm::EccP256:
    case Algorithm::EccP384: return static_cast<Algorithm>(id);
    default: return std::nullopt;
    }
}

std::optional<Algorithm> managementAlgorithm(std::uint8_t id)
{
    switch (static_cast<Algorithm>(id)) {
    case Algorithm::TripleDes:
    case Algorithm::Aes128:
    case Algorithm::Aes192:
    case Algorithm::Aes256: return static_cast<Algorithm>(id);
    default: return std::nullopt;
    }
}

bool isRsa(Algorithm algorithm)
{
    return rsaBits(algorithm) != 0;
}

bool isEcc(Algorithm algorithm)
{
    return algorithm == Algorithm::EccP256 || algorithm == Algorithm::EccP384;
}

std::size_t rsaBits(Algorithm algorithm)
{
    switch (algorithm) {
    case Algorithm::Rsa1024: return 1024;
    case Algorithm::Rsa2048: return 2048;
    case Algorithm::Rsa3072: return 3072;
    case Algorithm::Rsa4096: return 4096;
    default: return 0;
    }
}

std::size_t eccFieldBytes(Algorithm algorithm)
{
    switch (algorithm) {
    case Algorithm::EccP256: return 32;
    case Algorithm::EccP384: return 48;
    default: return 0;
    }
}

std::size_t symmetricKeyBytes(Algorithm algorithm)
{
    switch (algorithm) {
    case Algorithm::TripleDes: return 24;
    case Algorithm::Aes128: return 16;
    case Algorithm::Aes192: return 24;
    case Algorithm::Aes256: return 32;
    default: return 0;
    }
}

std::size_t symmetricBlockBytes(Algorithm algorithm)
{
    return algorithm == Algorithm::TripleDes ? 8 : 16;
}

std::string_view algorithmName(Algorithm algorithm)
{
    switch (algorithm) {
    case Algorithm::TripleDes: return "3DES";
    case Algorithm::Rsa1024: return "RSA-1024";
    case Algorithm::Rsa2048: return "RSA-2048";
    case Algorithm::Rsa3072: return "RSA-3072";
    case Algorithm::Rsa4096: return "RSA-4096";
    case Algorithm::Aes128: return "AES-128";
    case Algorithm::Aes192: return "AES-192";
    case Algorithm::Aes256: return "AES-256";
    case Algorithm::EccP256: return "ECC P-256";
    case Algorithm::EccP384: return "ECC P-384";
    }
    return "unknown";
}

bool isAsymmetricKeySlot(std::uint8_t reference)
{
    return certificateObject(reference).has_value();
}

std::optional<std::uint32_t> certificateObject(std::uint8_t reference)
{
    switch (reference) {
    case kAuthenticationKey: return 0x5FC105;
    case kSignatureKey: return 0x5FC10A;
    case kKeyManagementKey: return 0x5FC10B;
    case kCardAuthenticationKey: return 0x5FC101;
    case kAttestationKey: return 0x5FFF01;
    default: break;
    }
    if (reference >= kFirstRetiredKey && reference <= kLastRetiredKey)
        return 0x5FC10D + (reference - kFirstRetiredKey);
    return std::nullopt;
}

PinPolicy effectivePinPolicy(std::uint8_t reference, PinPolicy policy)
{
    if (policy != PinPolicy::Default)
        return policy;
    switch (reference) {
    case kSignatureKey: return PinPolicy::Always;
    case kCardAuthenticationKey:
    case kAttestationKey: return PinPolicy::Never;
    default: return PinPolicy::Once;
    }
}

TouchPolicy effectiveTouchPolicy(TouchPolicy policy)
{
    return policy == TouchPolicy::Default ? TouchPolicy::Never : policy;
}

} // namespace vscard::cacard::piv
