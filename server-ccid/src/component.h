// What this component is built against; reported by the demo until the server exists.
#pragma once

#include <string>

namespace vscard::server {
std::string buildSummary();
}
