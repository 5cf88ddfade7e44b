/* The NSS card emulator, libcacard's API (vscard libcacard-compat). */
#ifndef VCARD_EMUL_H
#define VCARD_EMUL_H 1

#include "card_7816t.h"
#include "vcard.h"
#include "vcard_emul_type.h"

typedef enum {
    VCARD_EMUL_OK = 0,
    VCARD_EMUL_FAIL,
    VCARD_EMUL_INIT_ALREADY_INITED, /* from vcard_emul_init */
} VCardEmulError;

/* made from an options string by vcard_emul_options() */
typedef struct VCardEmulOptionsStruct VCardEmulOptions;

/* PIN tries left, -1 if unknown */
int vcard_emul_get_login_count(VCard* card);
/* the status word of the login */
vcard_7816_status_t vcard_emul_login(VCard* card, unsigned char* pin, int pin_len);
int vcard_emul_is_logged_in(VCard* card);
void vcard_emul_logout(VCard* card);

void vcard_emul_delete_key(VCardKey* key);
int vcard_emul_rsa_bits(VCardKey* key);
/* the raw RSA private-key operation, in place */
vcard_7816_status_t vcard_emul_rsa_op(VCard* card, VCardKey* key, unsigned char* buffer,
                                      int buffer_size);

void vcard_emul_reset(VCard* card, VCardPower power);
void vcard_emul_get_atr(VCard* card, unsigned char* atr, int* atr_len);

/* re-inserts a card taken out by vcard_emul_force_card_remove() */
VCardEmulError vcard_emul_force_card_insert(VReader* vreader);
VCardEmulError vcard_emul_force_card_remove(VReader* vreader);

/* NULL, with the reason on stderr, for a malformed string */
VCardEmulOptions* vcard_emul_options(const char* args);
VCardEmulError vcard_emul_init(const VCardEmulOptions* options);
VCardEmulError vcard_emul_finalize(void);
void vcard_emul_replay_insertion_events(void);
void vcard_emul_usage(void);

unsigned char* vcard_emul_read_object(VCard* card, const char* label, unsigned int* ret_len);

#endif
