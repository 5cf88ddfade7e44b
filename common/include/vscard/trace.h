// Human-readable renderings of protocol traffic for logs and --trace: hex, hex dumps, and
// one-line decodes of VSCard messages and APDUs. Secrets never reach a log: the data of VERIFY,
// CHANGE REFERENCE DATA and RESET RETRY COUNTER is masked, and so is the data of responses a
// connection's SecretResponses calls secret (DECIPHER, CAC SIGN/DECRYPT, GENERAL AUTHENTICATE),
// unless --trace-secrets asked for everything (setRevealSecrets).
#pragma once

#include "vscard/bytes.h"
#include "vscard/secret_responses.h"

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vscard {
struct Message;
enum class MessageType : std::uint32_t;
} // namespace vscard

namespace vscard::trace {

// Which way a VSCard message travels decides whether an APDU payload is a command or a response.
enum class Direction {
    HostToClient, // commands, Init, Error acknowledgements, Flush, PowerRequest
    ClientToHost, // responses, readers and cards
};

// Data bytes shown in a one-line decode before it is cut short.
inline constexpr std::size_t kDefaultDataLimit = 64;

// --trace-secrets: traces and captures show PINs and secret responses as they are. Off by
// default; process-wide, since whoever debugs a card conversation wants all of it.
void setRevealSecrets(bool reveal);
bool revealSecrets();

// A run of bytes a trace must not show, as an offset into the bytes being rendered.
struct ByteRange {
    std::size_t offset = 0;
    std::size_t length = 0;
};

// "3B 7A 18"
std::string hex(ByteView bytes);
// Like hex(), at most limit bytes, then "... (N bytes)".
std::string hexShort(ByteView bytes, std::size_t limit = kDefaultDataLimit);
// ASCII, with '.' for anything not printable.
std::string printable(ByteView bytes);
// Classic dump: offset, 16 hex bytes, ASCII column; one line per 16 bytes.
std::string hexDump(ByteView bytes);

// Like hexShort(), each run of secret bytes replaced by "<N bytes masked>":
// "00 20 00 80 08 <8 bytes masked>". Ranges may overlap and come in any order.
std::string hexWithSecrets(ByteView bytes, std::span<const ByteRange> secret,
                           std::size_t dataLimit = kDefaultDataLimit);

// "VERIFY 00 20 00 80 Lc=8 data=<8 bytes masked>", "SELECT 00 A4 04 00 Lc=7 Le=256 data=A0 ..."
std::string describeCommandApdu(ByteView bytes, std::size_t dataLimit = kDefaultDataLimit);
// "9000 success, 12 data bytes: 01 02 ...", or for a secret answer "9000 success, <12 bytes
// masked>": the status word always shows.
std::string describeResponseApdu(ByteView bytes, Secrecy secrecy = Secrecy::Public,
                                 std::size_t dataLimit = kDefaultDataLimit);

// A connection's SecretResponses fed one VSCard message (reader ids name the channels): whether
// it is a response whose data is secret. Call it for every message, traced or not, in the order
// they travel, and hand the result to describeMessage:
//     const auto secrecy = trace::observeMessage(secrets_, message, direction);
//     if (lcWire().isDebugEnabled())
//         qCDebug(lcWire) << trace::describeMessage(message, direction, secrecy);
Secrecy observeMessage(SecretResponses& secrets, const Message& message, Direction direction);
// The same for a message about to be encoded, from its parts: no Message (and no copy of the
// payload) is needed on the path of every APDU.
Secrecy observeMessage(SecretResponses& secrets, MessageType type, std::uint32_t readerId,
                       ByteView payload, Direction direction);
// "APDU reader 0, 13 bytes: SELECT 00 A4 04 00 ..."; a Secret response shows its status word.
std::string describeMessage(const Message& message, Direction direction,
                            Secrecy secrecy = Secrecy::Public,
                            std::size_t dataLimit = kDefaultDataLimit);
// The bytes of an APDU message as a log may show them: secrets replaced by "**".
std::string maskedHex(ByteView commandApdu, std::size_t dataLimit = kDefaultDataLimit);

// Enables trace categories by glob patterns, as QEMU's --trace "ccid_*" does:
// "vscard.*,ccid.apdu" enables matching categories, "-vscard.io" disables one; later patterns
// win over earlier ones.
class TraceFilter {
public:
    TraceFilter() = default;
    explicit TraceFilter(std::string_view spec);

    bool enabled(std::string_view category) const;

private:
    struct Rule {
        std::string pattern;
        bool enable;
    };
    std::vector<Rule> rules_;
};

} // namespace vscard::trace
