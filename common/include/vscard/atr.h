// Answer-to-Reset parser (ISO/IEC 7816-3 8.2): TS, T0, the TA/TB/TC/TD chain, historical bytes,
// TCK, and the protocol parameters a reader derives from them.
#pragma once

#include "vscard/bytes.h"
#include "vscard/result.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vscard {

struct AtrError {
    std::string message;
};

// One group of interface bytes: TAi, TBi, TCi and TDi for i = 1, 2, ...
struct InterfaceByteGroup {
    std::optional<std::uint8_t> ta;
    std::optional<std::uint8_t> tb;
    std::optional<std::uint8_t> tc;
    std::optional<std::uint8_t> td;
    // The protocol T that TD(i-1) announced for this group; group 1 is global (nullopt).
    std::optional<unsigned> qualifyingProtocol;

    friend bool operator==(const InterfaceByteGroup&, const InterfaceByteGroup&) = default;
};

class Atr {
public:
    // ISO 7816-3 allows at most 32 bytes after TS; pcsc-lite's buffers hold exactly 33.
    static constexpr std::size_t kMaxSize = 33;

    static Result<Atr, AtrError> parse(ByteView bytes);

    const Bytes& bytes() const { return bytes_; }
    bool isDirectConvention() const { return bytes_[0] == 0x3B; }
    std::uint8_t t0() const { return bytes_[1]; }
    const std::vector<InterfaceByteGroup>& interfaceGroups() const { return groups_; }
    const Bytes& historicalBytes() const { return historical_; }
    std::optional<std::uint8_t> tck() const { return tck_; }

    // Bit T set for each transmission protocol T offered (T=15 is not a protocol).
    std::uint16_t offeredProtocols() const { return protocols_; }
    bool offersProtocol(unsigned t) const { return t < 15 && (protocols_ & (1u << t)) != 0; }
    // The first protocol offered, which the card uses unless PPS negotiates another.
    unsigned firstOfferedProtocol() const;

    // TA1: Fi/Di index pair; 0x11 (Fd, Dd) when absent.
    std::uint8_t fiDi() const;
    // TC1: extra guard time N; 0 when absent.
    std::uint8_t extraGuardTime() const;
    // TA2 present: the card is in specific mode and uses the protocol TA2 names, without PPS.
    bool isSpecificMode() const;
    // TC2 for T=0: work waiting integer WI; 10 when absent.
    std::uint8_t t0WaitingIntegerWi() const;
    // T=1 parameters from the first TA/TB/TC qualified by T=1 (ISO 7816-3 11.4).
    std::uint8_t t1Ifsc() const;   // 32 when absent
    std::uint8_t t1BwiCwi() const; // TB: BWI high nibble, CWI low nibble; 0x4D when absent
    bool t1UsesCrc() const;        // TC bit 1 set: CRC, else LRC

    // "3B 7A 18 ...: direct convention, T=0, Fi/Di 0x18, 10 historical bytes ..." style summary.
    std::string describe() const;

    friend bool operator==(const Atr&, const Atr&) = default;

private:
    Atr() = default;
    const InterfaceByteGroup* group(std::size_t number) const;
    const InterfaceByteGroup* firstGroupForProtocol(unsigned t,
                                                    bool (*has)(const InterfaceByteGroup&)) const;

    Bytes bytes_;
    std::vector<InterfaceByteGroup> groups_;
    Bytes historical_;
    std::optional<std::uint8_t> tck_;
    std::uint16_t protocols_ = 0;
};

} // namespace vscard
