// APDU sequences into the emulated PIV card: the first byte says whether the card's
// administrator (management key) and the PIN are authenticated first, so that PUT DATA,
// GENERATE and the private-key operations are reached with their BER-TLV (PUT DATA's object,
// GENERAL AUTHENTICATE's dynamic template, GENERATE's control template); then a series of
// commands (a length byte, then the command; FF is a card reset). Every answer must end in a
// status word and stay within what a response can hold. RSA key generation is left out: it
// takes seconds, which would starve the fuzzer, and its parsing is GENERATE's, reached with EC.
#include "piv/piv_crypto.h"
#include "vscard/apdu.h"
#include "vscard/cacard/ber_tlv.h"
#include "vscard/cacard/piv_card.h"

#include <algorithm>
#include <cstdlib>

using namespace vscard;
using namespace vscard::cacard;

namespace {

const Bytes kDefaultKey = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};

void authenticate(PivCard& card)
{
    const Bytes first =
        card.process(CommandApdu(0, 0x87, 3, 0x9B, {0x7C, 0x02, 0x80, 0x00}).encode());
    if (first.size() != 14)
        std::abort();
    const auto witness =
        piv::blockDecrypt(piv::Algorithm::TripleDes, kDefaultKey, ByteView(first).subspan(4, 8));
    Bytes members;
    appendBerTlv(members, 0x80, *witness);
    appendBerTlv(members, 0x81, Bytes(8, 0x42));
    const Bytes second =
        card.process(CommandApdu(0, 0x87, 3, 0x9B, encodeBerTlv(0x7C, members)).encode());
    if (second.size() != 14 || second[12] != 0x90)
        std::abort();
}

bool generatesRsa(ByteView command)
{
    return command.size() > 1 && command[1] == 0x47 &&
           std::any_of(command.begin(), command.end(), [](std::uint8_t byte) {
               return byte == 0x05 || byte == 0x06 || byte == 0x07 || byte == 0x16;
           });
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
        return 0;
    auto opened = PivCard::open({});
    if (!opened)
        std::abort();
    PivCard& card = **opened;
    if (data[0] & 0x01)
        authenticate(card);
    if (data[0] & 0x02) {
        const Bytes pin = {'1', '2', '3', '4', '5', '6', 0xFF, 0xFF};
        if (card.process(CommandApdu(0, 0x20, 0, 0x80, pin).encode()) != Bytes{0x90, 0x00})
            std::abort();
    }
    for (std::size_t offset = 1; offset < size;) {
        if (data[offset] == 0xFF) {
            card.reset();
            ++offset;
            continue;
        }
        const std::size_t length = std::min<std::size_t>(data[offset], size - offset - 1);
        const ByteView command(data + offset + 1, length);
        offset += 1 + length;
        if (generatesRsa(command))
            continue;
        const Bytes answer = card.process(command);
        if (answer.size() < 2 || answer.size() > 65536 + 2)
            std::abort();
    }
    return 0;
}
