#include "vscard/cacard/cac_card.h"

#include "cac_applets.h"
#include "vscard/apdu.h"

#include <algorithm>

namespace vscard::cacard {

namespace {

Bytes status(std::uint16_t sw)
{
    return {static_cast<std::uint8_t>(sw >> 8), static_cast<std::uint8_t>(sw)};
}

} // namespace

Bytes cardIdentity(CardKeys& keys)
{
    // libcacard gives every card the same identifier; we hash the card's certificates.
    Bytes all;
    for (std::size_t i = 0; i < keys.certificateCount(); ++i)
        all.insert(all.end(), keys.certificate(i).begin(), keys.certificate(i).end());
    Bytes digest = keys.sha256(all);
    digest.resize(14);
    return digest;
}

namespace {

// Instructions libcacard's card answers 6900 when no applet took them.
bool isRefusedInstruction(std::uint8_t ins)
{
    switch (ins) {
    case 0x70:
    case 0x82:
    case 0x84:
    case 0x88:
    case 0x0E:
    case 0xB0:
    case 0xD0:
    case 0xD6:
    case 0xB2:
    case 0xD2:
    case 0xDC:
    case 0xE2:
    case 0xC2:
    case 0xDA: return true;
    default: return false;
    }
}

} // namespace

CacCard::CacCard(std::unique_ptr<CardKeys> keys, std::unique_ptr<PinRetryState> pin)
    : keys_(std::move(keys)), pin_(std::move(pin)), cardId_(cardIdentity(*keys_)),
      applets_(makeCacApplets(*keys_, cardId_))
{
}

CacCard::~CacCard() = default;

const Bytes& CacCard::atr()
{
    static const Bytes atr = {0x3B, 0x7A, 0x18, 0x00, 0x00, 0x73, 0x66, 0x74,
                              0x65, 0x20, 0x63, 0x64, 0x31, 0x34, 0x34};
    return atr;
}

std::string CacCard::serial() const
{
    static const char digits[] = "0123456789abcdef";
    std::string text;
    for (std::uint8_t byte : cardId_) {
        text.push_back(digits[byte >> 4]);
        text.push_back(digits[byte & 0x0F]);
    }
    return text;
}

void CacCard::reset()
{
    selected_.fill(nullptr);
    pending_.clear();
    keys_->logout();
}

Bytes CacCard::respond(Bytes data, std::uint32_t ne, std::uint16_t sw)
{
    return pending_.respond(std::move(data), ne, sw);
}

Bytes CacCard::process(ByteView bytes)
{
    const auto parsed = CommandApdu::parse(bytes);
    if (!parsed)
        return status(0x6700);
    const CommandApdu& command = *parsed;
    if (command.ins() != 0xC0)
        pending_.clear();
    // Logical channels exist in the interindustry and the CAC classes, as libcacard sees it.
    const std::uint8_t type = command.cla() & 0xF0;
    const bool channelled = type == 0x00 || type == 0x80 || type == 0x90 || type == 0xA0;
    const std::size_t channel = channelled ? command.cla() & 0x03 : 0;
    if (command.ins() == 0x84 && command.p1() == 0x00 && command.p2() == 0x00 && channelled)
        return getChallenge(command);
    if (CacApplet* applet = selected_[channel]) {
        if (auto answer = applet->process(*this, command))
            return *answer;
    }
    return processWithoutApplet(command, channel);
}

Bytes CacCard::processWithoutApplet(const CommandApdu& command, std::size_t channel)
{
    const std::uint8_t type = command.cla() & 0xF0;
    const bool iso = type == 0x00 || type == 0x80 || type == 0x90 || type == 0xA0;
    if (!iso)
        return status(0x6900);
    if ((command.cla() & 0x0E) != 0)
        return status(0x6882); // secure messaging
    if (isRefusedInstruction(command.ins()))
        return status(0x6900);
    switch (command.ins()) {
    case 0xA4: return select(command, channel);
    case 0x20: return verify(command);
    case 0xC0: return getResponse(command);
    default: return status(0x6900);
    }
}

Bytes CacCard::select(const CommandApdu& command, std::size_t channel)
{
    if (command.p1() != 0x04)
        return status(0x6A81);
    const auto found = std::find_if(applets_.begin(), applets_.end(), [&](const auto& applet) {
        return applet->aid() == command.data();
    });
    // As in libcacard, a SELECT that fails leaves nothing selected.
    selected_[channel] = found == applets_.end() ? nullptr : found->get();
    if (!selected_[channel])
        return status(0x6A82);
    selected_[channel]->reset();
    return respond(selected_[channel]->selectResponse(), command.ne());
}

Bytes CacCard::verify(const CommandApdu& command)
{
    if (command.p1() != 0x00 || command.p2() != 0x00)
        return status(0x6A00);
    const auto triesLeft = [this] { return pin_->counter().refusal(); };
    if (command.nc() == 0) { // the PIN status (ISO 7816-4: 63Cx only while one is needed)
        if (keys_->loggedIn() || !keys_->needsLogin())
            return status(0x9000);
        if (pin_->blocked())
            return status(0x6983);
        // A hardware token's own counter is unknown: "referenced data not found", as
        // libcacard says, until Windows' minidriver has read the Microsoft applet's object
        // and expects a count (libcacard then makes up 3; we give ours).
        if (!keys_->pinTriesAreOurs() && !windowsCompatibility_)
            return status(0x6A88);
        return triesLeft();
    }
    if (pin_->blocked())
        return status(0x6983);
    // CAC pads the PIN to 8 bytes with FF.
    Bytes pin = command.data();
    while (!pin.empty() && pin.back() == 0xFF)
        pin.pop_back();
    keys_->logout();
    switch (keys_->login(std::string(pin.begin(), pin.end()))) {
    case PinCheck::Accepted: pin_->recordSuccess(); return status(0x9000);
    case PinCheck::Rejected: pin_->recordFailure(); return triesLeft();
    case PinCheck::Unusable: break;
    }
    return status(0x6985);
}

Bytes CacCard::getChallenge(const CommandApdu& command)
{
    // libcacard refuses GET CHALLENGE (6D00 or 6900), so OpenSC's C_GenerateRandom fails on it;
    // a real CAC answers, and so do we.
    if (command.ne() == 0 || command.nc() != 0)
        return status(0x6700);
    Bytes challenge = keys_->random(command.ne());
    if (challenge.size() != command.ne())
        return status(0x6F00);
    return respond(std::move(challenge), command.ne());
}

Bytes CacCard::getResponse(const CommandApdu& command)
{
    return pending_.next(command.ne());
}

} // namespace vscard::cacard
