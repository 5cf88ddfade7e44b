/* libbench-nodelay.so: preloaded into pcscd, sets TCP_NODELAY on every TCP socket its drivers
 * connect or accept, to measure vsmartcard's vpcd without Nagle's algorithm (stock vpcd leaves
 * it on, and each APDU then waits for a delayed ACK). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static void noDelay(int fd)
{
    int one = 1;
    int type = 0;
    socklen_t length = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0 && type == SOCK_STREAM)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails on Unix sockets */
}

int connect(int fd, const struct sockaddr* address, socklen_t length)
{
    static int (*real)(int, const struct sockaddr*, socklen_t);
    if (!real)
        real = (int (*)(int, const struct sockaddr*, socklen_t))dlsym(RTLD_NEXT, "connect");
    int result = real(fd, address, length);
    if (address && (address->sa_family == AF_INET || address->sa_family == AF_INET6))
        noDelay(fd);
    return result;
}

int accept(int fd, struct sockaddr* address, socklen_t* length)
{
    static int (*real)(int, struct sockaddr*, socklen_t*);
    if (!real)
        real = (int (*)(int, struct sockaddr*, socklen_t*))dlsym(RTLD_NEXT, "accept");
    int result = real(fd, address, length);
    if (result >= 0)
        noDelay(result);
    return result;
}
