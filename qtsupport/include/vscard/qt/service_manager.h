// The two service-manager protocols a daemon needs, written by hand so that nothing links
// libsystemd: readiness and status notification (sd_notify(3): a datagram to $NOTIFY_SOCKET)
// and socket activation (sd_listen_fds(3): listening sockets from fd 3 on, $LISTEN_PID,
// $LISTEN_FDS, $LISTEN_FDNAMES). Both are no-ops where no service manager set them up.
#pragma once

#include "vscard/qt/endpoint.h"

#include <QByteArray>
#include <QList>
#include <QString>

#include <optional>

namespace vscard::service {

// Sends STATE ("READY=1", "STATUS=...", "RELOADING=1", "STOPPING=1", newline-separated) to
// the service manager. Returns false when $NOTIFY_SOCKET is unset or the send failed.
bool notify(const QByteArray& state);

struct InheritedSocket {
    int fd = -1;
    QString name;      // FileDescriptorName= of the socket unit; "unknown" when unnamed
    Endpoint endpoint; // where it listens (a TCP address is numeric, IPv6 without brackets)
};

// The listening sockets handed over when $LISTEN_PID names this process. Takes them once:
// the variables are removed so that programs started later do not claim them. Sockets that
// are neither TCP nor Unix stream sockets are closed and left out, with a warning.
QList<InheritedSocket> takeInheritedSockets();

// Whether two endpoints name the same place: the same Unix path, or the same TCP address
// ("localhost" is 127.0.0.1) and port.
bool sameEndpoint(const Endpoint& a, const Endpoint& b);

} // namespace vscard::service
