/*
 * libcacard-client: a reference VSCard client around Debian's libcacard.
 *
 * It hosts libcacard's own emulated card (the CAC that libcacard builds from NSS certificates)
 * and connects it to a VSCard host the way libcacard's vscclient does, speaking the protocol
 * exactly as docs/protocol.md describes it. Tests use it as the reference card to compare
 * vscard's emulator with, and to capture what OpenSC sends to a CAC card.
 *
 * Structure: one thread waits for libcacard's events (vevent_wait_next_vevent) and hands each
 * event through a pipe to the main thread; the main thread owns the socket and all protocol
 * state, polling the socket, that pipe, a signal pipe and stdin.
 */
#define _GNU_SOURCE

/* libcacard's headers one by one: its umbrella libcacard.h also pulls vscard_common.h, whose
 * zero-length arrays -Wpedantic rejects (we speak the protocol with our own code anyway). */
#include <glib.h>
#include <vcard.h>
#include <vcard_emul.h>
#include <vevent.h>
#include <vreader.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- The protocol (docs/protocol.md) ---------------------------------------------------- */

enum {
    MSG_INIT = 1,
    MSG_ERROR = 2,
    MSG_READER_ADD = 3,
    MSG_READER_REMOVE = 4,
    MSG_ATR = 5,
    MSG_CARD_REMOVE = 6,
    MSG_APDU = 7,
    MSG_FLUSH = 8,
    MSG_FLUSH_COMPLETE = 9,
    MSG_POWER_REQUEST = 256,
    MSG_POWER_RESPONSE = 257,
};

enum {
    CODE_SUCCESS = 0,
    CODE_GENERAL_ERROR = 1,
    CODE_CANNOT_ADD_MORE_READERS = 2,
    CODE_CARD_ALREADY_INSERTED = 3,
};

#define HEADER_SIZE 12u
#define UNDEFINED_READER_ID 0xFFFFFFFFu
#define PROTOCOL_VERSION 2u /* MAKE_VERSION(0, 0, 2) */
#define MAX_PAYLOAD 65544u  /* the largest extended command APDU */
#define MAX_RESPONSE 65538u /* the largest extended response APDU */
#define MAX_ATR 40

/* Exit codes. */
enum {
    EXIT_IO = 1,        /* connection failed or lost */
    EXIT_PROTOCOL = 2,  /* the host broke the protocol or refused a reader or card */
    EXIT_LIBCACARD = 3, /* libcacard could not be set up */
    EXIT_USAGE = 64,
};

static const char* type_name(uint32_t type)
{
    switch (type) {
    case MSG_INIT: return "Init";
    case MSG_ERROR: return "Error";
    case MSG_READER_ADD: return "ReaderAdd";
    case MSG_READER_REMOVE: return "ReaderRemove";
    case MSG_ATR: return "ATR";
    case MSG_CARD_REMOVE: return "CardRemove";
    case MSG_APDU: return "APDU";
    case MSG_FLUSH: return "Flush";
    case MSG_FLUSH_COMPLETE: return "FlushComplete";
    case MSG_POWER_REQUEST: return "PowerRequest";
    case MSG_POWER_RESPONSE: return "PowerResponse";
    default: return NULL;
    }
}

static const char* code_name(uint32_t code)
{
    switch (code) {
    case CODE_SUCCESS: return "SUCCESS";
    case CODE_GENERAL_ERROR: return "GENERAL_ERROR";
    case CODE_CANNOT_ADD_MORE_READERS: return "CANNOT_ADD_MORE_READERS";
    case CODE_CARD_ALREADY_INSERTED: return "CARD_ALREADY_INSERTED";
    default: return "unknown code";
    }
}

static void put_be32(unsigned char* out, uint32_t value)
{
    out[0] = (unsigned char)(value >> 24);
    out[1] = (unsigned char)(value >> 16);
    out[2] = (unsigned char)(value >> 8);
    out[3] = (unsigned char)value;
}

static uint32_t get_be32(const unsigned char* in)
{
    return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | (uint32_t)in[3];
}

/* ---- Diagnostics ------------------------------------------------------------------------- */

