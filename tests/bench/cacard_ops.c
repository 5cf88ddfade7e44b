/*
 * bench-cacard-ops: the cost of card emulation as a libcacard consumer (QEMU, spice) pays it.
 * Written against libcacard's API and built against Debian's libcacard0; run as it is and with
 * LD_LIBRARY_PATH pointing at vscard's libcacard.so.0, the same binary measures both.
 *
 * Usage: bench-cacard-ops sql:DBDIR PIN N
 * Prints "RESULT op=NAME count=N seconds=S" for a certificate read (SELECT of the PKI applet
 * and READ BUFFER of its whole value buffer), GET PROPERTIES, and an RSA-2048 signature (after
 * one VERIFY), N times each (N/10 signatures).
 */
#define _POSIX_C_SOURCE 199309L
#include <libcacard.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static VReader* reader;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One APDU and the GET RESPONSEs its 61xx asks for; returns the data length (without the
 * status word, which goes to *sw). Exits on a transport failure. */
static int xfr(const unsigned char* apdu, int len, unsigned char* answer, int room, int* sw)
{
    int total = 0;
    unsigned char get_response[5] = {0x00, 0xC0, 0x00, 0x00, 0x00};
    for (;;) {
        unsigned char part[300];
        int part_len = sizeof part;
        if (vreader_xfr_bytes(reader, (unsigned char*)apdu, len, part, &part_len) != VREADER_OK ||
            part_len < 2 || total + part_len - 2 > room) {
            fprintf(stderr, "bench-cacard-ops: APDU failed\n");
            exit(1);
        }
        memcpy(answer + total, part, (size_t)(part_len - 2));
        total += part_len - 2;
        *sw = (part[part_len - 2] << 8) | part[part_len - 1];
        if ((*sw >> 8) != 0x61)
            return total;
        get_response[4] = (unsigned char)(*sw & 0xFF);
        apdu = get_response;
        len = 5;
    }
}

static const unsigned char select_pki0[] = {0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0,
                                            0x00, 0x00, 0x00, 0x79, 0x01, 0x00};

/* SELECT PKI 0, then its value buffer read whole: the 2-byte length, then chunks. */
static int certificate_read(void)
{
    unsigned char answer[300];
    int sw = 0;
    xfr(select_pki0, sizeof select_pki0, answer, sizeof answer, &sw);
    if (sw != 0x9000)
        return 0;
    unsigned char read[7] = {0x00, 0x52, 0x00, 0x00, 0x02, 0x02, 0x02};
    xfr(read, 7, answer, sizeof answer, &sw);
    if (sw != 0x9000)
        return 0;
    const int total = answer[0] | (answer[1] << 8);
    int read_bytes = 0;
    for (int offset = 2; read_bytes < total;) {
        const int chunk = total - read_bytes > 0xF0 ? 0xF0 : total - read_bytes;
        read[2] = (unsigned char)(offset >> 8);
        read[3] = (unsigned char)offset;
        read[6] = (unsigned char)chunk;
        const int got = xfr(read, 7, answer, sizeof answer, &sw);
        if (sw != 0x9000 || got <= 0)
            return 0;
        read_bytes += got;
        offset += got;
    }
    return read_bytes;
}

static int get_properties(void)
{
    static const unsigned char apdu[] = {0x00, 0x56, 0x01, 0x00, 0x20};
    unsigned char answer[300];
    int sw = 0;
    xfr(apdu, sizeof apdu, answer, sizeof answer, &sw);
    return sw == 0x9000;
}

/* A PKCS#1 v1.5 SHA-256 block signed in two chained parts, the signature fetched. */
static int sign(void)
{
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
    unsigned char answer[300];
    int sw = 0;
    memcpy(part, "\x80\x42\x80\x00\x80", 5);
    memcpy(part + 5, block, 128);
    xfr(part, sizeof part, answer, sizeof answer, &sw);
    if (sw != 0x9000)
        return 0;
    memcpy(part, "\x80\x42\x00\x00\x80", 5);
    memcpy(part + 5, block + 128, 128);
    const int total = xfr(part, sizeof part, answer, sizeof answer, &sw);
    return sw == 0x9000 && total == 256;
}

static void run(const char* name, int (*op)(void), int count)
{
    if (!op()) { /* warm-up, and a check that the operation works at all */
        fprintf(stderr, "bench-cacard-ops: %s fails\n", name);
        exit(1);
    }
    const double start = now();
    for (int i = 0; i < count; ++i)
        if (!op()) {
            fprintf(stderr, "bench-cacard-ops: %s failed at %d\n", name, i);
            exit(1);
        }
    printf("RESULT op=%s count=%d seconds=%.6f\n", name, count, now() - start);
}

int main(int argc, char** argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench-cacard-ops sql:DBDIR PIN N\n");
        return 2;
    }
    const int count = atoi(argv[3]);
    char spec[1024];
    snprintf(spec, sizeof spec, "db=\"%s\" use_hw=no soft=(,Bench,CAC,,cert1,cert2,cert3)",
             argv[1]);
    if (vcard_emul_init(vcard_emul_options(spec)) != VCARD_EMUL_OK) {
        fprintf(stderr, "bench-cacard-ops: vcard_emul_init failed\n");
        return 1;
    }
    reader = vreader_get_reader_by_name("Bench");
    unsigned char atr[64];
    int atr_len = sizeof atr;
    if (!reader || vreader_power_on(reader, atr, &atr_len) != VREADER_OK) {
        fprintf(stderr, "bench-cacard-ops: no card\n");
        return 1;
    }
    run("certificate_read", certificate_read, count);
    unsigned char answer[300];
    int sw = 0;
    xfr(select_pki0, sizeof select_pki0, answer, sizeof answer, &sw);
    run("get_properties", get_properties, count * 4);
    unsigned char verify[13] = {0x00, 0x20, 0x00, 0x00, 0x08};
    memset(verify + 5, 0xFF, 8);
    memcpy(verify + 5, argv[2], strlen(argv[2]) < 8 ? strlen(argv[2]) : 8);
    xfr(verify, sizeof verify, answer, sizeof answer, &sw);
    if (sw != 0x9000) {
        fprintf(stderr, "bench-cacard-ops: VERIFY %04X\n", sw);
        return 1;
    }
    run("sign", sign, count / 10 > 0 ? count / 10 : 1);
    return 0;
}
