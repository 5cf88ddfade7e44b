#include "component.h"

#include <QtGlobal>

namespace vscard::server {

std::string buildSummary()
{
    return std::string("server-ccid core (Qt ") + qVersion() + ")";
}

} // namespace vscard::server
