// What this component is built against; reported by the demo until the client exists.
#pragma once

#include <string>

namespace vscard::client {
std::string buildSummary();
}
