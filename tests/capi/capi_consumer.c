/*
 * capi-consumer: a program written for libcacard's C API, built unchanged against Debian's
 * libcacard0 and against vscard's libcacard-compat. It walks the API a consumer relies on
 * (options, init once, events, the reader list and its references, power, APDUs through a
 * real emulated CAC with a signature, forced removal and insertion, a waiter woken by
 * VEVENT_LAST, the applet framework, APDU parsing, responses) and prints a transcript.
 * Lines starting "= " must be the same with both libraries; lines starting "~ " are where
 * vscard differs on purpose and must differ. tst_libcacard_capi compares the two runs.
 *
 * Usage: capi-consumer sql:DBDIR PIN
 */
#define _DEFAULT_SOURCE /* usleep */
#include <libcacard.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void hex_line(const char* prefix, const char* label, const unsigned char* data, int len)
{
    printf("%s %s:", prefix, label);
    for (int i = 0; i < len; ++i)
        printf(" %02X", data[i]);
    printf("\n");
}

static const char* event_name(VEventType type)
{
    switch (type) {
    case VEVENT_READER_INSERT: return "READER_INSERT";
    case VEVENT_READER_REMOVE: return "READER_REMOVE";
    case VEVENT_CARD_INSERT: return "CARD_INSERT";
    case VEVENT_CARD_REMOVE: return "CARD_REMOVE";
    case VEVENT_LAST: return "LAST";
    }
    return "?";
}

/* Prints and deletes every queued event; returns the card of the last CARD_INSERT. */
static VCard* drain_events(const char* when)
{
    VCard* card = NULL;
    VEvent* event;
    while ((event = vevent_get_next_vevent()) != NULL) {
        printf("= event %s: %s reader=%s card=%s\n", when, event_name(event->type),
               event->reader ? vreader_get_name(event->reader) : "(none)",
               event->card ? "yes" : "no");
        if (event->type == VEVENT_CARD_INSERT && event->card) {
            vcard_free(card);
            card = vcard_reference(event->card);
        }
        vevent_delete(event);
    }
    return card;
}

static void transmit(VReader* reader, const char* label, const unsigned char* apdu, int len,
                     int room, const char* prefix)
{
    unsigned char answer[1024];
    int answer_len = room;
    VReaderStatus status =
        vreader_xfr_bytes(reader, (unsigned char*)apdu, len, answer, &answer_len);
    if (status != VREADER_OK) {
        printf("%s %s: status %d\n", prefix, label, status);
        return;
    }
    hex_line(prefix, label, answer, answer_len);
}

static void* wait_for_event(void* unused)
{
    (void)unused;
    VEvent* event = vevent_wait_next_vevent();
    printf("= waiter woke with %s\n", event_name(event->type));
    vevent_delete(event);
    return NULL;
}

static int private_frees = 0;
static void free_private(VReaderEmul* emul)
{
    (void)emul;
    ++private_frees;
}

/* An applet of the framework: answers INS CA with its own AID, passes the rest on. */
static VCardStatus demo_applet_process(VCard* card, VCardAPDU* apdu, VCardResponse** response)
{
    if (apdu->a_ins != 0xCA)
        return VCARD_NEXT;
    VCardApplet* applet = vcard_find_applet(card, (const unsigned char*)"\xA0\x00\x00\x00\x01", 5);
    int aid_len = 0;
    unsigned char* aid = vcard_applet_get_aid(applet, &aid_len);
    *response = vcard_response_new(card, aid, aid_len, apdu->a_Le, VCARD7816_STATUS_SUCCESS);
    return VCARD_DONE;
}

static int resets = 0;
static VCardStatus demo_applet_reset(VCard* card, int channel)
{
    (void)card;
    (void)channel;
    ++resets;
    return VCARD_DONE;
}

static void run_on(VCard* card, const char* label, const unsigned char* raw, int len)
{
    unsigned short parse_status = 0;
    VCardAPDU* apdu = vcard_apdu_new((unsigned char*)raw, len, &parse_status);
    if (!apdu) {
        printf("= %s: not an APDU, %04X\n", label, parse_status);
        return;
    }
    VCardResponse* response = NULL;
    VCardStatus status = vcard_process_apdu(card, apdu, &response);
    printf("= %s: status %d", label, status);
    if (response) {
        for (int i = 0; i < response->b_total_len; ++i)
            printf(" %02X", response->b_data[i]);
        printf(" (sw %04X, len %d)", response->b_status, response->b_len);
    }
    printf("\n");
    vcard_response_delete(response);
    vcard_apdu_delete(apdu);
}