static bool verbose;

G_GNUC_PRINTF(1, 2) static void log_error(const char* format, ...)
{
    va_list args;
    va_start(args, format);
    fputs("libcacard-client: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
}

static void log_bytes(const char* prefix, uint32_t type, uint32_t reader_id,
                      const unsigned char* data, size_t length)
{
    if (!verbose)
        return;
    const char* name = type_name(type);
    fprintf(stderr, "libcacard-client: %s %s reader %u, %zu bytes:", prefix, name ? name : "?",
            (unsigned)reader_id, length);
    for (size_t i = 0; i < length; ++i)
        fprintf(stderr, " %02X", data[i]);
    fputc('\n', stderr);
}

/* ---- State --------------------------------------------------------------------------------- */

enum add_state {
    ADD_NOT_SENT, /* the host has not heard of the reader yet */
    ADD_PENDING,  /* ReaderAdd sent, answer awaited */
    ADD_DONE,     /* the host gave it an id */
    ADD_REMOVED,  /* ReaderRemove sent, or the reader vanished before it was added */
};

struct reader {
    VReader* vreader; /* our reference */
    char* name;
    uint32_t id; /* the host's id, UNDEFINED_READER_ID until added */
    enum add_state add;
    bool initial;      /* created by vcard_emul_init: "ready" waits for it */
    bool gone;         /* libcacard removed the reader */
    bool card_present; /* libcacard's last card event was an insertion */
    bool reinsert;     /* a new card came while the host still holds the old one */
    unsigned char atr[MAX_ATR];
    int atr_len;
    bool card_sent;       /* the host was sent an ATR and no CardRemove since */
    bool card_acked;      /* ... and acknowledged that ATR */
    unsigned card_serial; /* counts ATR messages, to match acknowledgements */
};

enum ack_kind { ACK_READER_ADD, ACK_ATR, ACK_CARD_REMOVE, ACK_READER_REMOVE };

struct pending_ack {
    enum ack_kind kind;
    struct reader* reader;
    unsigned card_serial;
};

#define MAX_READERS 64
#define MAX_ACKS 256

static struct reader readers[MAX_READERS];
static size_t reader_count;

/* The host answers ReaderAdd, ATR, CardRemove and ReaderRemove with an Error message, in the
 * order it received them. */
static struct pending_ack acks[MAX_ACKS];
static size_t ack_head, ack_count;

static int sock = -1;
static bool is_tcp;
static bool handshake_done;
static bool ready_printed;
static struct reader* adding; /* the reader whose ReaderAdd awaits its answer */

static int event_pipe[2] = {-1, -1};
static int signal_pipe[2] = {-1, -1};
static GThread* event_thread;

/* ---- Shutdown ---------------------------------------------------------------------------- */

static void stop_event_thread(void)
{
    if (!event_thread)
        return;
    /* Closing the read end makes the thread's writes fail; the last event ends its loop. */
    close(event_pipe[0]);
    event_pipe[0] = -1;
    vevent_queue_vevent(vevent_new(VEVENT_LAST, NULL, NULL));
    g_thread_join(event_thread);
    event_thread = NULL;
}

G_GNUC_NORETURN static void finish(int code)
{
    stop_event_thread();
    if (sock >= 0)
        close(sock);
    for (size_t i = 0; i < reader_count; ++i) {
        vreader_free(readers[i].vreader);
        g_free(readers[i].name);
    }
    fflush(stdout);
    exit(code);
}

/* ---- Sending ----------------------------------------------------------------------------- */

/* Sends one message in one write (a message split over two writes meets delayed ACK). */
static void send_message(uint32_t type, uint32_t reader_id, const void* payload, size_t length)
{
    static unsigned char wire[HEADER_SIZE + MAX_RESPONSE];
    if (length > MAX_RESPONSE) {
        log_error("internal error: %s of %zu bytes", type_name(type), length);
        finish(EXIT_PROTOCOL);
    }
    put_be32(wire, type);
    put_be32(wire + 4, reader_id);
    put_be32(wire + 8, (uint32_t)length);
    if (length)
        memcpy(wire + HEADER_SIZE, payload, length);
    log_bytes("->", type, reader_id, wire + HEADER_SIZE, length);
    size_t total = HEADER_SIZE + length;
    size_t done = 0;
    while (done < total) {
        ssize_t written = write(sock, wire + done, total - done);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0) {
            log_error("connection lost while sending %s: %s", type_name(type),
                      written < 0 ? strerror(errno) : "nothing written");
            finish(EXIT_IO);
        }
        done += (size_t)written;
    }
}

