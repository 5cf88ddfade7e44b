// The driver's log: one line to stderr, which pcscd shows when run in the foreground (-f).
#pragma once

namespace vscard::ifd {

[[gnu::format(printf, 1, 2)]] void log(const char* format, ...);

} // namespace vscard::ifd