static void parse(const char* label, const unsigned char* raw, int len)
{
    unsigned short status = 0;
    VCardAPDU* apdu = vcard_apdu_new((unsigned char*)raw, len, &status);
    if (!apdu) {
        printf("= parse %s: error %04X\n", label, status);
        return;
    }
    printf("= parse %s: Lc %d Le %d body %s channel %d sm %d type %02X gen %d ins %02X\n", label,
           apdu->a_Lc, apdu->a_Le, apdu->a_body ? "yes" : "no", apdu->a_channel,
           apdu->a_secure_messaging, apdu->a_type, apdu->a_gen_type, apdu->a_ins);
    vcard_apdu_delete(apdu);
}

static void framework(void)
{
    VCard* card = vcard_new(NULL, NULL);
    printf("= framework type %d\n", vcard_get_type(card));
    VCardApplet* applet = vcard_new_applet(demo_applet_process, demo_applet_reset,
                                           (const unsigned char*)"\xA0\x00\x00\x00\x01", 5);
    printf("= add applet %d\n", vcard_add_applet(card, applet));
    run_on(card, "select unknown", (const unsigned char*)"\x00\xA4\x04\x00\x03\xA0\x00\x09", 8);
    run_on(card, "select by aid",
           (const unsigned char*)"\x00\xA4\x04\x00\x05\xA0\x00\x00\x00\x01\x00", 11);
    printf("= resets after select %d\n", resets);
    run_on(card, "applet instruction", (const unsigned char*)"\x00\xCA\x00\x00\x00", 5);
    run_on(card, "short Le", (const unsigned char*)"\x00\xCA\x00\x00\x02", 5);
    run_on(card, "get response", (const unsigned char*)"\x00\xC0\x00\x00\x03", 5);
    run_on(card, "get response again", (const unsigned char*)"\x00\xC0\x00\x00\x02", 5);
    run_on(card, "select by path", (const unsigned char*)"\x00\xA4\x00\x00\x02\x3F\x00", 7);
    run_on(card, "verify P1", (const unsigned char*)"\x00\x20\x01\x00", 4);
    run_on(card, "secure messaging", (const unsigned char*)"\x0C\xB0\x00\x00\x00", 5);
    run_on(card, "proprietary class", (const unsigned char*)"\xD0\xB0\x00\x00\x00", 5);
    run_on(card, "unknown instruction", (const unsigned char*)"\x00\xB0\x00\x00\x00", 5);
    printf("= current private %s\n", vcard_get_current_applet_private(card, 0) ? "set" : "null");
    vcard_set_type(card, VCARD_DIRECT);
    vcard_reset(card, VCARD_POWER_ON);
    printf("= direct reset selects the applet: resets %d\n", resets);
    VCardBufferResponse* buffer = vcard_buffer_response_new((const unsigned char*)"abc", 3);
    printf("= buffer %d %d %c\n", buffer->buffer_len, buffer->len, buffer->current[0]);
    vcard_buffer_response_delete(buffer);
    printf("= make_response shared %s\n",
           vcard_make_response(0x6A82) == vcard_make_response(0x6A82) ? "yes" : "no");
    VCardResponse* odd = vcard_make_response(0x6A99);
    printf("= make_response 6A99 %02X %02X total %d\n", odd->b_data[0], odd->b_data[1],
           odd->b_total_len);
    vcard_response_delete(odd);
    VCardResponse* bytes = vcard_response_new_status_bytes(0x63, 0xC2);
    printf("= status bytes %04X %d\n", bytes->b_status, bytes->b_total_len);
    vcard_response_set_status_bytes(bytes, 0x90, 0x00);
    printf("= set status %02X %02X\n", bytes->b_data[0], bytes->b_data[1]);
    vcard_response_delete(bytes);
    vcard_free(card);
}

