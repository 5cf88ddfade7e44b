// The reader.conf DEVICENAME of the vscard driver: "PATH:slots=N". The ':' part is what keeps
// pcscd from insisting that PATH exist when it starts (server-ccid may come up later).
#pragma once

#include "vscard/result.h"

#include <string>
#include <string_view>

namespace vscard::ifd {

struct DeviceName {
    static constexpr unsigned kDefaultSlots = 8;
    static constexpr unsigned kMaxSlots = 16; // pcscd holds at most 16 reader contexts

    std::string socketPath;
    unsigned slots = kDefaultSlots;

    static Result<DeviceName, std::string> parse(std::string_view text);
};

} // namespace vscard::ifd
