// libcacard's options parser through the C API, as QEMU's ccid-card-emulated reaches it:
// any string gives an options structure or NULL, never a crash or a hang.
extern "C" {
#include "vcard_emul.h"
}

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    // The parser explains every refusal on stderr; millions of them are noise.
    if (!std::freopen("/dev/null", "w", stderr))
        std::abort();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string text(reinterpret_cast<const char*>(data), size);
    VCardEmulOptions* first = vcard_emul_options(text.c_str());
    // One structure, overwritten by each call, as libcacard: the same pointer or NULL.
    VCardEmulOptions* second = vcard_emul_options(text.c_str());
    if ((first == nullptr) != (second == nullptr) || (first && first != second))
        std::abort();
    return 0;
}
