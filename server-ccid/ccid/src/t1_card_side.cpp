#include "vscard/ccid/t1_card_side.h"

#include <algorithm>

namespace vscard::ccid {

namespace {

constexpr std::uint8_t kMoreData = 0x20;
constexpr std::uint8_t kErrorEdc = 0x01;
constexpr std::uint8_t kErrorOther = 0x02;
constexpr std::size_t kPrologue = 3; // NAD PCB LEN

bool isIBlock(std::uint8_t pcb)
{
    return (pcb & 0x80) == 0;
}
bool isRBlock(std::uint8_t pcb)
{
    return (pcb & 0xC0) == 0x80;
}

// CRC-16 as ISO 7816-3 T=1 and OpenCT compute it: reflected CCITT (0x8408), start 0xFFFF.
std::uint16_t crc16(ByteView bytes)
{
    std::uint16_t crc = 0xFFFF;
    for (std::uint8_t byte : bytes) {
        crc ^= byte;
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc & 1) ? static_cast<std::uint16_t>((crc >> 1) ^ 0x8408)
                            : static_cast<std::uint16_t>(crc >> 1);
    }
    return crc;
}

} // namespace

Bytes T1CardSide::edc(ByteView bytes, bool crc)
{
    if (crc) {
        const std::uint16_t value = crc16(bytes);
        return {static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value)};
    }
    std::uint8_t lrc = 0;
    for (std::uint8_t byte : bytes)
        lrc ^= byte;
    return {lrc};
}

Bytes T1CardSide::makeBlock(std::uint8_t pcb, ByteView information, bool crc)
{
    Bytes block{0x00, pcb, static_cast<std::uint8_t>(information.size())};
    block.insert(block.end(), information.begin(), information.end());
    const Bytes check = edc(block, crc);
    block.insert(block.end(), check.begin(), check.end());
    return block;
}

void T1CardSide::reset(bool crc)
{
    crc_ = crc;
    ifsd_ = 32;
    sendSequence_ = 0;
    expectedSequence_ = 0;
    received_.clear();
    pendingChunks_.clear();
    lastSent_.clear();
}

Bytes T1CardSide::rBlock(std::uint8_t error)
{
    return makeBlock(static_cast<std::uint8_t>(0x80 | (expectedSequence_ << 4) | error), {}, crc_);
}

T1CardSide::Step T1CardSide::onBlock(ByteView block)
{
    const std::size_t edcSize = crc_ ? 2 : 1;
    if (block.size() < kPrologue + edcSize || block[2] == 0xFF ||
        block.size() != kPrologue + block[2] + edcSize)
        return {rBlock(kErrorOther), std::nullopt};
    const ByteView checked = block.first(block.size() - edcSize);
    if (edc(checked, crc_) !=
        Bytes(block.end() - static_cast<std::ptrdiff_t>(edcSize), block.end()))
        return {rBlock(kErrorEdc), std::nullopt};

    const std::uint8_t pcb = block[1];
    const ByteView information = block.subspan(kPrologue, block[2]);
    if (isIBlock(pcb)) {
        const std::uint8_t sequence = (pcb >> 6) & 1;
        if (sequence != expectedSequence_)
            return {rBlock(kErrorOther), std::nullopt};
        expectedSequence_ ^= 1;
        pendingChunks_.clear();
        received_.insert(received_.end(), information.begin(), information.end());
        if (pcb & kMoreData)
            return {rBlock(0), std::nullopt}; // more of the command is coming
        Bytes apdu = std::move(received_);
        received_.clear();
        return {std::nullopt, std::move(apdu)};
    }
    if (isRBlock(pcb)) {
        const std::uint8_t wanted = (pcb >> 4) & 1;
        if (!pendingChunks_.empty() && wanted == sendSequence_)
            return {sendNextChunk(), std::nullopt};
        if (!lastSent_.empty())
            return {lastSent_, std::nullopt}; // the host missed our last block
        return {rBlock(kErrorOther), std::nullopt};
    }
    // S-block. The host sends requests only; we never asked it anything.
    if (pcb & 0x20)
        return {rBlock(kErrorOther), std::nullopt};
    const std::uint8_t type = pcb & 0x1F;
    switch (type) {
    case 0x00: // RESYNCH
        reset(crc_);
        return {makeBlock(0xE0, {}, crc_), std::nullopt};
    case 0x01: // IFS: the host's new IFSD
        if (information.size() != 1 || information[0] == 0 || information[0] == 0xFF)
            return {rBlock(kErrorOther), std::nullopt};
        ifsd_ = information[0];
        return {makeBlock(0xE1, information, crc_), std::nullopt};
    case 0x02: // ABORT of a chain
        received_.clear();
        pendingChunks_.clear();
        return {makeBlock(0xE2, {}, crc_), std::nullopt};
    default: return {rBlock(kErrorOther), std::nullopt};
    }
}

Bytes T1CardSide::responseBlock(ByteView response)
{
    pendingChunks_.clear();
    for (std::size_t offset = 0; offset < response.size(); offset += ifsd_) {
        const std::size_t length = std::min(ifsd_, response.size() - offset);
        pendingChunks_.emplace_back(response.begin() + static_cast<std::ptrdiff_t>(offset),
                                    response.begin() +
                                        static_cast<std::ptrdiff_t>(offset + length));
    }
    if (pendingChunks_.empty())
        pendingChunks_.emplace_back();
    return sendNextChunk();
}

Bytes T1CardSide::sendNextChunk()
{
    Bytes chunk = std::move(pendingChunks_.front());
    pendingChunks_.pop_front();
    const std::uint8_t pcb =
        static_cast<std::uint8_t>((sendSequence_ << 6) | (pendingChunks_.empty() ? 0 : kMoreData));
    sendSequence_ ^= 1;
    lastSent_ = makeBlock(pcb, chunk, crc_);
    return lastSent_;
}

} // namespace vscard::ccid
