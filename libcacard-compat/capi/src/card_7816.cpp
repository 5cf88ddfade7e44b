// ISO 7816 APDUs and responses, and the generic command processing of libcacard's applet
// framework: SELECT by AID, VERIFY, GET RESPONSE. Cards made by our emulator skip the
// framework and answer through their CardBackend.
#include "capi_internal.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace {

// Status words vcard_make_response() answers with a shared, never-freed response, as
// libcacard does (callers may compare or pass them to vcard_response_delete()).
constexpr vcard_7816_status_t kStaticStatuses[] = {
    0x9000, 0x6200, 0x6281, 0x6282, 0x6283, 0x6284, 0x6300, 0x6381, 0x6400, 0x6500,
    0x6581, 0x6700, 0x6800, 0x6881, 0x6882, 0x6900, 0x6981, 0x6982, 0x6983, 0x6984,
    0x6985, 0x6986, 0x6987, 0x6988, 0x6a00, 0x6a80, 0x6a81, 0x6a82, 0x6a83, 0x6a84,
    0x6a85, 0x6a86, 0x6a87, 0x6a88, 0x6b00, 0x6d00, 0x6e00, 0x6f00};
constexpr std::size_t kStaticCount = std::size(kStaticStatuses);

VCardResponse* staticResponse(vcard_7816_status_t status)
{
    static VCardResponse table[kStaticCount];
    static const bool filled = [] {
        for (std::size_t i = 0; i < kStaticCount; ++i) {
            VCardResponse& r = table[i];
            r.b_status = kStaticStatuses[i];
            r.b_sw1 = static_cast<unsigned char>(kStaticStatuses[i] >> 8);
            r.b_sw2 = static_cast<unsigned char>(kStaticStatuses[i]);
            r.b_data = &r.b_sw1;
            r.b_len = 0;
            r.b_total_len = 2;
            r.b_type = VCardResponse::VCARD_STATIC;
        }
        return true;
    }();
    (void)filled;
    const auto* found = std::find(std::begin(kStaticStatuses), std::end(kStaticStatuses), status);
    if (found == std::end(kStaticStatuses))
        return nullptr;
    return &table[found - std::begin(kStaticStatuses)];
}

void setStatus(VCardResponse* response, unsigned char sw1, unsigned char sw2)
{
    response->b_status = static_cast<vcard_7816_status_t>(sw1 << 8 | sw2);
    response->b_sw1 = sw1;
    response->b_sw2 = sw2;
    response->b_data[response->b_len] = sw1;
    response->b_data[response->b_len + 1] = sw2;
}

VCardResponse* statusOnly(unsigned char sw1, unsigned char sw2)
{
    auto* response = static_cast<VCardResponse*>(std::malloc(sizeof(VCardResponse)));
    if (!response)
        return nullptr;
    response->b_data = &response->b_sw1;
    response->b_len = 0;
    response->b_total_len = 2;
    response->b_type = VCardResponse::VCARD_MALLOC_STRUCT;
    setStatus(response, sw1, sw2);
    return response;
}

// An answer longer than Le: kept on the card for GET RESPONSE, 61xx now.
VCardResponse* bufferedResponse(VCard* card, const unsigned char* data, int length)
{
    VCardBufferResponse* previous = vcard_get_buffer_response(card);
    if (previous) {
        vcard_set_buffer_response(card, nullptr);
        vcard_buffer_response_delete(previous);
    }
    VCardBufferResponse* buffer = vcard_buffer_response_new(data, length);
    if (!buffer)
        return nullptr;
    VCardResponse* response = statusOnly(VCARD7816_SW1_RESPONSE_BYTES,
                                         static_cast<unsigned char>(length > 255 ? 0 : length));
    if (!response) {
        vcard_buffer_response_delete(buffer);
        return nullptr;
    }
    vcard_set_buffer_response(card, buffer);
    return response;
}

vcard_7816_status_t decodeClass(VCardAPDU* apdu)
{
    apdu->a_channel = 0;
    apdu->a_secure_messaging = 0;
    apdu->a_type = apdu->a_cla & 0xf0;
    apdu->a_gen_type = VCARD_7816_ISO;
    switch (apdu->a_type) {
    case 0x00:
    case 0x80:
    case 0x90:
    case 0xa0:
        apdu->a_channel = apdu->a_cla & 3;
        apdu->a_secure_messaging = apdu->a_cla & 0xe;
        break;
    case 0xb0:
    case 0xc0: break;
    case 0x10:
    case 0x20:
    case 0x30:
    case 0x40:
    case 0x50:
    case 0x60:
    case 0x70: apdu->a_gen_type = VCARD_7816_RFU; break;
    default:
        apdu->a_gen_type = apdu->a_cla == 0xff ? VCARD_7816_PTS : VCARD_7816_PROPRIETARY;
        break;
    }
    return VCARD7816_STATUS_SUCCESS;
}

