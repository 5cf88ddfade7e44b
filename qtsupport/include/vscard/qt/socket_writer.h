// Writing a whole message to a stream socket now: Qt's sockets buffer a write and send it on the
// next pass of the event loop, a delay every hop of an APDU's round trip pays. A message goes out
// in the same pass; what the kernel cannot take stays in Qt's buffer as before.
#pragma once

#include "vscard/bytes.h"

#include <QAbstractSocket>
#include <QIODevice>
#include <QLocalSocket>

namespace vscard {

// Returns what QIODevice::write returned.
inline qint64 writeNow(QIODevice& socket, ByteView bytes)
{
    const qint64 written = socket.write(reinterpret_cast<const char*>(bytes.data()),
                                        static_cast<qint64>(bytes.size()));
    if (auto* tcp = qobject_cast<QAbstractSocket*>(&socket))
        tcp->flush();
    else if (auto* local = qobject_cast<QLocalSocket*>(&socket))
        local->flush();
    return written;
}

} // namespace vscard
