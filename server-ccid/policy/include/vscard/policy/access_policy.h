// Who may connect to server-ccid and what each client may do: the policy file (--policy).
// Qt-free, so that its parser, which reads a file an administrator wrote but which may come
// from anywhere, is fuzzed with the other parsers.
//
// One rule per line; the first rule whose conditions all match a client decides; a client that
// no rule matches is refused.
//
//   allow CONDITION... [readers=N] [names=GLOB[,GLOB...]] [slots=N|N-M[,...]]
//   deny CONDITION...
//
// Conditions: cn=NAME, subject="ATTR=VALUE, ...", sha256=FINGERPRINT (TLS client
// certificates), uid=N, user=NAME (Unix-socket peers, from SO_PEERCRED), address=IP[/BITS]
// (TCP and TLS peers), any. Values may be double-quoted, with \" and \\ inside.
#pragma once

#include "vscard/result.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vscard::policy {

// What the server knows of a peer when it connects.
struct PeerIdentity {
    // TLS: the client certificate's subject attributes ("CN", "O", ...) in their order, and
    // its SHA-256 fingerprint as lowercase colon-separated hex.
    std::vector<std::pair<std::string, std::string>> subject;
    std::string sha256;
    // Unix sockets: the peer process's user.
    std::optional<std::uint32_t> uid;
    std::string userName;
    // TCP and TLS: the peer's address as text ("192.0.2.7", "::1").
    std::string address;

    // "certificate CN=alice sha256 ab:cd:..", "uid 1000 (alice)", "address 192.0.2.7".
    std::string describe() const;
    // Who it is, whatever connection it comes on: "sha256 ab:cd:..", "uid 1000", "address
    // 192.0.2.7" (the address alone for a peer without a certificate or credentials).
    std::string key() const;
};

// What an allowing rule grants.
struct Grant {
    std::optional<unsigned> maxReaders;     // nullopt: as many as the server has
    std::vector<std::string> readerNames;   // glob patterns; empty: any name
    std::vector<std::pair<int, int>> slots; // inclusive ranges; empty: any slot

    bool allowsName(std::string_view name) const;
    bool allowsSlot(int slot) const;
};

struct Decision {
    bool allowed = false;
    int line = 0; // the deciding rule's line, 0 when no rule matched
    Grant grant;
};

struct ParseError {
    int line = 0;
    std::string message;
};

class AccessPolicy {
public:
    struct Condition {
        enum class Kind { Any, CommonName, Subject, Sha256, Uid, User, Address };
        Kind kind = Kind::Any;
        std::string text; // CommonName, User, Sha256 (normalised), Address (as written)
        std::vector<std::pair<std::string, std::string>> subject;
        std::uint32_t uid = 0;
        std::vector<std::uint8_t> network; // Address: 4 or 16 bytes
        int prefixBits = 0;

        bool matches(const PeerIdentity& peer) const;
    };
    struct Rule {
        int line = 0;
        bool allow = false;
        std::vector<Condition> conditions;
        Grant grant;
    };

    static Result<AccessPolicy, ParseError> parse(std::string_view text);

    Decision decide(const PeerIdentity& peer) const;
    const std::vector<Rule>& rules() const { return rules_; }

private:
    std::vector<Rule> rules_;
};

// Glob match with * and ?, as reader-name patterns use.
bool globMatches(std::string_view pattern, std::string_view text);
// "AB:CD" or "abcd" -> "ab:cd"; nullopt unless it is 32 bytes of hex.
std::optional<std::string> normaliseSha256(std::string_view text);

} // namespace vscard::policy
