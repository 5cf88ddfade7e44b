#include "vscard/cacard/soft_cards.h"

#include "vscard/trace.h"

#include <cctype>

namespace vscard::cacard {

std::string cardIdentityName(CardKeys& keys)
{
    std::string name;
    for (char c : trace::hex(cardIdentity(keys)))
        if (c != ' ')
            name.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    return name;
}

Result<SoftCards, std::string> makeSoftCards(std::string_view text, const CardSettings& settings)
{
    const auto options = parseEmulOptions(text);
    if (!options)
        return fail(options.error().message);
    if (options->softCards.empty() && options->useHardware == HardwareUse::No)
        return fail(std::string("no card: give soft=(...) or use_hw=yes|removable"));
    auto database = NssDatabase::open(options->nssDatabase.value_or(""));
    if (!database)
        return fail(database.error());
    SoftCards made;
    made.database = *database;
    made.hardwareUse = options->useHardware;
    made.hardwareParams = options->hardwareParams;
    for (const SoftCard& soft : options->softCards) {
        auto keys =
            NssCardKeys::open(*database, SoftCardSource{soft.certificates, soft.slotName, false});
        if (!keys)
            return fail(keys.error());
        std::string serial = cardIdentityName(**keys);
        auto pin = PinRetryState::open(settings.stateDirectory, serial, settings.pinTries);
        if (!pin)
            return fail(pin.error());
        made.cards.push_back(
            {soft.readerName.empty() ? std::string("Emulated CAC") : soft.readerName,
             std::make_unique<CacCard>(std::move(keys).value(), std::move(pin).value()),
             std::move(serial)});
    }
    return made;
}

} // namespace vscard::cacard