static void send_error(uint32_t reader_id, uint32_t code)
{
    unsigned char payload[4];
    put_be32(payload, code);
    send_message(MSG_ERROR, reader_id, payload, sizeof payload);
}

static void expect_ack(enum ack_kind kind, struct reader* reader)
{
    if (ack_count == MAX_ACKS) {
        log_error("the host leaves %d messages unacknowledged", MAX_ACKS);
        finish(EXIT_PROTOCOL);
    }
    acks[(ack_head + ack_count) % MAX_ACKS] =
        (struct pending_ack){kind, reader, reader->card_serial};
    ++ack_count;
}

/* ---- Bringing the host in line with libcacard ------------------------------------------- */

static bool card_in_reader(struct reader* reader)
{
    return reader->card_present || vreader_card_is_present(reader->vreader) == VREADER_OK;
}

static void check_ready(void)
{
    if (ready_printed || !handshake_done)
        return;
    for (size_t i = 0; i < reader_count; ++i) {
        struct reader* reader = &readers[i];
        if (!reader->initial || reader->gone)
            continue;
        if (reader->add != ADD_DONE)
            return;
        if (card_in_reader(reader) && !(reader->card_sent && reader->card_acked))
            return;
    }
    ready_printed = true;
    fputs("ready\n", stdout);
    fflush(stdout);
}

/* Sends whatever the host needs to learn; called after every change of state. */
static void advance(void)
{
    if (!handshake_done)
        return;
    for (size_t i = 0; i < reader_count; ++i) {
        struct reader* reader = &readers[i];
        switch (reader->add) {
        case ADD_NOT_SENT:
            if (reader->gone) {
                reader->add = ADD_REMOVED;
            } else if (!adding) {
                /* One ReaderAdd at a time: its answer carries the id it is for. */
                send_message(MSG_READER_ADD, UNDEFINED_READER_ID, reader->name,
                             strlen(reader->name));
                reader->add = ADD_PENDING;
                adding = reader;
                expect_ack(ACK_READER_ADD, reader);
            }
            break;
        case ADD_PENDING:
        case ADD_REMOVED: break;
        case ADD_DONE:
            if (reader->card_sent && (!reader->card_present || reader->reinsert || reader->gone)) {
                send_message(MSG_CARD_REMOVE, reader->id, NULL, 0);
                reader->card_sent = false;
                reader->card_acked = false;
                reader->reinsert = false;
                expect_ack(ACK_CARD_REMOVE, reader);
            }
            if (reader->gone) {
                send_message(MSG_READER_REMOVE, reader->id, NULL, 0);
                reader->add = ADD_REMOVED;
                expect_ack(ACK_READER_REMOVE, reader);
            } else if (reader->card_present && !reader->card_sent) {
                ++reader->card_serial;
                send_message(MSG_ATR, reader->id, reader->atr, (size_t)reader->atr_len);
                reader->card_sent = true;
                reader->card_acked = false;
                expect_ack(ACK_ATR, reader);
            }
            break;
        }
    }
    check_ready();
}

static struct reader* find_reader(VReader* vreader)
{
    for (size_t i = 0; i < reader_count; ++i)
        if (readers[i].vreader == vreader && !readers[i].gone)
            return &readers[i];
    return NULL;
}

static struct reader* find_reader_by_id(uint32_t id)
{
    for (size_t i = 0; i < reader_count; ++i)
        if (readers[i].add == ADD_DONE && readers[i].id == id)
            return &readers[i];
    return NULL;
}

