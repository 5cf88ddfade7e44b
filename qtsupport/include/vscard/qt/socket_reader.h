// The read loop every connection of the server shares: take what the socket has, feed the
// wire decoder, hand out each decoded item, stop at the first decoding error.
#pragma once

#include "vscard/bytes.h"

#include <QIODevice>
#include <QString>

namespace vscard {

// `stopped` is checked between items: a handler may close the connection.
template <typename Decoder, typename OnItem, typename OnError>
void readAndDecode(QIODevice& socket, Decoder& decoder, const bool& stopped, OnItem&& onItem,
                   OnError&& onError)
{
    while (!stopped && socket.bytesAvailable() > 0) {
        const QByteArray chunk = socket.read(64 * 1024);
        decoder.feed(ByteView(reinterpret_cast<const std::uint8_t*>(chunk.constData()),
                              static_cast<std::size_t>(chunk.size())));
        while (!stopped) {
            auto next = decoder.next();
            if (!next)
                break;
            if (!*next) {
                onError(QString::fromStdString(next->error().message));
                return;
            }
            onItem(**next);
        }
    }
}

} // namespace vscard
