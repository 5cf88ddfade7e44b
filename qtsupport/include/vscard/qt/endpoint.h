// Where a server listens or a client connects: "tcp:HOST:PORT", "tls:HOST:PORT" (TCP with
// TLS) or "unix:PATH".
#pragma once

#include "vscard/result.h"

#include <QString>

namespace vscard {

struct Endpoint {
    enum class Kind { Tcp, Tls, Unix };
    Kind kind = Kind::Tcp;
    QString host; // tcp, tls: a name or an address; IPv6 without the brackets of the spec
    quint16 port = 0;
    QString path; // unix

    // "tcp:127.0.0.1:2001", "tcp:[::1]:2001", "tls:host.example:2002",
    // "unix:/run/vscard/vscard.sock"
    static Result<Endpoint, QString> parse(const QString& spec);
    QString toString() const;
    bool isNetwork() const { return kind != Kind::Unix; }
};

} // namespace vscard