int main(int argc, char** argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: capi-consumer sql:DBDIR PIN\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char* database = argv[1];
    const char* pin = argv[2];

    /* The applet framework first: libcacard's emulator assumes its own cards once initialised. */
    framework();
    printf("= bad options give NULL: %s\n", vcard_emul_options("maybe=1") ? "no" : "yes");
    printf("= type CAC %d, cac %d, other %d\n", vcard_emul_type_from_string("CAC"),
           vcard_emul_type_from_string("cac"), vcard_emul_type_from_string("PIV"));
    char spec[1024];
    snprintf(spec, sizeof spec, "db=\"%s\" use_hw=no soft=(,Test,CAC,,cert1,cert2,cert3)",
             database);
    VCardEmulOptions* options = vcard_emul_options(spec);
    printf("= options parsed: %s\n", options ? "yes" : "no");
    printf("= init %d\n", vcard_emul_init(options));
    printf("= init again %d\n", vcard_emul_init(options));

    VCard* card = drain_events("after init");
    VReaderList* list = vreader_get_reader_list();
    int count = 0;
    for (VReaderListEntry* entry = vreader_list_get_first(list); entry;
         entry = vreader_list_get_next(entry)) {
        VReader* reader = vreader_list_get_reader(entry);
        printf("= reader %d: %s, id %d, card %s\n", count++, vreader_get_name(reader),
               (int)vreader_get_id(reader),
               vreader_card_is_present(reader) == VREADER_OK ? "present" : "absent");
        vreader_free(reader);
    }
    vreader_list_delete(list);

    VReader* reader = vreader_get_reader_by_name("Test");
    printf("= by name: %s\n", reader ? "found" : "missing");
    printf("= set id %d\n", vreader_set_id(reader, 7));
    VReader* by_id = vreader_get_reader_by_id(7);
    printf("= by id: %s, undefined id: %s\n", by_id == reader ? "same reader" : "other",
           vreader_get_reader_by_id((vreader_id_t)-1) ? "found" : "none");
    vreader_free(by_id);

    unsigned char atr[64];
    int atr_len = sizeof atr;
    printf("= power on %d\n", vreader_power_on(reader, atr, &atr_len));
    hex_line("=", "atr", atr, atr_len);
    int short_len = 4;
    vcard_get_atr(card, atr, &short_len);
    hex_line("=", "atr cut to 4", atr, short_len);

    transmit(reader, "too short", (const unsigned char*)"\x00\xA4\x04", 3, 258, "=");
    transmit(reader, "select PKI 0",
             (const unsigned char*)"\x00\xA4\x04\x00\x07\xA0\x00\x00\x00\x79\x01\x00\x00", 13, 258,
             "=");
    transmit(reader, "properties", (const unsigned char*)"\x00\x56\x01\x00\x20", 5, 258, "=");
    transmit(reader, "properties in a small buffer", (const unsigned char*)"\x00\x56\x01\x00\x20",
             5, 6, "=");
    transmit(reader, "certificate tags", (const unsigned char*)"\x00\x52\x00\x00\x02\x01\x0C", 7,
             258, "=");
    transmit(reader, "pin status", (const unsigned char*)"\x00\x20\x00\x00", 4, 258, "~");
    unsigned char verify[13] = {0x00, 0x20, 0x00, 0x00, 0x08};
    memset(verify + 5, 0xFF, 8);
    memcpy(verify + 5, "00000000", 8);
    transmit(reader, "wrong pin", verify, 13, 258, "~");
    memset(verify + 5, 0xFF, 8);
    memcpy(verify + 5, pin, strlen(pin) < 8 ? strlen(pin) : 8);
    transmit(reader, "right pin", verify, 13, 258, "=");
    printf("~ login count %d\n", vcard_emul_get_login_count(card));

    /* A PKCS#1 v1.5 SHA-256 signature block, signed in two chained parts: deterministic. */
    unsigned char block[256];
    memset(block, 0xFF, sizeof block);
    block[0] = 0x00;
    block[1] = 0x01;
    static const unsigned char digest_info[19] = {0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60,
                                                  0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                                  0x01, 0x05, 0x00, 0x04, 0x20};
    block[256 - 32 - 19 - 1] = 0x00;
    memcpy(block + 256 - 32 - 19, digest_info, 19);
    memset(block + 256 - 32, 0xAB, 32);
    unsigned char part[5 + 128];
    memcpy(part, "\x80\x42\x80\x00\x80", 5);
    memcpy(part + 5, block, 128);
    transmit(reader, "sign part 1", part, sizeof part, 258, "=");
    memcpy(part, "\x80\x42\x00\x00\x80", 5);
    memcpy(part + 5, block + 128, 128);
    unsigned char answer[300];
    int answer_len = sizeof answer;
    vreader_xfr_bytes(reader, part, sizeof part, answer, &answer_len);
    hex_line("=", "sign part 2", answer, answer_len);
    transmit(reader, "signature", (const unsigned char*)"\x00\xC0\x00\x00\x00", 5, 258, "=");

    printf("= power off %d\n", vreader_power_off(reader));
    drain_events("after power");

    printf("= force remove %d\n", vcard_emul_force_card_remove(reader));
    drain_events("after remove");
    printf("= present after remove %d\n", vreader_card_is_present(reader));
    transmit(reader, "apdu without card", (const unsigned char*)"\x00\xA4\x04\x00\x00", 5, 258,
             "=");
    printf("= power on without card %d\n", vreader_power_on(reader, atr, &atr_len));
    printf("= force remove again %d\n", vcard_emul_force_card_remove(reader));
    printf("= force insert %d\n", vcard_emul_force_card_insert(reader));
    VCard* again = drain_events("after insert");
    printf("= same card back: %s\n", again == card ? "yes" : "no");
    vcard_free(again);
    printf("= force insert again %d\n", vcard_emul_force_card_insert(reader));
    vcard_emul_replay_insertion_events();
    vcard_free(drain_events("after replay"));

    VReader* mine = vreader_new("Mine", (VReaderEmul*)&private_frees, free_private);
    printf("= add own reader %d\n", vreader_add_reader(mine));
    printf("= own private %s\n",
           vreader_get_private(mine) == (VReaderEmul*)&private_frees ? "kept" : "lost");
    vreader_queue_card_event(mine);
    printf("= force remove from own empty reader fails: %s\n",
           vcard_emul_force_card_remove(mine) == VCARD_EMUL_FAIL ? "yes" : "no");
    printf("= remove own reader %d\n", vreader_remove_reader(mine));
    drain_events("own reader");
    printf("= private freed before last reference: %d\n", private_frees);
    vreader_free(mine);
    printf("= private freed after last reference: %d\n", private_frees);

    pthread_t waiter;
    pthread_create(&waiter, NULL, wait_for_event, NULL);
    usleep(100000);
    vevent_queue_vevent(vevent_new(VEVENT_LAST, NULL, NULL));
    pthread_join(waiter, NULL);

    parse("case 1", (const unsigned char*)"\x00\xA4\x04\x00", 4);
    parse("case 2 Le 0", (const unsigned char*)"\x00\xB0\x00\x00\x00", 5);
    parse("case 3", (const unsigned char*)"\x00\xA4\x04\x00\x02\x3F\x00", 7);
    parse("case 4", (const unsigned char*)"\x00\xA4\x04\x00\x02\x3F\x00\x10", 8);
    parse("Lc too long", (const unsigned char*)"\x00\xA4\x04\x00\x05\x3F\x00", 7);
    parse("extended Le", (const unsigned char*)"\x00\xB0\x00\x00\x00\x01\x00", 7);
    parse("extended Lc", (const unsigned char*)"\x00\xD6\x00\x00\x00\x00\x02\xAA\xBB", 9);
    parse("extended case 4", (const unsigned char*)"\x00\xD6\x00\x00\x00\x00\x01\xAA\x00\x00", 10);
    parse("extended Lc 0", (const unsigned char*)"\x00\xD6\x00\x00\x00\x00\x00\xAA", 8);
    parse("channel 3", (const unsigned char*)"\x03\xA4\x04\x00", 4);
    parse("RFU class", (const unsigned char*)"\x20\xA4\x04\x00", 4);
    parse("PTS", (const unsigned char*)"\xFF\x10\x11\x12", 4);
    parse("three bytes", (const unsigned char*)"\x00\xA4\x04", 3);

    vcard_free(card);
    vreader_free(reader);
    printf("= finalize %d\n", vcard_emul_finalize());
    return 0;
}
