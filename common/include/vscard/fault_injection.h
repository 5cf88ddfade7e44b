// Fault points, for the tests that prove code running in someone else's process (the pcscd
// driver, libcacard.so.0) never lets an exception escape. Only test builds of those libraries
// define VSCARD_FAULT_INJECTION (libifd-vscard-faults.so, libcacard-faults.so); everywhere
// else a fault point compiles to nothing.
//
// In a test build, VSCARD_FAULT=SITE makes the first pass through the fault point SITE throw
// std::bad_alloc, the failure any allocation may raise; later passes go through, so a test can
// check that the call after the fault works, then arm the next site.
#pragma once

#ifdef VSCARD_FAULT_INJECTION
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#endif

namespace vscard {

#ifdef VSCARD_FAULT_INJECTION
inline void faultPoint(const char* site)
{
    const char* armed = std::getenv("VSCARD_FAULT");
    if (!armed || std::strcmp(armed, site) != 0)
        return;
    static std::mutex mutex;
    static std::string firedAt; // each site fires once, however often it is armed again
    std::lock_guard lock(mutex);
    if (firedAt.find(std::string(site) + '\n') != std::string::npos)
        return;
    firedAt += std::string(site) + '\n';
    throw std::bad_alloc();
}
#else
inline void faultPoint(const char*) noexcept {}
#endif

} // namespace vscard
