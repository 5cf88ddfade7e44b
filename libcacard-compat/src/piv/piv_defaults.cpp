#include "piv_defaults.h"

#include "piv_crypto.h"
#include "piv_objects.h"

namespace vscard::cacard::piv {

const Bytes& factoryManagementKey()
{
    static const Bytes key = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                              5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
    return key;
}

Bytes paddedReferenceData(std::string_view value)
{
    Bytes padded(value.begin(), value.end());
    padded.resize(8, 0xFF);
    return padded;
}

Result<Credential, std::string> makeCredential(ByteView padded, std::uint8_t maxTries,
                                               std::string_view factoryValue)
{
    auto salt = randomBytes(16);
    if (!salt)
        return fail(salt.error());
    auto hash = secretHash(padded, *salt);
    if (!hash)
        return fail(hash.error());
    const Bytes factory = paddedReferenceData(factoryValue);
    return Credential{std::move(salt).value(), std::move(hash).value(), RetryCounter(maxTries),
                      equalInConstantTime(padded, factory)};
}

Result<CardState, std::string> factoryState(std::optional<std::uint32_t> serial,
                                            std::uint8_t pinTries, std::uint8_t pukTries)
{
    CardState state;
    if (serial) {
        state.serial = *serial;
    } else {
        // Eight decimal digits at most, never 0: what tools print and users type.
        for (state.serial = 0; state.serial == 0;) {
            auto random = randomBytes(4);
            if (!random)
                return fail(random.error());
            state.serial = readBigEndian32(*random, 0) % 100000000u;
        }
    }
    auto pin = makeCredential(paddedReferenceData(kFactoryPin), pinTries, kFactoryPin);
    auto puk = makeCredential(paddedReferenceData(kFactoryPuk), pukTries, kFactoryPuk);
    if (!pin || !puk)
        return fail(!pin ? pin.error() : puk.error());
    state.pin = std::move(pin).value();
    state.puk = std::move(puk).value();
    state.management = {Algorithm::TripleDes, factoryManagementKey(), TouchPolicy::Never, true};
    auto guid = randomBytes(16);
    auto cardIdentifier = randomBytes(14);
    if (!guid || !cardIdentifier)
        return fail(std::string("no random bytes for the card's identity"));
    addFactoryObjects(state, *guid, *cardIdentifier);
    return state;
}

} // namespace vscard::cacard::piv
