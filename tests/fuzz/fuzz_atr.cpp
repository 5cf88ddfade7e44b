// The ATR parser and everything derived from a parsed ATR.
#include "vscard/atr.h"

#include <cstdlib>

using namespace vscard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const ByteView bytes(data, size);
    const auto atr = Atr::parse(bytes);
    if (!atr) {
        if (atr.error().message.empty())
            std::abort();
        return 0;
    }
    if (atr->bytes() != Bytes(bytes.begin(), bytes.end()) || size > Atr::kMaxSize)
        std::abort();
    // Every byte belongs to exactly one field: TS, T0, interface bytes, historical bytes, TCK.
    std::size_t counted = 2 + atr->historicalBytes().size() + (atr->tck() ? 1 : 0);
    for (const auto& group : atr->interfaceGroups())
        counted += group.ta.has_value() + group.tb.has_value() + group.tc.has_value() +
                   group.td.has_value();
    if (counted != size || atr->offeredProtocols() == 0)
        std::abort();
    (void)atr->firstOfferedProtocol();
    (void)atr->fiDi();
    (void)atr->t1Ifsc();
    (void)atr->t1BwiCwi();
    (void)atr->t1UsesCrc();
    (void)atr->t0WaitingIntegerWi();
    (void)atr->describe();
    return 0;
}