static struct reader* track_reader(VReader* vreader, bool initial)
{
    struct reader* reader = find_reader(vreader);
    if (reader)
        return reader;
    if (reader_count == MAX_READERS) {
        log_error("libcacard offers more than %d readers; ignoring \"%s\"", MAX_READERS,
                  vreader_get_name(vreader));
        return NULL;
    }
    reader = &readers[reader_count++];
    memset(reader, 0, sizeof *reader);
    reader->vreader = vreader_reference(vreader);
    const char* name = vreader_get_name(vreader);
    reader->name = g_strdup(name ? name : "");
    reader->id = UNDEFINED_READER_ID;
    reader->add = ADD_NOT_SENT;
    reader->initial = initial;
    return reader;
}

/* ---- libcacard's events ------------------------------------------------------------------ */

static gpointer event_thread_main(gpointer unused)
{
    (void)unused;
    for (;;) {
        VEvent* event = vevent_wait_next_vevent();
        if (!event)
            continue;
        if (event->type == VEVENT_LAST) {
            vevent_delete(event);
            return NULL;
        }
        /* A pointer is far below PIPE_BUF: the write is atomic. */
        if (write(event_pipe[1], &event, sizeof event) != (ssize_t)sizeof event)
            vevent_delete(event); /* shutting down */
    }
}

static void handle_event(VEvent* event)
{
    struct reader* reader = NULL;
    switch (event->type) {
    case VEVENT_READER_INSERT: track_reader(event->reader, false); break;
    case VEVENT_READER_REMOVE:
        reader = find_reader(event->reader);
        if (reader) {
            reader->gone = true;
            if (verbose)
                log_error("libcacard removed reader \"%s\"", reader->name);
        }
        break;
    case VEVENT_CARD_INSERT:
        reader = track_reader(event->reader, false);
        if (!reader)
            break;
        reader->atr_len = MAX_ATR;
        if (event->card)
            vcard_get_atr(event->card, reader->atr, &reader->atr_len);
        else
            vcard_emul_get_atr(NULL, reader->atr, &reader->atr_len);
        if (reader->card_sent)
            reader->reinsert = true;
        reader->card_present = true;
        if (verbose)
            log_error("libcacard inserted a card into \"%s\"", reader->name);
        break;
    case VEVENT_CARD_REMOVE:
        reader = find_reader(event->reader);
        if (reader) {
            reader->card_present = false;
            reader->reinsert = false;
            if (verbose)
                log_error("libcacard removed the card from \"%s\"", reader->name);
        }
        break;
    case VEVENT_LAST: break;
    }
    vevent_delete(event);
    advance();
}

/* ---- Messages from the host ------------------------------------------------------------- */

static void protocol_error(const char* what, uint32_t type, uint32_t reader_id, uint32_t length)
{
    const char* name = type_name(type);
    if (name)
        log_error("protocol error: %s (%s, reader %u, %u bytes); connection dropped", what, name,
                  (unsigned)reader_id, (unsigned)length);
    else
        log_error("protocol error: %s (type %u, reader %u, %u bytes); connection dropped", what,
                  (unsigned)type, (unsigned)reader_id, (unsigned)length);
    finish(EXIT_PROTOCOL);
}

/* Checks a header as soon as its 12 bytes are in. */
static void check_header(uint32_t type, uint32_t reader_id, uint32_t length)
{
    if (!type_name(type))
        protocol_error("unknown type", type, reader_id, length);
    if (length > MAX_PAYLOAD)
        protocol_error("oversized length", type, reader_id, length);
    switch (type) {
    case MSG_ERROR:
    case MSG_POWER_REQUEST:
        if (length != 4)
            protocol_error("malformed payload", type, reader_id, length);
        break;
    case MSG_READER_REMOVE:
    case MSG_CARD_REMOVE:
    case MSG_FLUSH:
    case MSG_FLUSH_COMPLETE:
        if (length != 0)
            protocol_error("malformed payload", type, reader_id, length);
        break;
    case MSG_INIT:
        if (length < 8 || length % 4 != 0)
            protocol_error("malformed Init", type, reader_id, length);
        break;
    default: break;
    }
}

