#include "device_name.h"

#include <charconv>

namespace vscard::ifd {

Result<DeviceName, std::string> DeviceName::parse(std::string_view text)
{
    DeviceName name;
    const std::size_t colon = text.find(':');
    name.socketPath = std::string(text.substr(0, colon));
    if (name.socketPath.empty())
        return fail("DEVICENAME \"" + std::string(text) + "\" names no socket path");
    if (colon == std::string_view::npos)
        return name;
    std::string_view options = text.substr(colon + 1);
    while (!options.empty()) {
        const std::size_t comma = options.find(',');
        const std::string_view option = options.substr(0, comma);
        options = comma == std::string_view::npos ? std::string_view() : options.substr(comma + 1);
        if (option.empty())
            continue;
        if (option.substr(0, 6) != "slots=")
            return fail("DEVICENAME option \"" + std::string(option) + "\" is unknown (slots=N)");
        const std::string_view value = option.substr(6);
        unsigned slots = 0;
        const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), slots);
        if (error != std::errc() || end != value.data() + value.size() || slots < 1 ||
            slots > kMaxSlots)
            return fail("DEVICENAME slots=" + std::string(value) + ": expected 1 to 16");
        name.slots = slots;
    }
    return name;
}

} // namespace vscard::ifd
