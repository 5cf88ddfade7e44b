#include "vscard/atr.h"

#include "vscard/trace.h"

#include <cstdio>

namespace vscard {

namespace {

constexpr unsigned kGlobalInterfaceBytes = 15; // "T=15" qualifies global bytes, not a protocol

AtrError atrError(std::size_t size, std::string what)
{
    return AtrError{"ATR of " + std::to_string(size) + " bytes: " + std::move(what)};
}

std::string hexByte(std::uint8_t value)
{
    char text[3];
    std::snprintf(text, sizeof text, "%02X", value);
    return text;
}

} // namespace

Result<Atr, AtrError> Atr::parse(ByteView bytes)
{
    const std::size_t size = bytes.size();
    if (size < 2)
        return fail(atrError(size, "shorter than TS and T0"));
    if (size > kMaxSize)
        return fail(atrError(size, "longer than the maximum of " + std::to_string(kMaxSize)));
    if (bytes[0] != 0x3B && bytes[0] != 0x3F)
        return fail(atrError(size, "TS " + hexByte(bytes[0]) + " is neither 3B nor 3F"));

    Atr atr;
    atr.bytes_.assign(bytes.begin(), bytes.end());
    std::size_t offset = 2;
    std::uint8_t presence = bytes[1] >> 4;
    bool tckRequired = false;
    std::optional<unsigned> qualifier;
    for (unsigned number = 1; presence != 0; ++number) {
        InterfaceByteGroup group;
        group.qualifyingProtocol = qualifier;
        std::optional<std::uint8_t>* fields[] = {&group.ta, &group.tb, &group.tc, &group.td};
        for (unsigned bit = 0; bit < 4; ++bit) {
            if ((presence & (1u << bit)) == 0)
                continue;
            if (offset >= size)
                return fail(atrError(size, "interface bytes of group " + std::to_string(number) +
                                               " are truncated"));
            *fields[bit] = bytes[offset++];
        }
        presence = 0;
        if (group.td) {
            const unsigned protocol = *group.td & 0x0F;
            qualifier = protocol;
            presence = *group.td >> 4;
            if (protocol != 0)
                tckRequired = true;
            if (protocol != kGlobalInterfaceBytes)
                atr.protocols_ |= static_cast<std::uint16_t>(1u << protocol);
        }
        atr.groups_.push_back(group);
    }
    if (atr.protocols_ == 0)
        atr.protocols_ = 1; // no TD1 (or only T=15): T=0 is implied

    const std::size_t historicalCount = bytes[1] & 0x0F;
    if (size - offset < historicalCount)
        return fail(atrError(size, std::to_string(historicalCount) +
                                       " historical bytes announced, " +
                                       std::to_string(size - offset) + " present"));
    atr.historical_.assign(bytes.begin() + static_cast<std::ptrdiff_t>(offset),
                           bytes.begin() + static_cast<std::ptrdiff_t>(offset + historicalCount));
    offset += historicalCount;

    if (tckRequired) {
        if (offset == size)
            return fail(atrError(size, "TCK missing although a protocol other than T=0 is "
                                       "indicated"));
        std::uint8_t check = 0;
        for (std::size_t i = 1; i <= offset; ++i)
            check ^= bytes[i];
        if (check != 0)
            return fail(
                atrError(size, "TCK " + hexByte(bytes[offset]) + " is wrong, expected " +
                                   hexByte(static_cast<std::uint8_t>(check ^ bytes[offset]))));
        atr.tck_ = bytes[offset++];
    }
    if (offset != size)
        return fail(atrError(size, std::to_string(size - offset) + " unexpected bytes after " +
                                       (tckRequired ? "TCK" : "the historical bytes")));
    return atr;
}

const InterfaceByteGroup* Atr::group(std::size_t number) const
{
    return number >= 1 && number <= groups_.size() ? &groups_[number - 1] : nullptr;
}

const InterfaceByteGroup* Atr::firstGroupForProtocol(unsigned t,
                                                     bool (*has)(const InterfaceByteGroup&)) const
{
    // Protocol-specific bytes start at group 3: group 2's TA/TB/TC have global meanings.
    for (std::size_t number = 3; number <= groups_.size(); ++number) {
        const auto& candidate = groups_[number - 1];
        if (candidate.qualifyingProtocol == t && has(candidate))
            return &candidate;
    }
    return nullptr;
}

unsigned Atr::firstOfferedProtocol() const
{
    for (unsigned t = 0; t < kGlobalInterfaceBytes; ++t) {
        if (offersProtocol(t))
            return t;
    }
    return 0;
}

std::uint8_t Atr::fiDi() const
{
    const auto* first = group(1);
    return first && first->ta ? *first->ta : 0x11;
}

std::uint8_t Atr::extraGuardTime() const
{
    const auto* first = group(1);
    return first && first->tc ? *first->tc : 0;
}

bool Atr::isSpecificMode() const
{
    const auto* second = group(2);
    return second && second->ta.has_value();
}

std::uint8_t Atr::t0WaitingIntegerWi() const
{
    const auto* second = group(2);
    return second && second->tc && second->qualifyingProtocol == 0u ? *second->tc : 10;
}

std::uint8_t Atr::t1Ifsc() const
{
    const auto* found =
        firstGroupForProtocol(1, [](const InterfaceByteGroup& g) { return g.ta.has_value(); });
    return found ? *found->ta : 32;
}

std::uint8_t Atr::t1BwiCwi() const
{
    const auto* found =
        firstGroupForProtocol(1, [](const InterfaceByteGroup& g) { return g.tb.has_value(); });
    return found ? *found->tb : 0x4D;
}

bool Atr::t1UsesCrc() const
{
    const auto* found =
        firstGroupForProtocol(1, [](const InterfaceByteGroup& g) { return g.tc.has_value(); });
    return found && (*found->tc & 0x01) != 0;
}

std::string Atr::describe() const
{
    std::string text = trace::hex(bytes_) + ": ";
    text += isDirectConvention() ? "direct convention" : "inverse convention";
    text += ", protocols";
    for (unsigned t = 0; t < kGlobalInterfaceBytes; ++t) {
        if (offersProtocol(t))
            text += " T=" + std::to_string(t);
    }
    text += ", Fi/Di " + hexByte(fiDi());
    if (isSpecificMode())
        text += ", specific mode";
    if (extraGuardTime() != 0)
        text += ", extra guard time " + std::to_string(extraGuardTime());
    if (offersProtocol(1))
        text += ", IFSC " + std::to_string(t1Ifsc()) + ", BWI/CWI " + hexByte(t1BwiCwi()) +
                (t1UsesCrc() ? ", CRC" : ", LRC");
    text += ", " + std::to_string(historical_.size()) + " historical bytes";
    if (!historical_.empty())
        text += " \"" + trace::printable(historical_) + "\"";
    return text;
}

} // namespace vscard
