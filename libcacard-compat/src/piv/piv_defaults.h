// A PIV card as it leaves the factory: the PIN, PUK and management key every PIV tool assumes
// (yubico-piv-tool, ykman, OpenSC's piv-tool), a random serial and the default objects with a
// random GUID and card identifier. RESET returns a card to this.
#pragma once

#include "piv_state.h"

#include <string_view>

namespace vscard::cacard::piv {

inline constexpr std::string_view kFactoryPin = "123456";
inline constexpr std::string_view kFactoryPuk = "12345678";
inline constexpr std::uint8_t kFactoryTries = 3;
const Bytes& factoryManagementKey(); // 3DES 0102030405060708 three times

// The value padded with FF to 8 bytes, as VERIFY carries it.
Bytes paddedReferenceData(std::string_view value);
// A PIN or PUK record for a padded value with a new salt; isDefault when it is the factory's.
Result<Credential, std::string> makeCredential(ByteView padded, std::uint8_t maxTries,
                                               std::string_view factoryValue);
// serial: the card's, kept by a RESET; a new random one when none.
Result<CardState, std::string> factoryState(std::optional<std::uint32_t> serial = std::nullopt,
                                            std::uint8_t pinTries = kFactoryTries,
                                            std::uint8_t pukTries = kFactoryTries);

} // namespace vscard::cacard::piv
