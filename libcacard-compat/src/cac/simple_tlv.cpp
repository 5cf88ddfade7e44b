#include "vscard/cacard/simple_tlv.h"

namespace vscard::cacard {

void appendSimpleTlvLength(Bytes& out, std::size_t length)
{
    if (length < 0xFF) {
        out.push_back(static_cast<std::uint8_t>(length));
        return;
    }
    out.push_back(0xFF);
    out.push_back(static_cast<std::uint8_t>(length));
    out.push_back(static_cast<std::uint8_t>(length >> 8));
}

Bytes encodeSimpleTlv(const std::vector<TlvMember>& members)
{
    Bytes out;
    for (const auto& member : members) {
        out.push_back(member.tag);
        appendSimpleTlvLength(out, member.value.size());
        out.insert(out.end(), member.value.begin(), member.value.end());
    }
    return out;
}

std::vector<TlvMember> parseSimpleTlv(ByteView data)
{
    std::vector<TlvMember> members;
    std::size_t offset = 0;
    while (offset + 2 <= data.size()) {
        const std::uint8_t tag = data[offset];
        std::size_t length = data[offset + 1];
        offset += 2;
        if (length == 0xFF) {
            if (offset + 2 > data.size())
                break;
            length = static_cast<std::size_t>(data[offset] | (data[offset + 1] << 8));
            offset += 2;
        }
        if (length > data.size() - offset)
            break;
        members.push_back(
            {tag, Bytes(data.begin() + static_cast<std::ptrdiff_t>(offset),
                        data.begin() + static_cast<std::ptrdiff_t>(offset + length))});
        offset += length;
    }
    return members;
}

} // namespace vscard::cacard
