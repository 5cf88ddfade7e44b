// libcacard's options string parser: arbitrary text must parse or fail with a message that
// points inside the text.
#include "vscard/cacard/emul_options.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto parsed = vscard::cacard::parseEmulOptions(text);
    if (parsed) {
        for (const auto& card : parsed->softCards) {
            if (card.certificates.empty() ||
                card.certificates.size() > vscard::cacard::kMaxCertificatesPerCard)
                std::abort();
        }
    } else if (parsed.error().message.empty() || parsed.error().offset > size) {
        std::abort();
    }
    return 0;
}
