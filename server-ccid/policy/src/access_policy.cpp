#include "vscard/policy/access_policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace vscard::policy {

namespace {

constexpr unsigned kMaxReadersValue = 4096;
constexpr int kMaxSlot = 4095;

std::string trimmed(std::string_view text)
{
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos)
        return {};
    const auto last = text.find_last_not_of(" \t");
    return std::string(text.substr(first, last - first + 1));
}

std::string upper(std::string text)
{
    for (char& c : text)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
}

template <typename Number>
std::optional<Number> parseNumber(std::string_view text)
{
    Number value{};
    const auto* end = text.data() + text.size();
    const auto [next, error] = std::from_chars(text.data(), end, value);
    if (text.empty() || error != std::errc() || next != end)
        return std::nullopt;
    return value;
}

// One line cut into words: whitespace separates, double quotes group (and vanish), a backslash
// inside quotes escapes the next character, # outside quotes starts a comment.
Result<std::vector<std::string>, std::string> splitWords(std::string_view line)
{
    std::vector<std::string> words;
    std::string word;
    bool inWord = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (c == '"') {
            inWord = true;
            for (++i;; ++i) {
                if (i >= line.size())
                    return fail(std::string("a quote is not closed"));
                if (line[i] == '"')
                    break;
                if (line[i] == '\\' && i + 1 < line.size())
                    ++i;
                word += line[i];
            }
        } else if (c == ' ' || c == '\t' || c == '\r') {
            if (inWord)
                words.push_back(std::move(word));
            word.clear();
            inWord = false;
        } else if (c == '#' && !inWord) {
            break;
        } else {
            word += c;
            inWord = true;
        }
    }
    if (inWord)
        words.push_back(std::move(word));
    return words;
}

// TEXT cut at each SEPARATOR, empty parts kept ("a,,b" has three): the parsers refuse them.
std::vector<std::string_view> splitAt(std::string_view text, char separator)
{
    std::vector<std::string_view> parts;
    for (std::size_t start = 0;;) {
        const auto end = text.find(separator, start);
        parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
        if (end == std::string_view::npos)
            return parts;
        start = end + 1;
    }
}

// "O=Example, CN=alice" or OpenSSL's older "/O=Example/CN=alice".
Result<std::vector<std::pair<std::string, std::string>>, std::string>
parseSubject(std::string_view text)
{
    const bool slashes = !text.empty() && text.front() == '/';
    std::vector<std::pair<std::string, std::string>> attributes;
    for (const std::string_view part :
         splitAt(slashes ? text.substr(1) : text, slashes ? '/' : ',')) {
        const auto equals = part.find('=');
        if (equals == std::string_view::npos)
            return fail("\"" + std::string(part) + "\" is not ATTRIBUTE=VALUE");
        std::string attribute = upper(trimmed(part.substr(0, equals)));
        std::string value = trimmed(part.substr(equals + 1));
        if (attribute.empty() || value.empty())
            return fail("\"" + std::string(part) + "\" is not ATTRIBUTE=VALUE");
        attributes.emplace_back(std::move(attribute), std::move(value));
    }
    return attributes;
}

// An IPv4 or IPv6 address as bytes; an IPv4-mapped IPv6 address as its IPv4 bytes.
std::optional<std::vector<std::uint8_t>> addressBytes(const std::string& text)
{
    std::uint8_t buffer[16];
    if (::inet_pton(AF_INET, text.c_str(), buffer) == 1)
        return std::vector<std::uint8_t>(buffer, buffer + 4);
    if (::inet_pton(AF_INET6, text.c_str(), buffer) != 1)
        return std::nullopt;
    static constexpr std::uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (std::memcmp(buffer, kMappedPrefix, sizeof kMappedPrefix) == 0)
        return std::vector<std::uint8_t>(buffer + 12, buffer + 16);
    return std::vector<std::uint8_t>(buffer, buffer + 16);
}

