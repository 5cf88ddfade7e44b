// libcacard's options string parser: arbitrary text must parse or fail with a message that
// points inside the text, and what parses must be a card the factories can make.
#include "vscard/cacard/emul_options.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto parsed = vscard::cacard::parseEmulOptions(text);
    if (parsed) {
        for (const auto& card : parsed->softCards) {
            // A CAC has certificates; a PIV card may have none (a blank card), and its type
            // params are nothing or state= with a directory.
            const bool piv = card.type == "PIV";
            if ((!piv && card.certificates.empty()) ||
                card.certificates.size() > vscard::cacard::kMaxCertificatesPerCard)
                std::abort();
            if (piv && !card.typeParams.empty() &&
                (card.typeParams.rfind("state=", 0) != 0 || card.typeParams.size() == 6))
                std::abort();
        }
    } else if (parsed.error().message.empty() || parsed.error().offset > size) {
        std::abort();
    }
    return 0;
}
