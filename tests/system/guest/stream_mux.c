/* stream-mux: many TCP connections through one byte channel, so that a guest reaches a host
 * service over a QEMU chardev (a virtio-serial port) and never over a network.
 *
 *   stream-mux guest PORT DEVICE      in the guest: accepts on 127.0.0.1:PORT, one stream per
 *                                     connection, all of them over DEVICE (/dev/vport0p1)
 *   stream-mux host CHANNEL TARGET    on the host: connects to CHANNEL (QEMU's chardev server,
 *                                     PORT on 127.0.0.1), and for each stream the guest opens
 *                                     connects to TARGET (PORT on 127.0.0.1)
 *
 * A virtio-serial port says nothing when the guest closes one of its connections, and each
 * `usbip` command opens a connection of its own, so the streams' opening and closing travel in
 * band: frames of a type ('O' open, 'D' data, 'C' close), a 16-bit stream number and a 16-bit
 * length, big-endian, then the data. Closing one side closes the other: a USB/IP detach in the
 * guest ends the host's connection, and the server unplugging a device ends the guest's. */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kMaxStreams = 32, kMaxPayload = 16384, kHeaderSize = 5 };

static int streams[kMaxStreams]; /* the local socket of each stream, -1 when free */
static int channel = -1;

static void die(const char* what)
{
    fprintf(stderr, "stream-mux: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int writeAll(int fd, const uint8_t* data, size_t size)
{
    while (size > 0) {
        ssize_t written = write(fd, data, size);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return -1;
        data += written;
        size -= (size_t)written;
    }
    return 0;
}

static int readAll(int fd, uint8_t* data, size_t size)
{
    while (size > 0) {
        ssize_t got = read(fd, data, size);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        data += got;
        size -= (size_t)got;
    }
    return 0;
}

/* One write per frame: a QEMU chardev without nodelay=on passes each write of the guest on as
 * a TCP segment of its own, and Nagle's algorithm would hold a payload written after its header
 * until the host's delayed ACK, 40 ms later. */
static void sendFrame(char type, int stream, const uint8_t* data, size_t size)
{
    static uint8_t frame[kHeaderSize + kMaxPayload];
    frame[0] = (uint8_t)type;
    frame[1] = (uint8_t)(stream >> 8);
    frame[2] = (uint8_t)stream;
    frame[3] = (uint8_t)(size >> 8);
    frame[4] = (uint8_t)size;
    if (size > 0)
        memcpy(frame + kHeaderSize, data, size);
    if (writeAll(channel, frame, kHeaderSize + size) != 0)
        die("writing to the channel");
}

static int connectLoopback(int port)
{
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_port = htons((uint16_t)port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    if (connect(fd, (struct sockaddr*)&address, sizeof address) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void closeStream(int stream, int tellPeer)
{
    if (streams[stream] < 0)
        return;
    close(streams[stream]);
    streams[stream] = -1;
    if (tellPeer)
        sendFrame('C', stream, NULL, 0);
    fprintf(stderr, "stream-mux: stream %d closed\n", stream);
}

/* One frame from the channel: data for a stream, its opening (host side) or its closing. */
static void readChannel(int isHost, int targetPort)
{
    uint8_t header[kHeaderSize];
    static uint8_t payload[kMaxPayload];
    if (readAll(channel, header, sizeof header) != 0) {
        fprintf(stderr, "stream-mux: the channel closed\n");
        exit(0);
    }
    int stream = (header[1] << 8) | header[2];
    size_t size = (size_t)((header[3] << 8) | header[4]);
    if (stream >= kMaxStreams || size > kMaxPayload || readAll(channel, payload, size) != 0) {
        fprintf(stderr, "stream-mux: bad frame on the channel\n");
        exit(1);
    }
    switch (header[0]) {
    case 'O':
        if (!isHost)
            break;
        closeStream(stream, 0);
        streams[stream] = connectLoopback(targetPort);
        if (streams[stream] < 0) {
            fprintf(stderr, "stream-mux: stream %d: cannot connect to port %d: %s\n", stream,
                    targetPort, strerror(errno));
            sendFrame('C', stream, NULL, 0);
        } else {
            fprintf(stderr, "stream-mux: stream %d opened\n", stream);
        }
        break;
    case 'D':
        if (streams[stream] >= 0 && writeAll(streams[stream], payload, size) != 0)
            closeStream(stream, 1);
        break;
    case 'C': closeStream(stream, 0); break;
    default: fprintf(stderr, "stream-mux: unknown frame type %d\n", header[0]); exit(1);
    }
}

static int listenLoopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_port = htons((uint16_t)port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr*)&address, sizeof address) != 0 || listen(fd, 8) != 0)
        die("listening");
    return fd;
}

int main(int argc, char** argv)
{
    if (argc != 4 || (strcmp(argv[1], "guest") != 0 && strcmp(argv[1], "host") != 0)) {
        fprintf(stderr, "usage: stream-mux guest PORT DEVICE | stream-mux host CHANNEL TARGET\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    const int isHost = strcmp(argv[1], "host") == 0;
    int listener = -1;
    int targetPort = 0;
    for (int i = 0; i < kMaxStreams; ++i)
        streams[i] = -1;
    if (isHost) {
        /* QEMU may still be starting: try for 30 s. */
        for (int tries = 0; tries < 300 && channel < 0; ++tries) {
            channel = connectLoopback(atoi(argv[2]));
            if (channel < 0)
                usleep(100000);
        }
        if (channel < 0)
            die("connecting to the channel");
        targetPort = atoi(argv[3]);
    } else {
        channel = open(argv[3], O_RDWR | O_CLOEXEC);
        if (channel < 0)
            die(argv[3]);
        listener = listenLoopback(atoi(argv[2]));
    }
    fprintf(stderr, "stream-mux: %s side ready\n", argv[1]);
    fflush(stderr);
    for (;;) {
        struct pollfd fds[kMaxStreams + 2];
        int owners[kMaxStreams + 2];
        nfds_t count = 0;
        fds[count] = (struct pollfd){.fd = channel, .events = POLLIN};
        owners[count++] = -1;
        if (listener >= 0) {
            fds[count] = (struct pollfd){.fd = listener, .events = POLLIN};
            owners[count++] = -2;
        }
        for (int i = 0; i < kMaxStreams; ++i) {
            if (streams[i] >= 0) {
                fds[count] = (struct pollfd){.fd = streams[i], .events = POLLIN};
                owners[count++] = i;
            }
        }
        if (poll(fds, count, -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        for (nfds_t k = 0; k < count; ++k) {
            if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (owners[k] == -1) {
                readChannel(isHost, targetPort);
            } else if (owners[k] == -2) {
                /* Stream numbers rotate: a number just closed is not reused while frames
                 * for it may still be on their way from the other side. */
                static int nextStream = 0;
                int accepted = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
                int stream = -1;
                for (int tried = 0; tried < kMaxStreams && stream < 0; ++tried) {
                    int candidate = (nextStream + tried) % kMaxStreams;
                    if (streams[candidate] < 0)
                        stream = candidate;
                }
                if (accepted < 0)
                    continue;
                if (stream < 0) {
                    close(accepted);
                    continue;
                }
                nextStream = (stream + 1) % kMaxStreams;
                int one = 1;
                setsockopt(accepted, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                streams[stream] = accepted;
                sendFrame('O', stream, NULL, 0);
                fprintf(stderr, "stream-mux: stream %d opened\n", stream);
            } else if (streams[owners[k]] == fds[k].fd) {
                static uint8_t buffer[kMaxPayload];
                ssize_t got = read(fds[k].fd, buffer, sizeof buffer);
                if (got > 0)
                    sendFrame('D', owners[k], buffer, (size_t)got);
                else if (got == 0 || errno != EINTR)
                    closeStream(owners[k], 1);
            }
            fflush(stderr);
        }
    }
}
