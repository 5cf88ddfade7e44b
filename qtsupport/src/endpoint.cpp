#include "vscard/qt/endpoint.h"

#include <QFileInfo>

namespace vscard {

Result<Endpoint, QString> Endpoint::parse(const QString& spec)
{
    Endpoint endpoint;
    if (spec.startsWith(QLatin1String("unix:"))) {
        endpoint.kind = Kind::Unix;
        if (spec.size() == 5)
            return fail(QStringLiteral("\"%1\": unix: needs a socket path").arg(spec));
        // Qt's local sockets take a name without a slash as a file in /tmp: a relative path
        // means the current directory here, as it does for every other file.
        endpoint.path = QFileInfo(spec.mid(5)).absoluteFilePath();
        return endpoint;
    }
    if (spec.startsWith(QLatin1String("tls:")))
        endpoint.kind = Kind::Tls;
    else if (!spec.startsWith(QLatin1String("tcp:")))
        return fail(
            QStringLiteral("\"%1\": expected tcp:HOST:PORT, tls:HOST:PORT or unix:PATH").arg(spec));
    const QString rest = spec.mid(4);
    const int colon = rest.lastIndexOf(QLatin1Char(':'));
    if (colon <= 0)
        return fail(QStringLiteral("\"%1\": expected %2:HOST:PORT").arg(spec, spec.left(3)));
    endpoint.host = rest.left(colon);
    if (endpoint.host.startsWith(QLatin1Char('[')) && endpoint.host.endsWith(QLatin1Char(']')))
        endpoint.host = endpoint.host.mid(1, endpoint.host.size() - 2);
    bool ok = false;
    const uint port = rest.mid(colon + 1).toUInt(&ok);
    if (!ok || port > 65535)
        return fail(QStringLiteral("\"%1\": the port must be a number from 0 to 65535").arg(spec));
    endpoint.port = static_cast<quint16>(port);
    return endpoint;
}

QString Endpoint::toString() const
{
    if (kind == Kind::Unix)
        return QStringLiteral("unix:") + path;
    const QString shownHost = host.contains(QLatin1Char(':')) ? "[" + host + "]" : host;
    return QStringLiteral("%1:%2:%3")
        .arg(kind == Kind::Tls ? QStringLiteral("tls") : QStringLiteral("tcp"), shownHost)
        .arg(port);
}

} // namespace vscard
