// The --policy file parser: arbitrary text must parse or fail with a line inside the text, and
// a parsed policy must decide for any peer without failing.
#include "vscard/policy/access_policy.h"

#include <algorithm>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto parsed = vscard::policy::AccessPolicy::parse(text);
    if (!parsed) {
        const auto lines = 1 + std::count(text.begin(), text.end(), '\n');
        if (parsed.error().message.empty() || parsed.error().line < 1 ||
            parsed.error().line > lines)
            std::abort();
        return 0;
    }
    vscard::policy::PeerIdentity peer;
    peer.subject = {{"O", "Example"}, {"CN", "alice"}};
    peer.sha256 = std::string(text.substr(0, std::min<std::size_t>(text.size(), 95)));
    peer.uid = 1000;
    peer.userName = "alice";
    peer.address = "::ffff:192.0.2.7";
    const auto decision = parsed->decide(peer);
    if (decision.allowed && decision.line < 1)
        std::abort();
    for (const auto& rule : parsed->rules())
        (void)rule.grant.allowsName(text);
    return 0;
}