Result<AccessPolicy::Condition, std::string> parseCondition(const std::string& key,
                                                            const std::string& value)
{
    using Kind = AccessPolicy::Condition::Kind;
    AccessPolicy::Condition condition;
    if (value.empty())
        return fail(key + "= needs a value");
    if (key == "cn") {
        condition.kind = Kind::CommonName;
        condition.text = value;
    } else if (key == "subject") {
        auto subject = parseSubject(value);
        if (!subject)
            return fail("subject: " + subject.error());
        condition.kind = Kind::Subject;
        condition.subject = std::move(*subject);
    } else if (key == "sha256") {
        auto fingerprint = normaliseSha256(value);
        if (!fingerprint)
            return fail("sha256=" + value + " is not 32 bytes of hex");
        condition.kind = Kind::Sha256;
        condition.text = std::move(*fingerprint);
    } else if (key == "uid") {
        const auto uid = parseNumber<std::uint32_t>(value);
        if (!uid)
            return fail("uid=" + value + " is not a number");
        condition.kind = Kind::Uid;
        condition.uid = *uid;
    } else if (key == "user") {
        condition.kind = Kind::User;
        condition.text = value;
    } else if (key == "address") {
        const auto slash = value.find('/');
        condition.text = value;
        const auto network = addressBytes(value.substr(0, slash));
        if (!network)
            return fail("address=" + value + " is not an IP address");
        const int maxBits = static_cast<int>(network->size() * 8);
        condition.prefixBits = maxBits;
        if (slash != std::string::npos) {
            const auto bits = parseNumber<int>(std::string_view(value).substr(slash + 1));
            if (!bits || *bits < 0 || *bits > maxBits)
                return fail("address=" + value + ": the prefix length must be 0 to " +
                            std::to_string(maxBits));
            condition.prefixBits = *bits;
        }
        condition.kind = Kind::Address;
        condition.network = std::move(*network);
    } else {
        return fail("unknown condition " + key + "=");
    }
    return condition;
}

Result<std::vector<std::pair<int, int>>, std::string> parseSlots(const std::string& value)
{
    std::vector<std::pair<int, int>> ranges;
    for (const std::string_view part : splitAt(value, ',')) {
        const auto dash = part.find('-');
        const auto first = parseNumber<int>(part.substr(0, dash));
        const auto last =
            dash == std::string_view::npos ? first : parseNumber<int>(part.substr(dash + 1));
        if (!first || !last || *first < 0 || *last < *first || *last > kMaxSlot)
            return fail("slots: \"" + std::string(part) + "\" is not N or N-M (0 to " +
                        std::to_string(kMaxSlot) + ")");
        ranges.emplace_back(*first, *last);
    }
    return ranges;
}

Result<std::vector<std::string>, std::string> parseNames(const std::string& value)
{
    std::vector<std::string> names;
    for (const std::string_view part : splitAt(value, ',')) {
        std::string name = trimmed(part);
        if (name.empty())
            return fail(std::string("names: an empty pattern"));
        names.push_back(std::move(name));
    }
    return names;
}

// Applies one word of the form key=value to the rule being read.
std::optional<std::string> applyWord(AccessPolicy::Rule& rule, const std::string& word)
{
    if (word == "any") {
        rule.conditions.push_back({});
        return std::nullopt;
    }
    const auto equals = word.find('=');
    if (equals == std::string::npos)
        return "\"" + word + "\" is neither a condition nor a grant (KEY=VALUE or any)";
    const std::string key = word.substr(0, equals);
    const std::string value = word.substr(equals + 1);
    const bool grant = key == "readers" || key == "names" || key == "slots";
    if (grant && !rule.allow)
        return "a deny rule grants nothing: " + key + "= belongs on allow rules";
    if (key == "readers") {
        const auto readers = parseNumber<unsigned>(value);
        if (!readers || *readers > kMaxReadersValue)
            return "readers=" + value + " is not a number from 0 to " +
                   std::to_string(kMaxReadersValue);
        if (rule.grant.maxReaders)
            return std::string("readers= given twice");
        rule.grant.maxReaders = *readers;
    } else if (key == "names") {
        auto names = parseNames(value);
        if (!names)
            return names.error();
        if (!rule.grant.readerNames.empty())
            return std::string("names= given twice");
        rule.grant.readerNames = std::move(*names);
    } else if (key == "slots") {
        auto slots = parseSlots(value);
        if (!slots)
            return slots.error();
        if (!rule.grant.slots.empty())
            return std::string("slots= given twice");
        rule.grant.slots = std::move(*slots);
    } else {
        auto condition = parseCondition(key, value);
        if (!condition)
            return condition.error();
        rule.conditions.push_back(std::move(*condition));
    }
    return std::nullopt;
}

bool prefixMatches(const std::vector<std::uint8_t>& network, int bits,
                   const std::vector<std::uint8_t>& address)
{
    if (network.size() != address.size())
        return false;
    for (std::size_t i = 0; bits > 0; ++i, bits -= 8) {
        const std::uint8_t mask = bits >= 8 ? 0xFF : static_cast<std::uint8_t>(0xFF << (8 - bits));
        if ((network[i] & mask) != (address[i] & mask))
            return false;
    }
    return true;
}

} // namespace

