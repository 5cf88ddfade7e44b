#include "component.h"

#include <nss.h>

namespace vscard::cacard {

std::string buildSummary()
{
    // The runtime version, not the header's: NSS is a shared library that may be newer.
    return std::string("libcacard-compat core (NSS ") + NSS_GetVersion() + ")";
}

} // namespace vscard::cacard
