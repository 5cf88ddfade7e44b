// libcacard's options string, the user interface that QEMU's ccid-card-emulated and vscclient
// pass through: db="/etc/pki/nssdb" use_hw=no soft=(,Test,CAC,,cert1,cert2,cert3)
// Keywords in any order (libcacard wants hw_type= last; we do not); a malformed string is
// reported with what is wrong and where.
#pragma once

#include "vscard/result.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vscard::cacard {

enum class HardwareUse {
    No,        // only soft= cards
    Yes,       // also mirror the tokens NSS sees through its PKCS#11 modules
    Removable, // only removable tokens
};

// One emulated card made from certificates in the NSS database.
struct SoftCard {
    std::string slotName;   // the NSS token holding the certificates; empty: the database's
    std::string readerName; // the virtual reader's name; empty: a default name is given
    std::string type;       // "CAC" (libcacard knows no other that works)
    std::string typeParams;
    std::vector<std::string> certificates; // NSS nicknames, one PKI applet each, at most 10

    friend bool operator==(const SoftCard&, const SoftCard&) = default;
};

struct EmulOptions {
    std::optional<std::string> nssDatabase; // db=; libcacard's default is NSS's own
    HardwareUse useHardware = HardwareUse::Yes;
    std::string hardwareType = "CAC"; // hw_type=
    std::string hardwareParams;       // hw_params=
    std::vector<SoftCard> softCards;  // soft=, repeatable

    friend bool operator==(const EmulOptions&, const EmulOptions&) = default;
};

struct OptionsError {
    std::size_t offset = 0; // where in the string the problem starts
    std::string message;    // "offset 12: use_hw= expects yes, no or removable, found \"maybe\""
};

inline constexpr std::size_t kMaxCertificatesPerCard = 10;

Result<EmulOptions, OptionsError> parseEmulOptions(std::string_view text);

} // namespace vscard::cacard
