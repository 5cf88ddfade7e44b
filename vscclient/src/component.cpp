#include "component.h"

#include <pcsclite.h>

namespace vscard::client {

std::string buildSummary()
{
    return std::string("vscclient core (pcsc-lite headers ") + PCSCLITE_VERSION_NUMBER + ")";
}

} // namespace vscard::client
