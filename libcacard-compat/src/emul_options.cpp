#include "vscard/cacard/emul_options.h"

#include <cctype>

namespace vscard::cacard {

namespace {

class Scanner {
public:
    explicit Scanner(std::string_view text) : text_(text) {}

    std::size_t position() const { return position_; }
    bool atEnd() const { return position_ >= text_.size(); }
    char peek() const { return atEnd() ? '\0' : text_[position_]; }
    void advance() { ++position_; }

    void skipSpace()
    {
        while (!atEnd() && std::isspace(static_cast<unsigned char>(peek())))
            advance();
    }

    // A keyword: letters, digits and underscores.
    std::string_view word()
    {
        const std::size_t start = position_;
        while (!atEnd() && (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '_'))
            advance();
        return text_.substr(start, position_ - start);
    }

    // A value: "quoted" (a backslash escapes the next character) or bare up to a stop character.
    Result<std::string, OptionsError> value(std::string_view stops)
    {
        const std::size_t start = position_;
        std::string result;
        if (peek() == '"') {
            advance();
            while (!atEnd() && peek() != '"') {
                if (peek() == '\\')
                    advance();
                if (!atEnd())
                    result.push_back(peek());
                advance();
            }
            if (atEnd())
                return fail(error(start, "quoted value never ends (missing \")"));
            advance();
            return result;
        }
        while (!atEnd() && !std::isspace(static_cast<unsigned char>(peek())) &&
               stops.find(peek()) == std::string_view::npos)
            result.push_back(text_[position_++]);
        return result;
    }

    // A field of a soft=( ... ) list: quoted, or everything up to ',' or ')' with the spaces
    // around it trimmed (reader and card names may contain spaces).
    Result<std::string, OptionsError> field()
    {
        skipSpace();
        if (peek() == '"') {
            auto quoted = value(",)");
            skipSpace();
            return quoted;
        }
        std::string result;
        while (!atEnd() && peek() != ',' && peek() != ')')
            result.push_back(text_[position_++]);
        while (!result.empty() && std::isspace(static_cast<unsigned char>(result.back())))
            result.pop_back();
        return result;
    }

    static OptionsError error(std::size_t offset, std::string what)
    {
        return OptionsError{offset, "offset " + std::to_string(offset) + ": " + std::move(what)};
    }

private:
    std::string_view text_;
    std::size_t position_ = 0;
};

Result<SoftCard, OptionsError> parseSoftCard(Scanner& scanner)
{
    const std::size_t open = scanner.position();
    if (scanner.peek() != '(')
        return fail(Scanner::error(open, "soft= expects a list: soft=(reader,card name,type,"
                                         "type params,cert1,...)"));
    scanner.advance();
    std::vector<std::string> fields;
    for (;;) {
        auto field = scanner.field();
        if (!field)
            return fail(field.error());
        fields.push_back(std::move(*field));
        if (scanner.peek() == ',') {
            scanner.advance();
            continue;
        }
        if (scanner.peek() == ')') {
            scanner.advance();
            break;
        }
        return fail(Scanner::error(open, "soft= list never ends (missing ')')"));
    }
    // A PIV card may be blank (its keys generated on it): type params and no certificate.
    const bool piv = fields.size() > 2 && fields[2] == "PIV";
    if (fields.size() < (piv ? 4u : 5u))
        return fail(Scanner::error(
            open, piv ? "soft= needs reader, card name, PIV and type params (state=DIR or "
                        "empty); found " +
                            std::to_string(fields.size()) + " fields"
                      : "soft= needs reader, card name, type, type params and at least one "
                        "certificate; found " +
                            std::to_string(fields.size()) + " fields"));
    SoftCard card;
    card.slotName = fields[0];
    card.readerName = fields[1];
    card.type = fields[2];
    card.typeParams = fields[3];
    card.certificates.assign(fields.begin() + 4, fields.end());
    if (card.type != "CAC" && !piv)
        return fail(Scanner::error(open, "soft= card type \"" + card.type +
                                             "\" is not supported (CAC and PIV are)"));
    if (card.certificates.size() > kMaxCertificatesPerCard)
        return fail(Scanner::error(open, "soft= has " + std::to_string(card.certificates.size()) +
                                             " certificates, a card holds at most 10"));
    if (piv && !card.typeParams.empty() && card.typeParams.rfind("state=", 0) != 0)
        return fail(Scanner::error(open, "soft= PIV type params: expected state=DIR or nothing, "
                                         "found \"" +
                                             card.typeParams + "\""));
    if (piv && card.typeParams == "state=")
        return fail(Scanner::error(open, "soft= PIV state= names no directory"));
    for (const auto& nickname : card.certificates) {
        if (nickname.empty())
            return fail(Scanner::error(open, "soft= has an empty certificate nickname"));
    }
    return card;
}

} // namespace

Result<EmulOptions, OptionsError> parseEmulOptions(std::string_view text)
{
    EmulOptions options;
    Scanner scanner(text);
    for (scanner.skipSpace(); !scanner.atEnd(); scanner.skipSpace()) {
        const std::size_t start = scanner.position();
        const std::string keyword(scanner.word());
        if (keyword.empty())
            return fail(Scanner::error(start, std::string("unexpected '") + scanner.peek() + "'"));
        if (keyword == "nssemul") { // libcacard: mirror NSS's tokens as CAC cards
            options.useHardware = HardwareUse::Yes;
            options.hardwareType = "CAC";
            continue;
        }
        if (keyword == "passthru") {
            options.useHardware = HardwareUse::Yes;
            options.hardwareType = "PASSTHRU";
            continue;
        }
        if (scanner.peek() != '=')
            return fail(Scanner::error(start, "unknown option \"" + keyword + "\""));
        scanner.advance();
        if (keyword == "soft") {
            auto card = parseSoftCard(scanner);
            if (!card)
                return fail(card.error());
            options.softCards.push_back(std::move(*card));
            continue;
        }
        const std::size_t valueStart = scanner.position();
        auto value = scanner.value("");
        if (!value)
            return fail(value.error());
        if (keyword == "db") {
            options.nssDatabase = std::move(*value);
        } else if (keyword == "use_hw") {
            if (*value == "yes")
                options.useHardware = HardwareUse::Yes;
            else if (*value == "no")
                options.useHardware = HardwareUse::No;
            else if (*value == "removable")
                options.useHardware = HardwareUse::Removable;
            else
                return fail(Scanner::error(valueStart, "use_hw= expects yes, no or removable, "
                                                       "found \"" +
                                                           *value + "\""));
        } else if (keyword == "hw_type") {
            if (*value != "CAC" && *value != "PASSTHRU")
                return fail(Scanner::error(
                    valueStart, "hw_type= expects CAC or PASSTHRU, found \"" + *value + "\""));
            options.hardwareType = std::move(*value);
        } else if (keyword == "hw_params") {
            options.hardwareParams = std::move(*value);
        } else {
            return fail(Scanner::error(start, "unknown option \"" + keyword + "=\""));
        }
    }
    return options;
}

} // namespace vscard::cacard
