#include "qemu_host.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string_view>

namespace vscard::capi {

namespace {

bool runningInQemu() noexcept
{
    char path[4096];
    const ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
    if (length <= 0)
        return false;
    const std::string_view executable(path, static_cast<std::size_t>(length));
    const std::string_view name = executable.substr(executable.rfind('/') + 1);
    return name.starts_with("qemu-system-") || name == "qemu-kvm";
}

bool runningInSpiceGtk() noexcept
{
    // spice-gtk links libcacard for its smart-card channel; its symbols are in the process.
    return dlsym(RTLD_DEFAULT, "spice_smartcard_manager_get") != nullptr;
}

} // namespace

bool answersReachQemuUsbCcid() noexcept
{
    static const bool reached = [] {
        if (const char* forced = std::getenv("VSCARD_LIBCACARD_QEMU_WORKAROUND"))
            return std::strcmp(forced, "0") != 0;
        return runningInQemu() || runningInSpiceGtk();
    }();
    return reached;
}

} // namespace vscard::capi
