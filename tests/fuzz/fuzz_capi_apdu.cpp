// The APDU parser and the applet framework of libcacard's C API on bytes a guest sends:
// vcard_apdu_new() either refuses with a status word or gives fields that stay inside the
// bytes, and vcard_process_apdu() always answers with a well-formed response.
extern "C" {
#include "card_7816.h"
#include "vcard.h"
}

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

// An applet that answers GET DATA with as many bytes as asked for, through the response
// buffer when they do not fit.
VCardStatus answerGetData(VCard* card, VCardAPDU* apdu, VCardResponse** response)
{
    if (apdu->a_ins != 0xCA)
        return VCARD_NEXT;
    std::vector<unsigned char> data(static_cast<std::size_t>(apdu->a_p1) * 4 + apdu->a_p2, 0x5A);
    *response = vcard_response_new(card, data.data(), static_cast<int>(data.size()), apdu->a_Le,
                                   VCARD7816_STATUS_SUCCESS);
    return VCARD_DONE;
}

VCard* frameworkCard()
{
    static VCard* card = [] {
        VCard* made = vcard_new(nullptr, nullptr);
        static const unsigned char aid[] = {0xA0, 0x00, 0x00, 0x00, 0x01};
        vcard_add_applet(made, vcard_new_applet(answerGetData, nullptr, aid, sizeof aid));
        return made;
    }();
    return card;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::vector<unsigned char> bytes(data, data + size);
    unsigned short status = 0;
    VCardAPDU* apdu = vcard_apdu_new(bytes.data(), static_cast<int>(bytes.size()), &status);
    if (!apdu) {
        if (status != VCARD7816_STATUS_ERROR_WRONG_LENGTH)
            std::abort();
        return 0;
    }
    const unsigned char* end = apdu->a_data + apdu->a_len;
    if (apdu->a_len != static_cast<int>(size) || apdu->a_Lc < 0 || apdu->a_Le < 0 ||
        apdu->a_Le > 65536 || apdu->a_channel < 0 || apdu->a_channel > 3 ||
        (apdu->a_body && apdu->a_body + apdu->a_Lc > end) || (apdu->a_Lc > 0 && !apdu->a_body))
        std::abort();
    VCardResponse* response = nullptr;
    if (vcard_process_apdu(frameworkCard(), apdu, &response) != VCARD_DONE || !response)
        std::abort();
    if (response->b_total_len < 2 || response->b_len + 2 != response->b_total_len ||
        response->b_data[response->b_len] != response->b_sw1 ||
        response->b_data[response->b_len + 1] != response->b_sw2)
        std::abort();
    vcard_response_delete(response);
    vcard_apdu_delete(apdu);
    return 0;
}
