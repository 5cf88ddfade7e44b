/* Virtual readers of libcacard's API (vscard libcacard-compat). */
#ifndef VREADER_H
#define VREADER_H 1

#include "eventt.h"
#include "vcardt.h"
#include "vreadert.h"

/* for the reader's front end */
VReaderStatus vreader_power_on(VReader* reader, unsigned char* atr, int* len);
VReaderStatus vreader_power_off(VReader* reader);
VReaderStatus vreader_xfr_bytes(VReader* reader, unsigned char* send_buf, int send_buf_len,
                                unsigned char* receive_buf, int* receive_buf_len);

/* readers are reference counted */
VReader* vreader_new(const char* readerName, VReaderEmul* emul_private,
                     VReaderEmulFree private_free);
VReader* vreader_reference(VReader* reader);
void vreader_free(VReader* reader);

VReaderEmul* vreader_get_private(VReader*);
VReaderStatus vreader_card_is_present(VReader* reader);
void vreader_queue_card_event(VReader* reader);
const char* vreader_get_name(VReader* reader);
vreader_id_t vreader_get_id(VReader* reader);
VReaderStatus vreader_set_id(VReader* reader, vreader_id_t id);

/* a snapshot of the readers, each referenced until the list is deleted */
VReaderList* vreader_get_reader_list(void);
void vreader_list_delete(VReaderList* list);
VReader* vreader_list_get_reader(VReaderListEntry* entry);
VReaderListEntry* vreader_list_get_first(VReaderList* list);
VReaderListEntry* vreader_list_get_next(VReaderListEntry* list);
VReader* vreader_get_reader_by_id(vreader_id_t id);
VReader* vreader_get_reader_by_name(const char* name);

/* for card emulators */
void vreader_init(void);
VReaderStatus vreader_add_reader(VReader* reader);
VReaderStatus vreader_remove_reader(VReader* reader);
VReaderStatus vreader_insert_card(VReader* reader, VCard* card);

#endif
