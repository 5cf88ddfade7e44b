#include "vscard/cacard/soft_cards.h"

#include "vscard/trace.h"

#include <algorithm>
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

namespace {

// A reader name as a file name: what is not a letter, digit, '-' or '.' becomes '_'.
std::string fileNameOf(const std::string& name)
{
    std::string out;
    for (char c : name) {
        const auto byte = static_cast<unsigned char>(c);
        out.push_back(std::isalnum(byte) || c == '-' || c == '.' ? c : '_');
    }
    return out;
}

} // namespace

Result<std::unique_ptr<PivCard>, std::string>
makePivCard(const SoftCard& soft, const std::shared_ptr<NssDatabase>& database,
            const CardSettings& settings, bool skipMissing)
{
    const std::string readerName = soft.readerName.empty() ? "Emulated PIV" : soft.readerName;
    PivCardSettings piv;
    piv.notice = settings.notice;
    std::string identity = "piv-" + fileNameOf(readerName);
    if (!soft.certificates.empty()) {
        if (!database)
            return fail(std::string("no NSS database for the certificates"));
        auto keys = NssCardKeys::open(
            database, SoftCardSource{soft.certificates, soft.slotName, skipMissing});
        if (!keys)
            return fail(keys.error());
        if ((*keys)->certificateCount() == 0)
            return fail(std::string("none of the certificates is in the database"));
        identity = "piv-" + cardIdentityName(**keys);
        piv.databaseKeys = std::move(keys).value();
    }
    if (soft.typeParams.rfind("state=", 0) == 0)
        piv.stateDirectory = soft.typeParams.substr(6);
    else if (settings.stateDirectory)
        piv.stateDirectory = *settings.stateDirectory + "/" + identity;
    else if (settings.notice)
        settings.notice("PIV card \"" + readerName +
                        "\" has no state directory: what is generated on it or written to it "
                        "is forgotten at exit");
    auto card = PivCard::open(std::move(piv));
    if (!card)
        return fail("PIV card \"" + readerName + "\": " + card.error());
    return card;
}

Result<SoftCards, std::string> makeSoftCards(std::string_view text, const CardSettings& settings)
{
    const auto options = parseEmulOptions(text);
    if (!options)
        return fail(options.error().message);
    if (options->softCards.empty() && options->useHardware == HardwareUse::No)
        return fail(std::string("no card: give soft=(...) or use_hw=yes|removable"));
    SoftCards made;
    made.hardwareUse = options->useHardware;
    made.hardwareParams = options->hardwareParams;
    // The user's database only where a card or use_hw= needs it: a blank PIV card has its
    // own.
    const bool needsDatabase =
        options->useHardware != HardwareUse::No ||
        std::any_of(options->softCards.begin(), options->softCards.end(),
                    [](const SoftCard& soft) { return !soft.certificates.empty(); });
    if (needsDatabase) {
        auto database = NssDatabase::open(options->nssDatabase.value_or(""));
        if (!database)
            return fail(database.error());
        made.database = *database;
    }
    for (const SoftCard& soft : options->softCards) {
        if (soft.type == "PIV") {
            const std::string name = soft.readerName.empty() ? "Emulated PIV" : soft.readerName;
            auto card = makePivCard(soft, made.database, settings, false);
            if (!card)
                return fail(card.error());
            std::string serial = (*card)->serial();
            made.cards.push_back(
                {name, std::unique_ptr<VirtualCard>(std::move(card).value()), std::move(serial)});
            continue;
        }
        auto keys = NssCardKeys::open(made.database,
                                      SoftCardSource{soft.certificates, soft.slotName, false});
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
