// Fault points, for the tests that prove code running in someone else's process (the pcscd
// driver, libcacard.so.0) never lets an exception escape. Only test builds of those libraries
// define VSCARD_FAULT_INJECTION (libifd-vscard-faults.so, libcacard-faults.so); everywhere
// else a fault point compiles to nothing.
//
// In a test build, the first pass through the fault point SITE after SITE was armed throws
// std::bad_alloc, the failure any allocation may raise; later passes go through, so a test can
// check that the call after the fault works, then arm the next site. A site is armed by
// VSCARD_FAULT=SITE, or by writing SITE into the file VSCARD_FAULT_FILE names, which is read
// on every pass: how a test re-arms while the library's own threads run (changing the
// environment then would race with their getenv). VSCARD_FAULT_LOG=FILE appends the name of
// each site that fired to FILE: how a test knows that a fault on another thread, or in a
// function that returns nothing, really happened.
//
// The guards of those libraries are fault points themselves, named after the function they
// guard: arming a function's name proves that all of it runs inside its guard.
#pragma once

#ifdef VSCARD_FAULT_INJECTION
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#endif

namespace vscard {

#ifdef VSCARD_FAULT_INJECTION
namespace fault_detail {

inline std::string armedSite()
{
    if (const char* path = std::getenv("VSCARD_FAULT_FILE")) {
        std::string site;
        if (std::FILE* file = std::fopen(path, "r")) {
            char line[256];
            if (std::fgets(line, sizeof line, file))
                site.assign(line, std::strcspn(line, "\n"));
            std::fclose(file);
        }
        return site;
    }
    const char* armed = std::getenv("VSCARD_FAULT");
    return armed ? armed : "";
}

} // namespace fault_detail

inline void faultPoint(const char* site)
{
    static std::mutex mutex;
    static std::string firedAt; // each site fires once, however often it is armed again
    std::lock_guard lock(mutex);
    if (fault_detail::armedSite() != site)
        return;
    if (firedAt.find(std::string(site) + '\n') != std::string::npos)
        return;
    firedAt += std::string(site) + '\n';
    if (const char* log = std::getenv("VSCARD_FAULT_LOG"))
        if (std::FILE* file = std::fopen(log, "a")) {
            std::fprintf(file, "%s\n", site);
            std::fclose(file);
        }
    throw std::bad_alloc();
}
#else
inline void faultPoint(const char*) noexcept {}
#endif

} // namespace vscard
