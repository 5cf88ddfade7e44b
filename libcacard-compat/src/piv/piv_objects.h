// The PIV data objects (SP 800-73-4 Part 1, table 3) and the YubiKey's own: which exist,
// which need the PIN to be read, which PUT DATA may write, and the ones a new card starts
// with. Values are what GET DATA wraps in 53 (the Discovery Object is its own 7E template).
#pragma once

#include "piv_state.h"

#include <optional>

namespace vscard::cacard::piv {

inline constexpr std::uint32_t kCccObject = 0x5FC107;
inline constexpr std::uint32_t kChuidObject = 0x5FC102;
inline constexpr std::uint32_t kKeyHistoryObject = 0x5FC10C;
inline constexpr std::uint32_t kPrintedInformationObject = 0x5FC109;
inline constexpr std::uint32_t kDiscoveryObject = 0x7E;
inline constexpr std::uint32_t kBiometricGroupTemplate = 0x7F61;
inline constexpr std::size_t kMaxObjectBytes = 3063; // what a YubiKey 5 holds in one object

enum class ReadAccess { Always, Pin };

// Whether the tag names an object the card knows, and what reading it needs.
std::optional<ReadAccess> readAccess(std::uint32_t tag);
bool writable(std::uint32_t tag);

// The objects of a new card: CHUID with a random GUID, CCC with a random card identifier,
// Discovery (PIV PIN only).
void addFactoryObjects(CardState& state, ByteView guid, ByteView cardIdentifier);
// The Key History object as the retired key slots' certificates make it, unless one was
// written by PUT DATA: keysWithOnCardCerts counts the filled retired certificate objects.
Bytes keyHistory(const CardState& state);
// 53's value for a certificate: 70 cert, 71 CertInfo (uncompressed), FE LRC.
Bytes certificateObjectValue(ByteView der);

} // namespace vscard::cacard::piv
