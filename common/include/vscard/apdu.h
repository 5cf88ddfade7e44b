// ISO/IEC 7816-4 command and response APDUs, short and extended.
#pragma once

#include "vscard/bytes.h"
#include "vscard/result.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vscard {

// The four cases of ISO 7816-4 5.1: whether command data (Lc) and an expected length (Le) exist.
enum class ApduCase {
    Case1, // no data, no Le
    Case2, // Le only
    Case3, // data only
    Case4, // data and Le
};

std::string_view apduCaseName(ApduCase apduCase, bool extended);

struct ApduError {
    std::string message;
};

class StatusWord {
public:
    constexpr StatusWord() = default;
    constexpr explicit StatusWord(std::uint16_t value) : value_(value) {}
    constexpr StatusWord(std::uint8_t sw1, std::uint8_t sw2)
        : value_(static_cast<std::uint16_t>((sw1 << 8) | sw2))
    {
    }

    constexpr std::uint16_t value() const { return value_; }
    constexpr std::uint8_t sw1() const { return static_cast<std::uint8_t>(value_ >> 8); }
    constexpr std::uint8_t sw2() const { return static_cast<std::uint8_t>(value_); }
    constexpr bool isSuccess() const { return value_ == 0x9000; }
    // 61xx: xx more bytes wait for GET RESPONSE (00 means 256).
    constexpr bool hasMoreData() const { return sw1() == 0x61; }
    // 6Cxx: wrong Le, the card wants xx (00 means 256).
    constexpr bool isWrongLe() const { return sw1() == 0x6C; }

    // "9000 success", "63C2 verification failed, 2 tries left", "6A82 file or application not
    // found", "6F12 unknown status".
    std::string describe() const;
    // The meaning alone, without the hex value.
    std::string meaning() const;

    friend constexpr bool operator==(StatusWord, StatusWord) = default;

private:
    std::uint16_t value_ = 0;
};

class CommandApdu {
public:
    static constexpr std::uint32_t kMaxShortNe = 256;
    static constexpr std::uint32_t kMaxExtendedNe = 65536;
    static constexpr std::size_t kMaxShortData = 255;
    static constexpr std::size_t kMaxExtendedData = 65535;

    // Parses the bytes of a command APDU; any length mismatch is an error.
    static Result<CommandApdu, ApduError> parse(ByteView bytes);

    // Builds a command; it is encoded extended when the data or Ne does not fit a short APDU.
    // ne = 0 means no Le field. Throws std::invalid_argument when data or ne is too large.
    CommandApdu(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                Bytes data = {}, std::uint32_t ne = 0);

    std::uint8_t cla() const { return cla_; }
    std::uint8_t ins() const { return ins_; }
    std::uint8_t p1() const { return p1_; }
    std::uint8_t p2() const { return p2_; }
    const Bytes& data() const { return data_; }
    // Nc: number of data bytes.
    std::size_t nc() const { return data_.size(); }
    // Ne: maximum number of response data bytes expected, 0 when there is no Le field.
    std::uint32_t ne() const { return ne_; }
    ApduCase apduCase() const;
    bool isExtended() const { return extended_; }
    // Command chaining (CLA bit 5) in the interindustry classes, as ISO 7816-4 5.4.1 defines it.
    bool isChained() const;

    Bytes encode() const;

    friend bool operator==(const CommandApdu&, const CommandApdu&) = default;

private:
    CommandApdu() = default;

    std::uint8_t cla_ = 0;
    std::uint8_t ins_ = 0;
    std::uint8_t p1_ = 0;
    std::uint8_t p2_ = 0;
    Bytes data_;
    std::uint32_t ne_ = 0;
    bool extended_ = false;
};

class ResponseApdu {
public:
    // A response needs at least SW1 SW2.
    static Result<ResponseApdu, ApduError> parse(ByteView bytes);

    ResponseApdu(Bytes data, StatusWord status) : data_(std::move(data)), status_(status) {}

    const Bytes& data() const { return data_; }
    StatusWord status() const { return status_; }
    Bytes encode() const;

    friend bool operator==(const ResponseApdu&, const ResponseApdu&) = default;

private:
    Bytes data_;
    StatusWord status_;
};

// Name of a well-known instruction ("SELECT", "VERIFY", ...), or empty.
std::string_view instructionName(std::uint8_t ins);

// Instructions whose command data carries a PIN or other secret that traces must not show.
bool instructionCarriesSecret(std::uint8_t ins);

// Commands whose response data is a secret that traces must not show: a deciphered key or
// message, a key agreement's result. Signatures share these operations and are masked with them.
bool commandAnswersWithSecret(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2);

} // namespace vscard
