#include "display_text.h"

namespace vscard::server {

namespace {

bool needsEscape(char16_t c)
{
    return c < 0x20 || (c >= 0x7F && c < 0xA0) // C0, DEL, C1
           || c == 0x2028 || c == 0x2029       // line and paragraph separators
           || (c >= 0x202A && c <= 0x202E)     // bidirectional embeddings and overrides
           || (c >= 0x2066 && c <= 0x2069);    // bidirectional isolates
}

void append(QString& out, QChar c)
{
    const char16_t code = c.unicode();
    if (!needsEscape(code))
        out += c;
    else if (code < 0x100)
        out += QStringLiteral("\\x%1").arg(code, 2, 16, QLatin1Char('0'));
    else
        out += QStringLiteral("\\u%1").arg(code, 4, 16, QLatin1Char('0'));
}

} // namespace

QString escapeControls(const QString& text)
{
    QString out;
    out.reserve(text.size());
    for (const QChar c : text)
        append(out, c);
    return out;
}

QString quoted(const QString& text)
{
    QString out;
    out.reserve(text.size() + 2);
    out += QLatin1Char('"');
    for (const QChar c : text) {
        if (c == QLatin1Char('"') || c == QLatin1Char('\\'))
            out += QLatin1Char('\\');
        append(out, c);
    }
    out += QLatin1Char('"');
    return out;
}

} // namespace vscard::server
