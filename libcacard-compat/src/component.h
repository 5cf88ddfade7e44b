// What this component is built against; reported by the demo until the emulator exists.
#pragma once

#include <string>

namespace vscard::cacard {
std::string buildSummary();
}