// ISO 7816-4 cases 1 to 4, short and extended, as libcacard reads them.
vcard_7816_status_t decodeLengths(VCardAPDU* apdu)
{
    const int rest = apdu->a_len - 4;
    apdu->a_Lc = 0;
    apdu->a_Le = 0;
    apdu->a_body = nullptr;
    if (rest == 0)
        return VCARD7816_STATUS_SUCCESS;
    const unsigned char p3 = apdu->a_data[4];
    if (rest == 1) {
        apdu->a_Le = p3 ? p3 : 256;
        return VCARD7816_STATUS_SUCCESS;
    }
    if (p3 == 0) { // extended lengths
        if (rest < 3)
            return VCARD7816_STATUS_ERROR_WRONG_LENGTH;
        const int value = apdu->a_data[5] << 8 | apdu->a_data[6];
        if (rest == 3) {
            apdu->a_Le = value ? value : 65536;
            return VCARD7816_STATUS_SUCCESS;
        }
        if (value == 0)
            return VCARD7816_STATUS_ERROR_WRONG_LENGTH;
        apdu->a_Lc = value;
        apdu->a_body = apdu->a_data + 7;
        if (rest == value + 3)
            return VCARD7816_STATUS_SUCCESS;
        if (rest == value + 5) {
            const int le = apdu->a_data[apdu->a_len - 2] << 8 | apdu->a_data[apdu->a_len - 1];
            apdu->a_Le = le ? le : 65536;
            return VCARD7816_STATUS_SUCCESS;
        }
        return VCARD7816_STATUS_ERROR_WRONG_LENGTH;
    }
    apdu->a_Lc = p3;
    apdu->a_body = apdu->a_data + 5;
    if (rest == apdu->a_Lc + 1)
        return VCARD7816_STATUS_SUCCESS;
    if (rest == apdu->a_Lc + 2) {
        const int le = apdu->a_data[apdu->a_len - 1];
        apdu->a_Le = le ? le : 256;
        return VCARD7816_STATUS_SUCCESS;
    }
    return VCARD7816_STATUS_ERROR_WRONG_LENGTH;
}

// The Global Platform card manager answers SELECT with its FCI.
constexpr unsigned char kGpAid[] = {0xa0, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00};
constexpr unsigned char kGpFci[] = {0x6F, 0x19, 0x84, 0x08, 0xA0, 0x00, 0x00, 0x00, 0x03,
                                    0x00, 0x00, 0x00, 0xA5, 0x0D, 0x9F, 0x6E, 0x06, 0x12,
                                    0x91, 0x51, 0x81, 0x01, 0x00, 0x9F, 0x65, 0x01, 0xFF};

VCardResponse* selectApplet(VCard* card, VCardAPDU* apdu)
{
    if (apdu->a_p1 != 0x04)
        return vcard_make_response(VCARD7816_STATUS_ERROR_FUNCTION_NOT_SUPPORTED);
    // No applet with that AID deselects the current one.
    VCardApplet* applet = vcard_find_applet(card, apdu->a_body, apdu->a_Lc);
    vcard_select_applet(card, apdu->a_channel, applet);
    if (!applet)
        return vcard_make_response(VCARD7816_STATUS_ERROR_FILE_NOT_FOUND);
    if (applet == vcard_find_applet(card, kGpAid, sizeof kGpAid))
        return vcard_response_new(card, kGpFci, sizeof kGpFci, apdu->a_Le,
                                  VCARD7816_STATUS_SUCCESS);
    // The FCI stub cards generally answer: 6F (Lc+4) 84 Lc AID A5 00.
    if (apdu->a_Lc > 16)
        return vcard_make_response(VCARD7816_STATUS_ERROR_WRONG_LENGTH);
    unsigned char fci[22] = {};
    fci[0] = 0x6F;
    fci[1] = static_cast<unsigned char>(apdu->a_Lc + 4);
    fci[2] = 0x84;
    fci[3] = static_cast<unsigned char>(apdu->a_Lc);
    if (apdu->a_Lc > 0)
        std::memcpy(fci + 4, apdu->a_body, static_cast<std::size_t>(apdu->a_Lc));
    fci[apdu->a_Lc + 4] = 0xA5;
    fci[apdu->a_Lc + 5] = 0x00;
    return vcard_response_new(card, fci, apdu->a_Lc + 6, apdu->a_Le, VCARD7816_STATUS_SUCCESS);
}

