/* ISO 7816 APDUs and responses, libcacard's API (vscard libcacard-compat). */
#ifndef CARD_7816_H
#define CARD_7816_H 1

#include "card_7816t.h"
#include "vcardt.h"

/* data and a status; data longer than Le is kept for GET RESPONSE and 61xx answered */
VCardResponse* vcard_response_new(VCard* card, const unsigned char* buf, int len, int Le,
                                  vcard_7816_status_t status);
VCardResponse* vcard_response_new_bytes(VCard* card, unsigned char* buf, int len, int Le,
                                        unsigned char sw1, unsigned char sw2);
VCardResponse* vcard_response_new_status_bytes(unsigned char sw1, unsigned char sw2);
/* never NULL */
VCardResponse* vcard_make_response(vcard_7816_status_t status);
/* data with room for the status bytes, which are not set */
VCardResponse* vcard_response_new_data(const unsigned char* buf, int len);
void vcard_response_set_status_bytes(VCardResponse* response, unsigned char sw1, unsigned char sw2);
void vcard_response_delete(VCardResponse* response); /* NULL is fine */

/* NULL, with the status word in *status, when raw_apdu is not an APDU */
VCardAPDU* vcard_apdu_new(unsigned char* raw_apdu, int len, unsigned short* status);
void vcard_apdu_delete(VCardAPDU* apdu); /* NULL is fine */

/* Runs an APDU on the card; *response is always set. */
VCardStatus vcard_process_apdu(VCard* card, VCardAPDU* apdu, VCardResponse** response);

#endif
