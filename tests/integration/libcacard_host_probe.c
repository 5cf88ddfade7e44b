/* libcacard-host-probe DB [LIBRARY]
 *
 * What a host process gets from libcacard.so.0 for an answer of 54 bytes, the size QEMU 7.2's
 * usb-ccid loses: it dlopens LIBRARY first (RTLD_GLOBAL, as if it were linked: spice-gtk's
 * client library, whose own libcacard.so.0 is then the one already loaded), makes the soft
 * CAC of DB (made by make-test-nssdb), reads the CCC's tag buffer as libcacard's own
 * cac-ccc test does, and prints
 *   libcacard: PATH        the file libcacard.so.0 was loaded from
 *   answer: N SW1SW2       the bytes of the 52-byte read's answer and its status word
 * Exit status 0, or 2 when LIBRARY or the card cannot be had (a message says why). */
#define _GNU_SOURCE
#include "vcard_emul.h"
#include "vevent.h"
#include "vreader.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static int exchange(VReader* reader, unsigned char* command, int length, unsigned char* answer,
                    int* answerLength)
{
    *answerLength = 258;
    return vreader_xfr_bytes(reader, command, length, answer, answerLength) == VREADER_OK;
}

int main(int argc, char** argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s DB [LIBRARY]\n", argv[0]);
        return 64;
    }
    if (argc == 3 && !dlopen(argv[2], RTLD_NOW | RTLD_GLOBAL)) {
        fprintf(stderr, "%s: cannot load %s: %s\n", argv[0], argv[2], dlerror());
        return 2;
    }
    Dl_info where;
    void* entry = dlsym(RTLD_DEFAULT, "vreader_xfr_bytes");
    if (!entry || !dladdr(entry, &where) || !where.dli_fname) {
        fprintf(stderr, "%s: where libcacard.so.0 came from is unknown\n", argv[0]);
        return 2;
    }
    printf("libcacard: %s\n", where.dli_fname);

    char arguments[4096];
    snprintf(arguments, sizeof arguments,
             "db=\"sql:%s\" use_hw=no soft=(,Probe,CAC,,cert1,cert2,cert3)", argv[1]);
    VCardEmulOptions* options = vcard_emul_options(arguments);
    if (!options || vcard_emul_init(options) != VCARD_EMUL_OK) {
        fprintf(stderr, "%s: no emulated card from %s\n", argv[0], argv[1]);
        return 2;
    }
    VReader* reader = vreader_get_reader_by_name("Probe");
    unsigned char atr[40];
    int atrLength = sizeof atr;
    if (!reader || vreader_power_on(reader, atr, &atrLength) != VREADER_OK) {
        fprintf(stderr, "%s: the card of reader Probe does not power on\n", argv[0]);
        return 2;
    }

    unsigned char selectCcc[] = {0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0,
                                 0x00, 0x00, 0x01, 0x16, 0xDB, 0x00};
    unsigned char readLength[] = {0x80, 0x52, 0x00, 0x00, 0x02, 0x01, 0x02, 0x02};
    unsigned char answer[258];
    int answerLength = 0;
    if (!exchange(reader, selectCcc, sizeof selectCcc, answer, &answerLength) ||
        !exchange(reader, readLength, sizeof readLength, answer, &answerLength) ||
        answerLength != 4) {
        fprintf(stderr, "%s: the CCC's tag buffer has no length\n", argv[0]);
        return 2;
    }
    const int length = answer[0] | answer[1] << 8;
    if (length != 52) {
        fprintf(stderr, "%s: the CCC's tag buffer is %d bytes, not 52\n", argv[0], length);
        return 2;
    }
    unsigned char readTags[] = {0x80, 0x52, 0x00, 0x02, 0x02, 0x01, 52, 52};
    if (!exchange(reader, readTags, sizeof readTags, answer, &answerLength) || answerLength < 2) {
        fprintf(stderr, "%s: no answer to READ BUFFER\n", argv[0]);
        return 2;
    }
    printf("answer: %d %02X%02X\n", answerLength, answer[answerLength - 2],
           answer[answerLength - 1]);
    vreader_free(reader);
    return 0;
}
