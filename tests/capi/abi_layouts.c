/*
 * abi-layouts: the sizes, field offsets and enum values of libcacard's public types, as a
 * program compiled against a library's headers sees them. Built against Debian's headers and
 * against ours; the outputs must be identical (test libcacard_abi_layouts).
 */
#include <libcacard.h>

#include <stddef.h>
#include <stdio.h>

#define SIZE(type) printf("sizeof(" #type ") = %zu\n", sizeof(type))
#define OFFSET(type, field) printf("offsetof(" #type ", " #field ") = %zu\n", offsetof(type, field))
#define VALUE(name) printf(#name " = %ld\n", (long)(name))

int main(void)
{
    SIZE(VEvent);
    OFFSET(VEvent, next);
    OFFSET(VEvent, type);
    OFFSET(VEvent, reader);
    OFFSET(VEvent, card);
    SIZE(VCardResponse);
    OFFSET(VCardResponse, b_data);
    OFFSET(VCardResponse, b_status);
    OFFSET(VCardResponse, b_sw1);
    OFFSET(VCardResponse, b_sw2);
    OFFSET(VCardResponse, b_len);
    OFFSET(VCardResponse, b_total_len);
    OFFSET(VCardResponse, b_type);
    SIZE(VCardAPDU);
    OFFSET(VCardAPDU, a_len);
    OFFSET(VCardAPDU, a_Lc);
    OFFSET(VCardAPDU, a_Le);
    OFFSET(VCardAPDU, a_body);
    OFFSET(VCardAPDU, a_channel);
    OFFSET(VCardAPDU, a_secure_messaging);
    OFFSET(VCardAPDU, a_type);
    OFFSET(VCardAPDU, a_gen_type);
    OFFSET(VCardAPDU, u);
    SIZE(struct VCardAPDUHeader);
    OFFSET(struct VCardAPDUHeader, ah_Le);
    OFFSET(struct VCardAPDUHeader, ah_body);
    SIZE(VCardBufferResponse);
    OFFSET(VCardBufferResponse, buffer);
    OFFSET(VCardBufferResponse, buffer_len);
    OFFSET(VCardBufferResponse, current);
    OFFSET(VCardBufferResponse, len);
    SIZE(VSCMsgHeader);
    SIZE(VSCMsgInit);
    SIZE(VSCMsgError);
    SIZE(vreader_id_t);
    SIZE(vcard_7816_status_t);
    SIZE(VEventType);
    SIZE(VCardEmulError);

    VALUE(VEVENT_READER_INSERT);
    VALUE(VEVENT_READER_REMOVE);
    VALUE(VEVENT_CARD_INSERT);
    VALUE(VEVENT_CARD_REMOVE);
    VALUE(VEVENT_LAST);
    VALUE(VREADER_OK);
    VALUE(VREADER_NO_CARD);
    VALUE(VREADER_OUT_OF_MEMORY);
    VALUE(VCARD_DONE);
    VALUE(VCARD_NEXT);
    VALUE(VCARD_FAIL);
    VALUE(VCARD_FILE_SYSTEM);
    VALUE(VCARD_VM);
    VALUE(VCARD_DIRECT);
    VALUE(VCARD_POWER_ON);
    VALUE(VCARD_POWER_OFF);
    VALUE(VCARD_EMUL_OK);
    VALUE(VCARD_EMUL_FAIL);
    VALUE(VCARD_EMUL_INIT_ALREADY_INITED);
    VALUE(VCARD_EMUL_NONE);
    VALUE(VCARD_EMUL_CAC);
    VALUE(VCARD_EMUL_PASSTHRU);
    VALUE(VCARD_7816_ISO);
    VALUE(VCARD_7816_RFU);
    VALUE(VCARD_7816_PTS);
    VALUE(VCARD_7816_PROPRIETARY);
    VALUE(VCARD_MALLOC);
    VALUE(VCARD_MALLOC_DATA);
    VALUE(VCARD_MALLOC_STRUCT);
    VALUE(VCARD_STATIC);
    VALUE(VSC_Init);
    VALUE(VSC_FlushComplete);
    VALUE(VSC_CARD_ALREAY_INSERTED);
    VALUE(VSCARD_VERSION);
    VALUE(VSCARD_MAGIC);
    VALUE(VSCARD_UNDEFINED_READER_ID);
    VALUE(MAX_CHANNEL);
    VALUE(VCARD_COMPAT_WINDOWS);
    VALUE(VCARD7816_STATUS_ERROR_DATA_NOT_FOUND);
    VALUE(VCARD7816_SW1_RESPONSE_BYTES);
    VALUE(VCARD7816_INS_GET_RESPONSE);
    VALUE(CAC_GET_PROPERTIES);
    VALUE(CAC_PROPERTIES_PKI_OBJECT);
    VALUE(CAC_FORMAT_EXTENDED);
    return 0;
}
