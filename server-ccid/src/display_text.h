// Text a client chose (reader names, certificate subjects), made safe to show: it must never
// start a line of its own, close a quotation early or reorder what follows, which would let
// it pass for output of ours (a forged --list line, a forged log event).
#pragma once

#include <QString>

namespace vscard::server {

// Control characters (C0, DEL, C1), line and paragraph separators and bidirectional
// overrides as \xNN or \uNNNN; everything else unchanged.
QString escapeControls(const QString& text);

// "text" with the escapes above, and \" and \\ for quotes and backslashes.
QString quoted(const QString& text);

} // namespace vscard::server
