/* The VSCard protocol between a host with virtual readers (QEMU's usb-ccid, server-ccid) and
 * a client with the cards: a 12-byte header of big-endian type, reader id and length, then
 * the payload. libcacard's API (vscard libcacard-compat); docs/protocol.md has the details. */
#ifndef VSCARD_COMMON_H
#define VSCARD_COMMON_H

#include <glib.h>
#include <stdint.h>

#define VERSION_MAJOR_BITS 11
#define VERSION_MIDDLE_BITS 11
#define VERSION_MINOR_BITS 10

#define MAKE_VERSION(major, middle, minor)                                                         \
    ((major << (VERSION_MINOR_BITS + VERSION_MIDDLE_BITS)) | (middle << VERSION_MINOR_BITS) |      \
     (minor))

/* the protocol's version: 0.0.2 */
#define VSCARD_VERSION MAKE_VERSION(0, 0, 2)

typedef enum VSCMsgType {
    VSC_Init = 1,
    VSC_Error,
    VSC_ReaderAdd,
    VSC_ReaderRemove,
    VSC_ATR,
    VSC_CardRemove,
    VSC_APDU,
    VSC_Flush,
    VSC_FlushComplete
} VSCMsgType;

typedef enum VSCErrorCode {
    VSC_SUCCESS = 0,
    VSC_GENERAL_ERROR = 1,
    VSC_CANNOT_ADD_MORE_READERS,
    VSC_CARD_ALREAY_INSERTED,
} VSCErrorCode;

#define VSCARD_UNDEFINED_READER_ID 0xffffffff
#define VSCARD_MINIMAL_READER_ID 0

#if G_BYTE_ORDER == G_LITTLE_ENDIAN
#define VSCARD_MAGIC_CONST(f)                                                                      \
    ((uint32_t)(((f)[0]) | ((f)[1] << 8) | ((f)[2] << 16) | ((f)[3] << 24)))
#else
#define VSCARD_MAGIC_CONST(f)                                                                      \
    ((uint32_t)(((f)[3]) | ((f)[2] << 8) | ((f)[1] << 16) | ((f)[0] << 24)))
#endif
#define VSCARD_MAGIC VSCARD_MAGIC_CONST("VSCD")

/* every message starts with this header, in network byte order */
typedef struct VSCMsgHeader {
    uint32_t type;
    uint32_t reader_id;
    uint32_t length;
    uint8_t data[0];
} VSCMsgHeader;

/* both sides send it first; the receiver checks the length: capabilities may grow */
typedef struct VSCMsgInit {
    uint32_t magic;
    uint32_t version;
    uint32_t capabilities[1];
} VSCMsgInit;

typedef struct VSCMsgError {
    uint32_t code;
} VSCMsgError;

typedef struct VSCMsgReaderAdd {
    uint8_t name[0];
} VSCMsgReaderAdd;

typedef struct VSCMsgReaderRemove {
} VSCMsgReaderRemove;

typedef struct VSCMsgATR {
    uint8_t atr[0];
} VSCMsgATR;

typedef struct VSCMsgCardRemove {
} VSCMsgCardRemove;

typedef struct VSCMsgAPDU {
    uint8_t data[0];
} VSCMsgAPDU;

typedef struct VSCMsgFlush {
} VSCMsgFlush;

typedef struct VSCMsgFlushComplete {
} VSCMsgFlushComplete;

#endif /* VSCARD_COMMON_H */
