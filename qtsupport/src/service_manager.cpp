#include "vscard/qt/service_manager.h"

#include <QHostAddress>
#include <QtDebug>

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace vscard::service {

namespace {

constexpr int kFirstInheritedFd = 3; // SD_LISTEN_FDS_START

std::optional<Endpoint> listeningEndpoint(int fd)
{
    int type = 0;
    socklen_t typeLength = sizeof type;
    int listening = 0;
    socklen_t listeningLength = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &typeLength) != 0 || type != SOCK_STREAM ||
        ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &listeningLength) != 0 ||
        !listening)
        return std::nullopt;
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
        return std::nullopt;
    Endpoint endpoint;
    switch (address.ss_family) {
    case AF_INET: {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&address);
        endpoint.host = QHostAddress(ntohl(in->sin_addr.s_addr)).toString();
        endpoint.port = ntohs(in->sin_port);
        return endpoint;
    }
    case AF_INET6: {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address);
        endpoint.host = QHostAddress(reinterpret_cast<const quint8*>(&in6->sin6_addr)).toString();
        endpoint.port = ntohs(in6->sin6_port);
        return endpoint;
    }
    case AF_UNIX: {
        const auto* un = reinterpret_cast<const sockaddr_un*>(&address);
        const auto pathLength = length - offsetof(sockaddr_un, sun_path);
        if (pathLength == 0 || un->sun_path[0] == '\0')
            return std::nullopt; // unnamed or abstract: nothing to name it by
        endpoint.kind = Endpoint::Kind::Unix;
        endpoint.path = QString::fromLocal8Bit(un->sun_path, qstrnlen(un->sun_path, pathLength));
        return endpoint;
    }
    default: return std::nullopt;
    }
}

std::optional<QHostAddress> hostAddress(const QString& host)
{
    if (host == QLatin1String("localhost"))
        return QHostAddress(QHostAddress::LocalHost);
    QString bare = host;
    if (bare.startsWith(QLatin1Char('[')) && bare.endsWith(QLatin1Char(']')))
        bare = bare.mid(1, bare.size() - 2);
    QHostAddress address;
    if (!address.setAddress(bare))
        return std::nullopt;
    return address;
}

} // namespace

bool notify(const QByteArray& state)
{
    const QByteArray path = qgetenv("NOTIFY_SOCKET");
    if (path.isEmpty())
        return false;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (static_cast<std::size_t>(path.size()) >= sizeof address.sun_path) {
        qWarning("NOTIFY_SOCKET is longer than a socket path can be");
        return false;
    }
    std::memcpy(address.sun_path, path.constData(), static_cast<std::size_t>(path.size()));
    if (address.sun_path[0] == '@')
        address.sun_path[0] = '\0'; // the abstract namespace
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) +
                                               static_cast<std::size_t>(path.size()));
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    const ssize_t sent =
        ::sendto(fd, state.constData(), static_cast<std::size_t>(state.size()), MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&address), length);
    const int sendError = errno;
    ::close(fd);
    if (sent != state.size()) {
        qWarning("cannot notify the service manager on %s: %s", path.constData(),
                 std::strerror(sendError));
        return false;
    }
    return true;
}

QList<InheritedSocket> takeInheritedSockets()
{
    const QByteArray pid = qgetenv("LISTEN_PID");
    const QByteArray count = qgetenv("LISTEN_FDS");
    const QList<QByteArray> names = qgetenv("LISTEN_FDNAMES").split(':');
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    bool ok = false;
    if (pid.toLongLong(&ok) != ::getpid() || !ok)
        return {};
    const int fds = count.toInt(&ok);
    if (!ok || fds <= 0)
        return {};
    QList<InheritedSocket> sockets;
    for (int i = 0; i < fds; ++i) {
        const int fd = kFirstInheritedFd + i;
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        const auto endpoint = listeningEndpoint(fd);
        const QString name =
            i < names.size() && !names[i].isEmpty() ? QString::fromUtf8(names[i]) : "unknown";
        if (!endpoint) {
            qWarning().noquote() << "ignoring inherited socket" << fd << "(" << name
                                 << "): not a listening TCP or Unix stream socket";
            ::close(fd);
            continue;
        }
        sockets.append({fd, name, *endpoint});
    }
    return sockets;
}

bool sameEndpoint(const Endpoint& a, const Endpoint& b)
{
    if (a.kind != b.kind)
        return false;
    if (a.kind == Endpoint::Kind::Unix)
        return a.path == b.path;
    const auto left = hostAddress(a.host);
    const auto right = hostAddress(b.host);
    return a.port == b.port && left && right && left->isEqual(*right);
}

} // namespace vscard::service
