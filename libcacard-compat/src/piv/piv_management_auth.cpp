#include "piv_management_auth.h"

#include "piv_crypto.h"

namespace vscard::cacard::piv {

namespace {

constexpr std::uint32_t kWitness = 0x80;
constexpr std::uint32_t kChallenge = 0x81;
constexpr std::uint32_t kResponse = 0x82;

Bytes dynamicTemplate(std::uint32_t tag, ByteView value)
{
    return encodeBerTlv(0x7C, encodeBerTlv(tag, value));
}

} // namespace

ManagementAuthentication::Answer ManagementAuthentication::step(const ManagementKey& key,
                                                                const std::vector<BerTlv>& members)
{
    const std::size_t block = symmetricBlockBytes(key.algorithm);
    const BerTlv* witness = findBerTlv(members, kWitness);
    const BerTlv* challenge = findBerTlv(members, kChallenge);
    const BerTlv* response = findBerTlv(members, kResponse);
    // Any step starts again from nothing: a failed or abandoned exchange leaves no half-state.
    const std::optional<Bytes> expectedWitness = std::move(witness_);
    const std::optional<Bytes> expectedChallenge = std::move(challenge_);
    witness_.reset();
    challenge_.reset();
    authenticated_ = false;

    if (witness && witness->value.empty() && !challenge && !response) { // mutual, step 1
        auto plain = randomBytes(block);
        auto sealed = plain ? blockEncrypt(key.algorithm, key.key, *plain) : fail(plain.error());
        if (!sealed)
            return {0x6F00, {}};
        witness_ = std::move(plain).value();
        return {0x9000, dynamicTemplate(kWitness, *sealed)};
    }
    if (witness && challenge && !witness->value.empty()) { // mutual, step 2
        if (!expectedWitness || witness->value.size() != block || challenge->value.size() != block)
            return {expectedWitness ? std::uint16_t{0x6A80} : std::uint16_t{0x6985}, {}};
        if (!equalInConstantTime(witness->value, *expectedWitness))
            return {0x6982, {}};
        auto sealed = blockEncrypt(key.algorithm, key.key, challenge->value);
        if (!sealed)
            return {0x6F00, {}};
        authenticated_ = true;
        return {0x9000, dynamicTemplate(kResponse, *sealed)};
    }
    if (challenge && challenge->value.empty() && !witness && !response) { // external, step 1
        auto plain = randomBytes(block);
        if (!plain)
            return {0x6F00, {}};
        challenge_ = *plain;
        return {0x9000, dynamicTemplate(kChallenge, *plain)};
    }
    if (response && !response->value.empty() && !witness && !challenge) { // external, step 2
        if (!expectedChallenge)
            return {0x6985, {}};
        if (response->value.size() != block)
            return {0x6A80, {}};
        auto sealed = blockEncrypt(key.algorithm, key.key, *expectedChallenge);
        if (!sealed)
            return {0x6F00, {}};
        if (!equalInConstantTime(response->value, *sealed))
            return {0x6982, {}};
        authenticated_ = true;
        return {0x9000, {}};
    }
    return {0x6A80, {}};
}

} // namespace vscard::cacard::piv