static void handle_init(const unsigned char* payload, uint32_t length)
{
    if (handshake_done)
        protocol_error("a second Init", MSG_INIT, UNDEFINED_READER_ID, length);
    if (memcmp(payload, "VSCD", 4) != 0)
        protocol_error("malformed Init: no \"VSCD\" magic", MSG_INIT, UNDEFINED_READER_ID, length);
    uint32_t version = get_be32(payload + 4);
    if (version >> 21 != PROTOCOL_VERSION >> 21)
        log_error("the host speaks protocol version %u.%u.%u; continuing as with 0.0.2",
                  (unsigned)(version >> 21), (unsigned)(version >> 10 & 0x7FF),
                  (unsigned)(version & 0x3FF));
    /* Capabilities: we announced none, so whatever the host offers stays unused. */
    handshake_done = true;
    advance();
}

static void handle_ack(uint32_t reader_id, uint32_t code)
{
    if (ack_count == 0) {
        log_error("warning: the host sent Error(%s) for reader %u, which answers nothing we sent",
                  code_name(code), (unsigned)reader_id);
        return;
    }
    struct pending_ack ack = acks[ack_head];
    ack_head = (ack_head + 1) % MAX_ACKS;
    --ack_count;
    struct reader* reader = ack.reader;
    switch (ack.kind) {
    case ACK_READER_ADD:
        adding = NULL;
        if (code != CODE_SUCCESS) {
            log_error("the host refused reader \"%s\": Error(%s)", reader->name, code_name(code));
            finish(EXIT_PROTOCOL);
        }
        if (reader_id == UNDEFINED_READER_ID || find_reader_by_id(reader_id)) {
            log_error("the host added reader \"%s\" with an unusable id %u", reader->name,
                      (unsigned)reader_id);
            finish(EXIT_PROTOCOL);
        }
        reader->id = reader_id;
        reader->add = ADD_DONE;
        vreader_set_id(reader->vreader, reader_id);
        if (verbose)
            log_error("reader \"%s\" has id %u", reader->name, (unsigned)reader_id);
        break;
    case ACK_ATR:
        if (code != CODE_SUCCESS) {
            log_error("the host refused the card of reader \"%s\" (id %u): Error(%s)", reader->name,
                      (unsigned)reader->id, code_name(code));
            finish(EXIT_PROTOCOL);
        }
        if (reader->card_sent && ack.card_serial == reader->card_serial) {
            reader->card_acked = true;
            if (ready_printed) {
                printf("inserted %u\n", (unsigned)reader->id);
                fflush(stdout);
            }
        }
        break;
    case ACK_CARD_REMOVE:
    case ACK_READER_REMOVE:
        if (code != CODE_SUCCESS)
            log_error("warning: the host answered %s for reader %u with Error(%s)",
                      ack.kind == ACK_CARD_REMOVE ? "CardRemove" : "ReaderRemove",
                      (unsigned)reader->id, code_name(code));
        if (ack.kind == ACK_CARD_REMOVE && ready_printed) {
            printf("removed %u\n", (unsigned)reader->id);
            fflush(stdout);
        }
        break;
    }
    if (ack.kind != ACK_READER_ADD && reader_id != reader->id)
        log_error("warning: the host answered for reader %u with reader id %u",
                  (unsigned)reader->id, (unsigned)reader_id);
    advance();
}

static void handle_apdu(uint32_t reader_id, unsigned char* command, uint32_t length)
{
    static unsigned char response[MAX_RESPONSE];
    struct reader* reader = find_reader_by_id(reader_id);
    if (!reader) {
        log_error("warning: APDU for reader %u, which we never added; answering GENERAL_ERROR",
                  (unsigned)reader_id);
        send_error(reader_id, CODE_GENERAL_ERROR);
        return;
    }
    int response_length = (int)sizeof response;
    VReaderStatus status =
        vreader_xfr_bytes(reader->vreader, command, (int)length, response, &response_length);
    if (status != VREADER_OK || response_length < 2) {
        log_error("warning: libcacard could not process the APDU for reader %u (status %d, %d "
                  "bytes); answering GENERAL_ERROR",
                  (unsigned)reader_id, (int)status, response_length);
        send_error(reader_id, CODE_GENERAL_ERROR);
        return;
    }
    send_message(MSG_APDU, reader_id, response, (size_t)response_length);
}