VCardResponse* verify(VCard* card, VCardAPDU* apdu)
{
    if (apdu->a_p1 != 0x00 || apdu->a_p2 != 0x00)
        return vcard_make_response(VCARD7816_STATUS_ERROR_WRONG_PARAMETERS);
    if (apdu->a_Lc > 0)
        return vcard_make_response(vcard_emul_login(card, apdu->a_body, apdu->a_Lc));
    if (vcard_emul_is_logged_in(card))
        return vcard_make_response(VCARD7816_STATUS_SUCCESS);
    const int count = vcard_emul_get_login_count(card);
    if (count < 0)
        return vcard_make_response(VCARD7816_STATUS_ERROR_DATA_NOT_FOUND);
    VCardResponse* response = vcard_response_new_status_bytes(
        VCARD7816_SW1_WARNING_CHANGE, static_cast<unsigned char>(0xc0 | std::min(count, 0xf)));
    return response ? response : vcard_make_response(VCARD7816_STATUS_EXC_ERROR_MEMORY_FAILURE);
}

VCardResponse* getResponse(VCard* card, VCardAPDU* apdu)
{
    VCardBufferResponse* buffer = vcard_get_buffer_response(card);
    if (!buffer)
        return vcard_make_response(VCARD7816_STATUS_ERROR_DATA_NOT_FOUND);
    const int count = std::min(buffer->len, apdu->a_Le);
    const int next = std::min(256, buffer->len - count);
    VCardResponse* response =
        vcard_response_new_bytes(card, buffer->current, count, apdu->a_Le,
                                 next ? VCARD7816_SW1_RESPONSE_BYTES : VCARD7816_SW1_SUCCESS,
                                 static_cast<unsigned char>(next));
    buffer->current += count;
    buffer->len -= count;
    if (!response || next == 0) {
        vcard_set_buffer_response(card, nullptr);
        vcard_buffer_response_delete(buffer);
    }
    return response ? response : vcard_make_response(VCARD7816_STATUS_EXC_ERROR_MEMORY_FAILURE);
}

// What a VCARD_VM card answers for an instruction its current applet passed on.
VCardResponse* processGeneric(VCard* card, VCardAPDU* apdu)
{
    if (apdu->a_gen_type != VCARD_7816_ISO)
        return vcard_make_response(VCARD7816_STATUS_ERROR_COMMAND_NOT_SUPPORTED);
    if (apdu->a_secure_messaging != 0)
        return vcard_make_response(VCARD7816_STATUS_ERROR_SECURE_NOT_SUPPORTED);
    switch (apdu->a_ins) {
    case VCARD7816_INS_SELECT_FILE: return selectApplet(card, apdu);
    case VCARD7816_INS_VERIFY: return verify(card, apdu);
    case VCARD7816_INS_GET_RESPONSE: return getResponse(card, apdu);
    default: return vcard_make_response(VCARD7816_STATUS_ERROR_COMMAND_NOT_SUPPORTED);
    }
}

VCardResponse* processOnBackend(VCard* card, VCardAPDU* apdu)
{
    const vscard::Bytes answer = card->backend->process(
        vscard::ByteView(apdu->a_data, static_cast<std::size_t>(apdu->a_len)));
    if (answer.size() < 2)
        return vcard_make_response(VCARD7816_STATUS_ERROR_GENERAL);
    VCardResponse* response =
        vcard_response_new_data(answer.data(), static_cast<int>(answer.size() - 2));
    if (!response)
        return vcard_make_response(VCARD7816_STATUS_EXC_ERROR_MEMORY_FAILURE);
    setStatus(response, answer[answer.size() - 2], answer[answer.size() - 1]);
    return response;
}

} // namespace