std::optional<std::string> normaliseSha256(std::string_view text)
{
    std::string digits;
    for (const char c : text) {
        if (c == ':')
            continue;
        if (!std::isxdigit(static_cast<unsigned char>(c)))
            return std::nullopt;
        digits += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (digits.size() != 64)
        return std::nullopt;
    std::string normalised;
    for (std::size_t i = 0; i < digits.size(); i += 2) {
        if (i > 0)
            normalised += ':';
        normalised += digits.substr(i, 2);
    }
    return normalised;
}

bool globMatches(std::string_view pattern, std::string_view text)
{
    // Iterative matching with one backtrack point: linear in practice, no recursion to blow
    // the stack on a hostile pattern.
    std::size_t p = 0, t = 0, starP = std::string_view::npos, starT = 0;
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            starP = p++;
            starT = t;
        } else if (starP != std::string_view::npos) {
            p = starP + 1;
            t = ++starT;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*')
        ++p;
    return p == pattern.size();
}

bool Grant::allowsName(std::string_view name) const
{
    return readerNames.empty() ||
           std::any_of(readerNames.begin(), readerNames.end(),
                       [&](const std::string& pattern) { return globMatches(pattern, name); });
}

bool Grant::allowsSlot(int slot) const
{
    return slots.empty() || std::any_of(slots.begin(), slots.end(), [&](const auto& range) {
               return slot >= range.first && slot <= range.second;
           });
}

std::string PeerIdentity::describe() const
{
    std::string text;
    if (!subject.empty() || !sha256.empty()) {
        text = "certificate";
        for (const auto& [attribute, value] : subject)
            text += (&attribute == &subject.front().first ? " " : ",") + attribute + "=" + value;
        if (!sha256.empty())
            text += " sha256 " + sha256;
    }
    if (uid) {
        text += (text.empty() ? "" : ", ") + std::string("uid ") + std::to_string(*uid);
        if (!userName.empty())
            text += " (" + userName + ")";
    }
    if (!address.empty())
        text += (text.empty() ? "" : ", ") + std::string("address ") + address;
    return text.empty() ? std::string("no identity") : text;
}

std::string PeerIdentity::key() const
{
    if (!sha256.empty())
        return "sha256 " + sha256;
    if (uid)
        return "uid " + std::to_string(*uid);
    return "address " + address;
}

bool AccessPolicy::Condition::matches(const PeerIdentity& peer) const
{
    switch (kind) {
    case Kind::Any: return true;
    case Kind::CommonName:
        return std::any_of(peer.subject.begin(), peer.subject.end(), [&](const auto& attribute) {
            return attribute.first == "CN" && attribute.second == text;
        });
    case Kind::Subject:
        return std::all_of(subject.begin(), subject.end(), [&](const auto& wanted) {
            return std::find(peer.subject.begin(), peer.subject.end(), wanted) !=
                   peer.subject.end();
        });
    case Kind::Sha256: return !peer.sha256.empty() && normaliseSha256(peer.sha256) == text;
    case Kind::Uid: return peer.uid && *peer.uid == uid;
    case Kind::User: return peer.uid && peer.userName == text;
    case Kind::Address: {
        if (peer.address.empty())
            return false;
        const auto address = addressBytes(peer.address);
        return address && prefixMatches(network, prefixBits, *address);
    }
    }
    return false;
}

Result<AccessPolicy, ParseError> AccessPolicy::parse(std::string_view text)
{
    AccessPolicy policy;
    int lineNumber = 0;
    for (const std::string_view line : splitAt(text, '\n')) {
        ++lineNumber;
        const auto words = splitWords(line);
        if (!words)
            return fail(ParseError{lineNumber, words.error()});
        if (words->empty())
            continue;
        Rule rule;
        rule.line = lineNumber;
        const std::string& verb = words->front();
        if (verb != "allow" && verb != "deny")
            return fail(
                ParseError{lineNumber, "a rule starts with allow or deny, not \"" + verb + "\""});
        rule.allow = verb == "allow";
        for (std::size_t i = 1; i < words->size(); ++i)
            if (const auto problem = applyWord(rule, (*words)[i]))
                return fail(ParseError{lineNumber, *problem});
        if (rule.conditions.empty())
            return fail(ParseError{lineNumber, verb + " whom? (cn=, subject=, sha256=, uid=, "
                                                      "user=, address= or any)"});
        policy.rules_.push_back(std::move(rule));
    }
    return policy;
}

Decision AccessPolicy::decide(const PeerIdentity& peer) const
{
    for (const Rule& rule : rules_) {
        const bool matches = std::all_of(rule.conditions.begin(), rule.conditions.end(),
                                         [&](const Condition& c) { return c.matches(peer); });
        if (matches)
            return Decision{rule.allow, rule.line, rule.grant};
    }
    return Decision{};
}

} // namespace vscard::policy