static void handle_message(uint32_t type, uint32_t reader_id, unsigned char* payload,
                           uint32_t length)
{
    log_bytes("<-", type, reader_id, payload, length);
    if (!handshake_done && type != MSG_INIT)
        protocol_error("message before the host's Init", type, reader_id, length);
    switch (type) {
    case MSG_INIT: handle_init(payload, length); break;
    case MSG_ERROR: handle_ack(reader_id, get_be32(payload)); break;
    case MSG_APDU: handle_apdu(reader_id, payload, length); break;
    case MSG_FLUSH:
        /* Every APDU is answered before the next message is read. */
        send_message(MSG_FLUSH_COMPLETE, reader_id, NULL, 0);
        break;
    case MSG_POWER_REQUEST:
        protocol_error("PowerRequest, though we did not announce card-power", type, reader_id,
                       length);
        break;
    default: protocol_error("a message only a client sends", type, reader_id, length);
    }
}

static void read_socket(void)
{
    static unsigned char buffer[2 * (HEADER_SIZE + MAX_PAYLOAD)];
    static size_t filled;
    ssize_t got = read(sock, buffer + filled, sizeof buffer - filled);
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (got <= 0) {
        log_error("connection lost: %s", got < 0 ? strerror(errno) : "the host closed it");
        finish(EXIT_IO);
    }
    filled += (size_t)got;
    if (is_tcp) {
        /* Answer the host's next message at once should it ever split one over two writes. */
        int one = 1;
        setsockopt(sock, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    }
    size_t offset = 0;
    while (filled - offset >= HEADER_SIZE) {
        const unsigned char* header = buffer + offset;
        uint32_t type = get_be32(header);
        uint32_t reader_id = get_be32(header + 4);
        uint32_t length = get_be32(header + 8);
        check_header(type, reader_id, length);
        if (filled - offset < HEADER_SIZE + length)
            break;
        handle_message(type, reader_id, buffer + offset + HEADER_SIZE, length);
        offset += HEADER_SIZE + length;
    }
    memmove(buffer, buffer + offset, filled - offset);
    filled -= offset;
}

/* ---- Commands on stdin ------------------------------------------------------------------- */

static struct reader* command_target(const char* argument)
{
    if (*argument == '\0') {
        for (size_t i = 0; i < reader_count; ++i)
            if (readers[i].add == ADD_DONE)
                return &readers[i];
        return NULL;
    }
    char* end = NULL;
    unsigned long id = strtoul(argument, &end, 10);
    if (end == argument || *end != '\0')
        return NULL;
    return find_reader_by_id((uint32_t)id);
}

static void run_command(char* line)
{
    line[strcspn(line, "\r\n")] = '\0';
    char* argument = line + strcspn(line, " \t");
    if (*argument)
        *argument++ = '\0';
    argument += strspn(argument, " \t");
    if (strcmp(line, "") == 0)
        return;
    if (strcmp(line, "quit") == 0 || strcmp(line, "exit") == 0)
        finish(EXIT_SUCCESS);
    if (strcmp(line, "list") == 0) {
        for (size_t i = 0; i < reader_count; ++i)
            if (readers[i].add == ADD_DONE)
                printf("reader %u \"%s\" card %s\n", (unsigned)readers[i].id, readers[i].name,
                       readers[i].card_present ? "present" : "absent");
        fflush(stdout);
        return;
    }
    bool insert = strcmp(line, "insert") == 0;
    if (!insert && strcmp(line, "remove") != 0) {
        log_error("unknown command \"%s\" (commands: insert [ID], remove [ID], list, quit)", line);
        return;
    }
    struct reader* reader = command_target(argument);
    if (!reader) {
        log_error("%s: no added reader %s", line, *argument ? argument : "at all");
        return;
    }
    /* libcacard answers with a card event, which the event thread brings back here. */
    VCardEmulError result = insert ? vcard_emul_force_card_insert(reader->vreader)
                                   : vcard_emul_force_card_remove(reader->vreader);
    if (result != VCARD_EMUL_OK)
        log_error("%s: libcacard refused (the card is already %s?)", line,
                  insert ? "inserted" : "removed");
}

static bool read_stdin(void)
{
    static char line[256];
    static size_t filled;
    ssize_t got = read(STDIN_FILENO, line + filled, sizeof line - 1 - filled);
    if (got < 0 && errno == EINTR)
        return true;
    if (got <= 0)
        return false; /* no more commands; keep serving the card */
    filled += (size_t)got;
    line[filled] = '\0';
    char* newline;
    while ((newline = strchr(line, '\n')) != NULL) {
        *newline = '\0';
        run_command(line);
        size_t used = (size_t)(newline + 1 - line);
        memmove(line, newline + 1, filled - used + 1);
        filled -= used;
    }
    if (filled == sizeof line - 1) {
        log_error("command line too long; discarded");
        filled = 0;
    }
    return true;
}

/* ---- Connecting -------------------------------------------------------------------------- */

static int connect_unix(const char* path)
{
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof address.sun_path) {
        log_error("socket path too long: %s", path);
        return -1;
    }
    strcpy(address.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_error("socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr*)&address, sizeof address) != 0) {
        log_error("cannot connect to unix:%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int connect_tcp(const char* endpoint)
{
    char* host = g_strdup(endpoint);
    char* colon = strrchr(host, ':');
    if (!colon || colon == host || colon[1] == '\0') {
        log_error("expected tcp:HOST:PORT, got tcp:%s", endpoint);
        g_free(host);
        return -1;
    }
    *colon = '\0';
    const char* port = colon + 1;
    char* name = host;
    size_t name_length = strlen(name);
    if (name[0] == '[' && name[name_length - 1] == ']') { /* [::1]:35963 */
        name[name_length - 1] = '\0';
        ++name;
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo* results = NULL;
    int status = getaddrinfo(name, port, &hints, &results);
    if (status != 0) {
        log_error("cannot resolve %s port %s: %s", name, port, gai_strerror(status));
        g_free(host);
        return -1;
    }
    int fd = -1;
    int last_errno = 0;
    for (struct addrinfo* entry = results; entry; entry = entry->ai_next) {
        fd = socket(entry->ai_family, entry->ai_socktype | SOCK_CLOEXEC, entry->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        if (connect(fd, entry->ai_addr, entry->ai_addrlen) == 0)
            break;
        last_errno = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(results);
    if (fd < 0) {
        log_error("cannot connect to tcp:%s: %s", endpoint, strerror(last_errno));
    } else {
        int one = 1;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
            log_error("warning: TCP_NODELAY: %s", strerror(errno));
    }
    g_free(host);
    return fd;
}

/* ---- main -------------------------------------------------------------------------------- */

static void on_signal(int number)
{
    unsigned char byte = (unsigned char)number;
    int saved = errno;
    if (write(signal_pipe[1], &byte, 1) < 0) {
        /* nothing to do: a signal is already pending */
    }
    errno = saved;
}

static void usage(FILE* out)
{
    fprintf(out, "usage: libcacard-client --connect unix:PATH|tcp:HOST:PORT -e 'LIBCACARD OPTIONS' "
                 "[-v]\n"
                 "\n"
                 "Hosts libcacard's emulated card and connects it to a VSCard host.\n"
                 "  --connect, -c ENDPOINT  the host's socket\n"
                 "  -e OPTIONS              libcacard's options string, e.g.\n"
                 "                          db=\"sql:/tmp/db\" use_hw=no "
                 "soft=(,Test,CAC,,cert1,cert2,cert3)\n"
                 "  -v, --verbose           log every message on stderr\n"
                 "Prints \"ready\" once every reader is added and its card inserted.\n"
                 "Commands on stdin: insert [ID], remove [ID], list, quit.\n"
                 "Set G_MESSAGES_DEBUG=all for libcacard's own debug output.\n");
}

int main(int argc, char** argv)
{
    const char* endpoint = NULL;
    const char* emul_args = NULL;
    for (int i = 1; i < argc; ++i) {
        const char* argument = argv[i];
        if ((strcmp(argument, "--connect") == 0 || strcmp(argument, "-c") == 0) && i + 1 < argc) {
            endpoint = argv[++i];
        } else if (strncmp(argument, "--connect=", 10) == 0) {
            endpoint = argument + 10;
        } else if (strcmp(argument, "-e") == 0 && i + 1 < argc) {
            emul_args = argv[++i];
        } else if (strcmp(argument, "-v") == 0 || strcmp(argument, "--verbose") == 0) {
            verbose = true;
        } else if (strcmp(argument, "-h") == 0 || strcmp(argument, "--help") == 0) {
            usage(stdout);
            vcard_emul_usage();
            return EXIT_SUCCESS;
        } else {
            log_error("unexpected argument \"%s\"", argument);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!endpoint || !emul_args) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strncmp(endpoint, "unix:", 5) != 0 && strncmp(endpoint, "tcp:", 4) != 0) {
        log_error("the endpoint must be unix:PATH or tcp:HOST:PORT, not \"%s\"", endpoint);
        return EXIT_USAGE;
    }

    /* GLib prints debug and info messages (libcacard's, with G_MESSAGES_DEBUG) on stdout by
     * default; stdout carries "ready" and the command replies. */
#if GLIB_CHECK_VERSION(2, 68, 0)
    g_log_writer_default_set_use_stderr(TRUE);
#endif

    /* libcacard first: a broken options string or database needs no host to be reported. */
    VCardEmulOptions* options = vcard_emul_options(emul_args);
    if (!options) {
        log_error("libcacard rejected the options string (its message is above): %s", emul_args);
        vcard_emul_usage();
        return EXIT_USAGE;
    }
    if (vcard_emul_init(options) != VCARD_EMUL_OK) {
        log_error("vcard_emul_init failed: no usable NSS database, or none of the certificates "
                  "named in soft=(...) found in it (options: %s)",
                  emul_args);
        return EXIT_LIBCACARD;
    }
    VReaderList* list = vreader_get_reader_list();
    for (VReaderListEntry* entry = vreader_list_get_first(list); entry;
         entry = vreader_list_get_next(entry)) {
        VReader* vreader = vreader_list_get_reader(entry);
        track_reader(vreader, true);
        vreader_free(vreader);
    }
    vreader_list_delete(list);
    if (reader_count == 0)
        log_error("warning: libcacard created no reader (yet)");

    if (pipe2(event_pipe, O_CLOEXEC) != 0 || pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        log_error("pipe: %s", strerror(errno));
        return EXIT_IO;
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (strncmp(endpoint, "unix:", 5) == 0) {
        sock = connect_unix(endpoint + 5);
    } else {
        is_tcp = true;
        sock = connect_tcp(endpoint + 4);
    }
    if (sock < 0)
        return EXIT_IO;

    /* The events libcacard queued during vcard_emul_init are waiting for this thread. */
    event_thread = g_thread_new("libcacard-events", event_thread_main, NULL);

    unsigned char init[12];
    memcpy(init, "VSCD", 4);
    put_be32(init + 4, PROTOCOL_VERSION);
    put_be32(init + 8, 0); /* capability word 0: nothing beyond QEMU's protocol */
    send_message(MSG_INIT, UNDEFINED_READER_ID, init, sizeof init);

    bool stdin_open = true;
    for (;;) {
        struct pollfd fds[4] = {
            {.fd = sock, .events = POLLIN},
            {.fd = event_pipe[0], .events = POLLIN},
            {.fd = signal_pipe[0], .events = POLLIN},
            {.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN},
        };
        if (poll(fds, 4, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_error("poll: %s", strerror(errno));
            finish(EXIT_IO);
        }
        if (fds[2].revents) {
            if (verbose)
                log_error("signal received, exiting");
            finish(EXIT_SUCCESS);
        }
        if (fds[1].revents & POLLIN) {
            VEvent* event = NULL;
            if (read(event_pipe[0], &event, sizeof event) == (ssize_t)sizeof event && event)
                handle_event(event);
        }
        if (fds[0].revents)
            read_socket();
        if (fds[3].revents)
            stdin_open = read_stdin();
    }
}
