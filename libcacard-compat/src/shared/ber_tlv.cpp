#include "vscard/cacard/ber_tlv.h"

namespace vscard::cacard {

namespace {

std::string at(std::size_t offset, const std::string& what)
{
    return "BER-TLV offset " + std::to_string(offset) + ": " + what;
}

} // namespace

Result<std::pair<BerTlv, std::size_t>, std::string> parseFirstBerTlv(ByteView data)
{
    std::size_t offset = 0;
    if (data.empty())
        return fail(at(0, "no tag"));
    std::uint32_t tag = data[offset++];
    if (tag == 0x00 || tag == 0xFF)
        return fail(at(0, "padding byte where a tag should be"));
    if ((tag & 0x1F) == 0x1F) { // more tag bytes follow, each with bit 8 set but the last
        for (int extra = 0;; ++extra) {
            if (extra == 2)
                return fail(at(offset, "tag longer than three bytes"));
            if (offset == data.size())
                return fail(at(offset, "tag cut short"));
            const std::uint8_t byte = data[offset++];
            tag = (tag << 8) | byte;
            if ((byte & 0x80) == 0)
                break;
        }
    }
    if (offset == data.size())
        return fail(at(offset, "no length"));
    std::size_t length = data[offset++];
    if (length == 0x80)
        return fail(at(offset - 1, "indefinite length"));
    if (length > 0x80) {
        const std::size_t count = length - 0x80;
        if (count > 3)
            return fail(at(offset - 1, "length of more than three bytes"));
        if (data.size() - offset < count)
            return fail(at(offset, "length cut short"));
        length = 0;
        for (std::size_t i = 0; i < count; ++i)
            length = (length << 8) | data[offset++];
    }
    if (data.size() - offset < length)
        return fail(at(offset, "value of " + std::to_string(length) + " bytes, " +
                                   std::to_string(data.size() - offset) + " there"));
    BerTlv tlv{tag, Bytes(data.begin() + static_cast<std::ptrdiff_t>(offset),
                          data.begin() + static_cast<std::ptrdiff_t>(offset + length))};
    return std::pair{std::move(tlv), offset + length};
}

Result<std::vector<BerTlv>, std::string> parseBerTlvs(ByteView data)
{
    std::vector<BerTlv> members;
    std::size_t offset = 0;
    while (offset < data.size()) {
        auto next = parseFirstBerTlv(data.subspan(offset));
        if (!next)
            return fail(next.error() + " (member at " + std::to_string(offset) + ")");
        offset += next->second;
        members.push_back(std::move(next->first));
    }
    return members;
}

void appendBerLength(Bytes& out, std::size_t length)
{
    if (length < 0x80) {
        out.push_back(static_cast<std::uint8_t>(length));
    } else if (length <= 0xFF) {
        out.insert(out.end(), {0x81, static_cast<std::uint8_t>(length)});
    } else if (length <= 0xFFFF) {
        out.insert(out.end(), {0x82, static_cast<std::uint8_t>(length >> 8),
                               static_cast<std::uint8_t>(length)});
    } else {
        out.insert(out.end(),
                   {0x83, static_cast<std::uint8_t>(length >> 16),
                    static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length)});
    }
}

void appendBerTag(Bytes& out, std::uint32_t tag)
{
    if (tag > 0xFFFF)
        out.push_back(static_cast<std::uint8_t>(tag >> 16));
    if (tag > 0xFF)
        out.push_back(static_cast<std::uint8_t>(tag >> 8));
    out.push_back(static_cast<std::uint8_t>(tag));
}

void appendBerTlv(Bytes& out, std::uint32_t tag, ByteView value)
{
    appendBerTag(out, tag);
    appendBerLength(out, value.size());
    out.insert(out.end(), value.begin(), value.end());
}

Bytes encodeBerTlv(std::uint32_t tag, ByteView value)
{
    Bytes out;
    appendBerTlv(out, tag, value);
    return out;
}

const BerTlv* findBerTlv(const std::vector<BerTlv>& members, std::uint32_t tag)
{
    for (const BerTlv& member : members)
        if (member.tag == tag)
            return &member;
    return nullptr;
}

} // namespace vscard::cacard
