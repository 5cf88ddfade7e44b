#include "driver_log.h"

#include <cstdarg>
#include <cstdio>

namespace vscard::ifd {

void log(const char* format, ...)
{
    char line[512];
    va_list arguments;
    va_start(arguments, format);
    std::vsnprintf(line, sizeof line, format, arguments);
    va_end(arguments);
    std::fprintf(stderr, "ifd-vscard: %s\n", line);
}

} // namespace vscard::ifd
