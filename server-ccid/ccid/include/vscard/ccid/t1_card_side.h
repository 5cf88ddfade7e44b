// The card's side of the T=1 block protocol (ISO/IEC 7816-3 11), for a TPDU-level reader:
// libccid's serial profiles send T=1 blocks in XfrBlock and expect the card's blocks back.
// Reassembles chained I-blocks into an APDU for the card, splits the card's response into
// I-blocks of the host's IFSD, answers R-blocks and S-blocks (IFS, RESYNCH, ABORT).
#pragma once

#include "vscard/bytes.h"

#include <cstdint>
#include <deque>
#include <optional>

namespace vscard::ccid {

class T1CardSide {
public:
    // What a block from the host leads to: a block to answer at once, or an APDU for the card
    // (whose response then goes through responseBlock()).
    struct Step {
        std::optional<Bytes> reply;
        std::optional<Bytes> apdu;
    };

    // After power-on: sequence numbers back to 0, IFSD back to 32, the EDC the ATR chose.
    void reset(bool crc);
    void setCrc(bool crc) { crc_ = crc; }

    Step onBlock(ByteView block);
    // The first I-block of the card's response; the host asks for the rest with R-blocks.
    Bytes responseBlock(ByteView response);

    std::size_t ifsd() const { return ifsd_; }

    // Block layout helpers, also for tests playing the host's part.
    static Bytes makeBlock(std::uint8_t pcb, ByteView information, bool crc);
    static Bytes edc(ByteView prologueAndInformation, bool crc);

private:
    Bytes sendNextChunk();
    Bytes rBlock(std::uint8_t error);

    bool crc_ = false;
    std::size_t ifsd_ = 32;
    std::uint8_t sendSequence_ = 0;     // N(S) of our next I-block
    std::uint8_t expectedSequence_ = 0; // N(S) the host's next I-block must carry
    Bytes received_;                    // chained command so far
    std::deque<Bytes> pendingChunks_;   // response still to send
    Bytes lastSent_;
};

} // namespace vscard::ccid
