// The algorithm identifiers of SP 800-78-4 (table 6-2) as PIV and the YubiKey extensions use
// them, and the key references of SP 800-73-4 Part 1 (table 4b).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vscard::cacard::piv {

enum class Algorithm : std::uint8_t {
    TripleDes = 0x03,
    Rsa1024 = 0x06,
    Rsa2048 = 0x07,
    Rsa3072 = 0x05, // YubiKey 5.7
    Rsa4096 = 0x16, // YubiKey 5.7
    Aes128 = 0x08,
    Aes192 = 0x0A,
    Aes256 = 0x0C,
    EccP256 = 0x11,
    EccP384 = 0x14,
};

std::optional<Algorithm> asymmetricAlgorithm(std::uint8_t id);
std::optional<Algorithm> managementAlgorithm(std::uint8_t id);
bool isRsa(Algorithm algorithm);
bool isEcc(Algorithm algorithm);
std::size_t rsaBits(Algorithm algorithm);
// Bytes of one coordinate of the curve (32 for P-256, 48 for P-384).
std::size_t eccFieldBytes(Algorithm algorithm);
// Key bytes of a management-key algorithm, and its block size.
std::size_t symmetricKeyBytes(Algorithm algorithm);
std::size_t symmetricBlockBytes(Algorithm algorithm);
std::string_view algorithmName(Algorithm algorithm);

// Key references.
inline constexpr std::uint8_t kPin = 0x80;
inline constexpr std::uint8_t kGlobalPin = 0x00;
inline constexpr std::uint8_t kPuk = 0x81;
inline constexpr std::uint8_t kManagementKey = 0x9B;
inline constexpr std::uint8_t kAuthenticationKey = 0x9A;
inline constexpr std::uint8_t kSignatureKey = 0x9C;
inline constexpr std::uint8_t kKeyManagementKey = 0x9D;
inline constexpr std::uint8_t kCardAuthenticationKey = 0x9E;
inline constexpr std::uint8_t kFirstRetiredKey = 0x82;
inline constexpr std::uint8_t kLastRetiredKey = 0x95;
inline constexpr std::uint8_t kAttestationKey = 0xF9; // YubiKey

// 9A, 9C, 9D, 9E, 82..95 and the attestation key F9.
bool isAsymmetricKeySlot(std::uint8_t reference);
// The data object holding the certificate of a key slot (5FC105 for 9A, ...; 5FFF01 for F9).
std::optional<std::uint32_t> certificateObject(std::uint8_t reference);

// PIN and touch policies (YubiKey): stored as metadata, enforced for the PIN.
enum class PinPolicy : std::uint8_t { Default = 0, Never = 1, Once = 2, Always = 3 };
enum class TouchPolicy : std::uint8_t { Default = 0, Never = 1, Always = 2, Cached = 3 };
// What a slot's Default means.
PinPolicy effectivePinPolicy(std::uint8_t reference, PinPolicy policy);
TouchPolicy effectiveTouchPolicy(TouchPolicy policy);

} // namespace vscard::cacard::piv
