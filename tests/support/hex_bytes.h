// Byte vectors written as hex in test tables: fromHex("00 A4 04 00").
#pragma once

#include "vscard/bytes.h"
#include "vscard/trace.h"

#include <QByteArray>
#include <QMetaType>
#include <QString>
#include <QTest>

namespace vscard::test {

inline Bytes fromHex(const char* text)
{
    const QByteArray decoded = QByteArray::fromHex(QByteArray(text));
    return Bytes(decoded.begin(), decoded.end());
}

inline Bytes fromHex(const QString& text)
{
    return fromHex(text.toLatin1().constData());
}

inline Bytes concat(std::initializer_list<Bytes> parts)
{
    Bytes out;
    for (const auto& part : parts)
        out.insert(out.end(), part.begin(), part.end());
    return out;
}

} // namespace vscard::test

Q_DECLARE_METATYPE(vscard::Bytes)

namespace QTest {
// Failed comparisons of byte vectors print as hex.
template <>
inline char* toString(const vscard::Bytes& bytes)
{
    return qstrdup(vscard::trace::hex(bytes).c_str());
}
} // namespace QTest
