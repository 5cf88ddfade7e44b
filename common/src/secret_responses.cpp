#include "vscard/secret_responses.h"

#include "vscard/apdu.h"

namespace vscard::trace {

namespace {

constexpr std::uint8_t kGetResponse = 0xC0;

} // namespace

void SecretResponses::command(std::uint32_t channel, ByteView commandApdu)
{
    const auto found = secretExchanges_.find(channel);
    const bool chainIsSecret = found != secretExchanges_.end() && found->second.chainIsSecret;
    // Anything but GET RESPONSE ends a chain: the card drops what it had not sent yet.
    const bool answerIsSecret =
        commandApdu.size() >= 4 &&
        ((chainIsSecret && commandApdu[1] == kGetResponse) ||
         commandAnswersWithSecret(commandApdu[0], commandApdu[1], commandApdu[2], commandApdu[3]));
    if (answerIsSecret)
        secretExchanges_[channel] = Exchange{true, false};
    else if (found != secretExchanges_.end())
        secretExchanges_.erase(found);
}

Secrecy SecretResponses::response(std::uint32_t channel, ByteView responseApdu)
{
    const auto found = secretExchanges_.find(channel);
    if (found == secretExchanges_.end())
        return Secrecy::Public;
    Exchange& exchange = found->second;
    if (!exchange.answerIsSecret) { // an answer without a command: the chain is over
        secretExchanges_.erase(found);
        return Secrecy::Public;
    }
    const std::size_t size = responseApdu.size();
    if (size >= 2 && StatusWord(responseApdu[size - 2], responseApdu[size - 1]).hasMoreData())
        exchange = Exchange{false, true};
    else
        secretExchanges_.erase(found);
    return Secrecy::Secret;
}

Secrecy SecretResponses::awaited(std::uint32_t channel) const
{
    const auto found = secretExchanges_.find(channel);
    return found != secretExchanges_.end() && found->second.answerIsSecret ? Secrecy::Secret
                                                                           : Secrecy::Public;
}

void SecretResponses::forget(std::uint32_t channel)
{
    secretExchanges_.erase(channel);
}

} // namespace vscard::trace
