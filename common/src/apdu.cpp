#include "vscard/apdu.h"

#include <array>
#include <cstdio>
#include <stdexcept>

namespace vscard {

namespace {

ApduError apduError(std::string message)
{
    return ApduError{std::move(message)};
}

std::string lengthMismatch(std::size_t total, std::string_view what)
{
    return "command APDU of " + std::to_string(total) + " bytes: " + std::string(what);
}

struct StatusMeaning {
    std::uint16_t value;
    std::string_view text;
};

// Exact status words; whole families (61xx, 63Cx, ...) are decoded after this table.
constexpr std::array kStatusMeanings{
    StatusMeaning{0x9000, "success"},
    StatusMeaning{0x6281, "part of returned data may be corrupted"},
    StatusMeaning{0x6282, "end of file or record reached before Ne bytes"},
    StatusMeaning{0x6283, "selected file deactivated"},
    StatusMeaning{0x6300, "verification failed"},
    StatusMeaning{0x6381, "file filled up by the last write"},
    StatusMeaning{0x6581, "memory failure"},
    StatusMeaning{0x6700, "wrong length"},
    StatusMeaning{0x6881, "logical channel not supported"},
    StatusMeaning{0x6882, "secure messaging not supported"},
    StatusMeaning{0x6883, "last command of the chain expected"},
    StatusMeaning{0x6884, "command chaining not supported"},
    StatusMeaning{0x6981, "command incompatible with file structure"},
    StatusMeaning{0x6982, "security status not satisfied"},
    StatusMeaning{0x6983, "authentication method blocked"},
    StatusMeaning{0x6984, "reference data not usable"},
    StatusMeaning{0x6985, "conditions of use not satisfied"},
    StatusMeaning{0x6986, "command not allowed, no current EF"},
    StatusMeaning{0x6A80, "incorrect data field"},
    StatusMeaning{0x6A81, "function not supported"},
    StatusMeaning{0x6A82, "file or application not found"},
    StatusMeaning{0x6A83, "record not found"},
    StatusMeaning{0x6A84, "not enough memory space"},
    StatusMeaning{0x6A86, "incorrect P1-P2"},
    StatusMeaning{0x6A88, "referenced data not found"},
    StatusMeaning{0x6B00, "wrong P1-P2"},
    StatusMeaning{0x6D00, "instruction not supported"},
    StatusMeaning{0x6E00, "class not supported"},
    StatusMeaning{0x6F00, "no precise diagnosis"},
};

} // namespace

std::string_view apduCaseName(ApduCase apduCase, bool extended)
{
    switch (apduCase) {
    case ApduCase::Case1: return "case 1";
    case ApduCase::Case2: return extended ? "case 2E" : "case 2S";
    case ApduCase::Case3: return extended ? "case 3E" : "case 3S";
    case ApduCase::Case4: return extended ? "case 4E" : "case 4S";
    }
    return "case ?";
}

std::string StatusWord::meaning() const
{
    for (const auto& entry : kStatusMeanings) {
        if (value_ == entry.value)
            return std::string(entry.text);
    }
    const unsigned count = sw2() == 0 ? 256u : sw2();
    switch (sw1()) {
    case 0x61: return std::to_string(count) + " bytes available";
    case 0x6C: return "wrong Le, exactly " + std::to_string(count) + " bytes available";
    case 0x63:
        if ((sw2() & 0xF0) == 0xC0)
            return "verification failed, " + std::to_string(sw2() & 0x0F) + " tries left";
        return "warning, state changed";
    case 0x62: return "warning, state unchanged";
    case 0x64: return "execution error, state unchanged";
    case 0x65: return "execution error, state changed";
    case 0x66: return "security-related issue";
    case 0x68: return "function in CLA not supported";
    case 0x69: return "command not allowed";
    case 0x6A: return "wrong parameters P1-P2";
    default: break;
    }
    if ((sw1() & 0xF0) == 0x90)
        return "proprietary success";
    return "unknown status";
}

std::string StatusWord::describe() const
{
    char hex[5];
    std::snprintf(hex, sizeof hex, "%04X", value_);
    return std::string(hex) + " " + meaning();
}

Result<CommandApdu, ApduError> CommandApdu::parse(ByteView bytes)
{
    const std::size_t total = bytes.size();
    if (total < 4)
        return fail(apduError(lengthMismatch(total, "shorter than the 4-byte header")));
    CommandApdu apdu;
    apdu.cla_ = bytes[0];
    apdu.ins_ = bytes[1];
    apdu.p1_ = bytes[2];
    apdu.p2_ = bytes[3];
    if (total == 4)
        return apdu; // case 1

    const ByteView body = bytes.subspan(4);
    if (total == 5) { // case 2S: Le = 00 means 256
        apdu.ne_ = body[0] == 0 ? kMaxShortNe : body[0];
        return apdu;
    }
    if (body[0] != 0) { // short Lc
        const std::size_t nc = body[0];
        if (body.size() == 1 + nc) {
            apdu.data_.assign(body.begin() + 1, body.end());
            return apdu; // case 3S
        }
        if (body.size() == 2 + nc) {
            apdu.data_.assign(body.begin() + 1, body.end() - 1);
            apdu.ne_ = body.back() == 0 ? kMaxShortNe : body.back();
            return apdu; // case 4S
        }
        return fail(apduError(lengthMismatch(total, "Lc " + std::to_string(nc) + " leaves " +
                                                        std::to_string(body.size() - 1) +
                                                        " bytes for data and Le")));
    }

    // A zero byte after the header opens an extended length field.
    apdu.extended_ = true;
    if (body.size() < 3)
        return fail(apduError(lengthMismatch(total, "extended length field is truncated")));
    const std::size_t field = readBigEndian16(body, 1);
    if (body.size() == 3) { // case 2E: Le = 0000 means 65536
        apdu.ne_ = field == 0 ? kMaxExtendedNe : static_cast<std::uint32_t>(field);
        return apdu;
    }
    if (field == 0)
        return fail(apduError(lengthMismatch(total, "extended Lc is zero")));
    const std::size_t nc = field;
    if (body.size() == 3 + nc) {
        apdu.data_.assign(body.begin() + 3, body.end());
        return apdu; // case 3E
    }
    if (body.size() == 5 + nc) {
        apdu.data_.assign(body.begin() + 3, body.end() - 2);
        const std::size_t le = readBigEndian16(body, body.size() - 2);
        apdu.ne_ = le == 0 ? kMaxExtendedNe : static_cast<std::uint32_t>(le);
        return apdu; // case 4E
    }
    return fail(apduError(lengthMismatch(total, "extended Lc " + std::to_string(nc) + " leaves " +
                                                    std::to_string(body.size() - 3) +
                                                    " bytes for data and Le")));
}

CommandApdu::CommandApdu(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                         Bytes data, std::uint32_t ne)
    : cla_(cla), ins_(ins), p1_(p1), p2_(p2), data_(std::move(data)), ne_(ne)
{
    if (data_.size() > kMaxExtendedData)
        throw std::invalid_argument("command data longer than 65535 bytes");
    if (ne_ > kMaxExtendedNe)
        throw std::invalid_argument("Ne larger than 65536");
    extended_ = data_.size() > kMaxShortData || ne_ > kMaxShortNe;
}

ApduCase CommandApdu::apduCase() const
{
    if (data_.empty())
        return ne_ == 0 ? ApduCase::Case1 : ApduCase::Case2;
    return ne_ == 0 ? ApduCase::Case3 : ApduCase::Case4;
}

bool CommandApdu::isChained() const
{
    const bool firstInterindustry = (cla_ & 0xE0) == 0x00;
    const bool furtherInterindustry = (cla_ & 0xC0) == 0x40;
    return (firstInterindustry || furtherInterindustry) && (cla_ & 0x10) != 0;
}

Bytes CommandApdu::encode() const
{
    Bytes out{cla_, ins_, p1_, p2_};
    out.reserve(4 + 3 + data_.size() + 2);
    if (!data_.empty()) {
        if (extended_) {
            out.push_back(0);
            appendBigEndian16(out, static_cast<std::uint16_t>(data_.size()));
        } else {
            out.push_back(static_cast<std::uint8_t>(data_.size()));
        }
        out.insert(out.end(), data_.begin(), data_.end());
    }
    if (ne_ != 0) {
        if (extended_) {
            if (data_.empty())
                out.push_back(0); // case 2E: the Le field carries the extended marker
            appendBigEndian16(out, static_cast<std::uint16_t>(ne_ == kMaxExtendedNe ? 0 : ne_));
        } else {
            out.push_back(static_cast<std::uint8_t>(ne_ == kMaxShortNe ? 0 : ne_));
        }
    }
    return out;
}

Result<ResponseApdu, ApduError> ResponseApdu::parse(ByteView bytes)
{
    if (bytes.size() < 2)
        return fail(apduError("response APDU of " + std::to_string(bytes.size()) +
                              " bytes has no status word"));
    return ResponseApdu(Bytes(bytes.begin(), bytes.end() - 2),
                        StatusWord(bytes[bytes.size() - 2], bytes[bytes.size() - 1]));
}

Bytes ResponseApdu::encode() const
{
    Bytes out;
    out.reserve(data_.size() + 2);
    out.insert(out.end(), data_.begin(), data_.end());
    out.push_back(status_.sw1());
    out.push_back(status_.sw2());
    return out;
}

std::string_view instructionName(std::uint8_t ins)
{
    switch (ins) {
    case 0x04: return "DEACTIVATE FILE";
    case 0x0E: return "ERASE BINARY";
    case 0x20: return "VERIFY";
    case 0x21: return "VERIFY";
    case 0x22: return "MANAGE SECURITY ENVIRONMENT";
    case 0x24: return "CHANGE REFERENCE DATA";
    case 0x26: return "DISABLE VERIFICATION REQUIREMENT";
    case 0x28: return "ENABLE VERIFICATION REQUIREMENT";
    case 0x2A: return "PERFORM SECURITY OPERATION";
    case 0x2C: return "RESET RETRY COUNTER";
    case 0x42: return "SIGN/DECRYPT (CAC)";
    case 0x44: return "ACTIVATE FILE";
    case 0x46: return "GENERATE ASYMMETRIC KEY PAIR";
    case 0x47: return "GENERATE ASYMMETRIC KEY PAIR";
    case 0x4C: return "GET ACR (CAC)";
    case 0x52: return "READ BUFFER (CAC)";
    case 0x56: return "GET PROPERTIES (CAC)";
    case 0x70: return "MANAGE CHANNEL";
    case 0x82: return "EXTERNAL AUTHENTICATE";
    case 0x84: return "GET CHALLENGE";
    case 0x86: return "GENERAL AUTHENTICATE";
    case 0x87: return "GENERAL AUTHENTICATE";
    case 0x88: return "INTERNAL AUTHENTICATE";
    case 0xA4: return "SELECT";
    case 0xB0: return "READ BINARY";
    case 0xB1: return "READ BINARY";
    case 0xB2: return "READ RECORD";
    case 0xC0: return "GET RESPONSE";
    case 0xCA: return "GET DATA";
    case 0xCB: return "GET DATA";
    case 0xD6: return "UPDATE BINARY";
    case 0xDA: return "PUT DATA";
    case 0xDB: return "PUT DATA";
    case 0xDC: return "UPDATE RECORD";
    case 0xE0: return "CREATE FILE";
    case 0xE4: return "DELETE FILE";
    default: return {};
    }
}

bool instructionCarriesSecret(std::uint8_t ins)
{
    switch (ins) {
    case 0x20: // VERIFY
    case 0x21:
    case 0x24: // CHANGE REFERENCE DATA: old and new PIN
    case 0x25:
    case 0x2C: // RESET RETRY COUNTER: PUK and new PIN
    case 0x2D:
    case 0xFE: // YubiKey PIV IMPORT ASYMMETRIC KEY: a private key
    case 0xFF: // YubiKey PIV SET MANAGEMENT KEY: the key
        return true;
    default: return false;
    }
}

bool commandAnswersWithSecret(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2)
{
    switch (ins) {
    case 0x2A: // PERFORM SECURITY OPERATION: DECIPHER (ISO 7816-8), P1 80 = plain value out
        return p1 == 0x80 && (p2 == 0x84 || p2 == 0x86);
    case 0x42: // CAC SIGN/DECRYPT: one operation, so a decryption cannot be told from a signature
        return (cla & 0x80) != 0; // any proprietary class: the CAC's is 80, SM and channels vary
    case 0x86: // GENERAL AUTHENTICATE: PIV decrypts and agrees keys with it (ISO names both INS)
    case 0x87: return true;
    default: return false;
    }
}

} // namespace vscard