extern "C" {

void vcard_response_set_status_bytes(VCardResponse* response, unsigned char sw1, unsigned char sw2)
{
    if (response)
        setStatus(response, sw1, sw2);
}

VCardResponse* vcard_response_new_data(const unsigned char* buffer, int length)
{
    if (length < 0)
        return nullptr;
    auto* response = static_cast<VCardResponse*>(std::malloc(sizeof(VCardResponse)));
    if (!response)
        return nullptr;
    response->b_data =
        static_cast<unsigned char*>(std::calloc(static_cast<std::size_t>(length) + 2, 1));
    if (!response->b_data) {
        std::free(response);
        return nullptr;
    }
    if (length > 0)
        std::memcpy(response->b_data, buffer, static_cast<std::size_t>(length));
    response->b_total_len = length + 2;
    response->b_len = length;
    response->b_type = VCardResponse::VCARD_MALLOC;
    response->b_status = 0;
    response->b_sw1 = 0;
    response->b_sw2 = 0;
    return response;
}

VCardResponse* vcard_response_new(VCard* card, const unsigned char* buffer, int length, int le,
                                  vcard_7816_status_t status)
{
    if (length > le)
        return bufferedResponse(card, buffer, length);
    VCardResponse* response = vcard_response_new_data(buffer, length);
    if (response)
        setStatus(response, static_cast<unsigned char>(status >> 8),
                  static_cast<unsigned char>(status));
    return response;
}

VCardResponse* vcard_response_new_bytes(VCard* card, unsigned char* buffer, int length, int le,
                                        unsigned char sw1, unsigned char sw2)
{
    if (length > le)
        return bufferedResponse(card, buffer, length);
    VCardResponse* response = vcard_response_new_data(buffer, length);
    if (response)
        setStatus(response, sw1, sw2);
    return response;
}

VCardResponse* vcard_response_new_status_bytes(unsigned char sw1, unsigned char sw2)
{
    return statusOnly(sw1, sw2);
}

VCardResponse* vcard_make_response(vcard_7816_status_t status)
{
    if (VCardResponse* shared = staticResponse(status))
        return shared;
    VCardResponse* response =
        statusOnly(static_cast<unsigned char>(status >> 8), static_cast<unsigned char>(status));
    return response ? response : staticResponse(VCARD7816_STATUS_EXC_ERROR_MEMORY_FAILURE);
}

void vcard_response_delete(VCardResponse* response)
{
    if (!response)
        return;
    switch (response->b_type) {
    case VCardResponse::VCARD_MALLOC:
        std::free(response->b_data);
        std::free(response);
        break;
    case VCardResponse::VCARD_MALLOC_DATA: std::free(response->b_data); break;
    case VCardResponse::VCARD_MALLOC_STRUCT: std::free(response); break;
    case VCardResponse::VCARD_STATIC: break;
    }
}

VCardAPDU* vcard_apdu_new(unsigned char* raw, int length, unsigned short* status)
{
    if (length < 4 || !raw) {
        *status = VCARD7816_STATUS_ERROR_WRONG_LENGTH;
        return nullptr;
    }
    *status = VCARD7816_STATUS_EXC_ERROR_MEMORY_FAILURE;
    auto* apdu = static_cast<VCardAPDU*>(std::calloc(1, sizeof(VCardAPDU)));
    if (!apdu)
        return nullptr;
    apdu->a_data = static_cast<unsigned char*>(std::malloc(static_cast<std::size_t>(length)));
    if (!apdu->a_data) {
        std::free(apdu);
        return nullptr;
    }
    std::memcpy(apdu->a_data, raw, static_cast<std::size_t>(length));
    apdu->a_len = length;
    *status = decodeClass(apdu);
    if (*status == VCARD7816_STATUS_SUCCESS)
        *status = decodeLengths(apdu);
    if (*status != VCARD7816_STATUS_SUCCESS) {
        vcard_apdu_delete(apdu);
        return nullptr;
    }
    return apdu;
}

void vcard_apdu_delete(VCardAPDU* apdu)
{
    if (!apdu)
        return;
    std::free(apdu->a_data);
    std::free(apdu);
}

VCardStatus vcard_process_apdu(VCard* card, VCardAPDU* apdu, VCardResponse** response)
{
    if (!card || !apdu || !response)
        return VCARD_FAIL;
    return vscard::capi::guarded("vcard_process_apdu", VCARD_FAIL, [&]() -> VCardStatus {
        if (card->backend) {
            *response = processOnBackend(card, apdu);
            return VCARD_DONE;
        }
        // Any instruction but GET RESPONSE drops what was kept for it.
        VCardBufferResponse* buffer = vcard_get_buffer_response(card);
        if (buffer && apdu->a_ins != VCARD7816_INS_GET_RESPONSE) {
            vcard_set_buffer_response(card, nullptr);
            vcard_buffer_response_delete(buffer);
        }
        const VCardStatus status = vcard_process_applet_apdu(card, apdu, response);
        if (status != VCARD_NEXT)
            return status;
        switch (vcard_get_type(card)) {
        case VCARD_FILE_SYSTEM:
            *response = vcard_make_response(VCARD7816_STATUS_ERROR_COMMAND_NOT_SUPPORTED);
            return VCARD_DONE;
        case VCARD_VM: *response = processGeneric(card, apdu); return VCARD_DONE;
        case VCARD_DIRECT: break;
        }
        *response = vcard_make_response(VCARD7816_STATUS_ERROR_COMMAND_NOT_SUPPORTED);
        return VCARD_DONE;
    });
}

} // extern "C"
