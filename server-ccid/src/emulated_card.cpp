#include "emulated_card.h"

#include "logging.h"
#include "vscard/cacard/emul_options.h"
#include "vscard/cacard/nss_card_keys.h"
#include "vscard/trace.h"

#include <map>

namespace vscard::server {

void EmulatedCard::transmit(Bytes command, Completion done)
{
    if (detached_) {
        done(fail(std::string("the card has left")));
        return;
    }
    done(card_->process(command));
}

void EmulatedCard::power(PowerAction action, Completion done)
{
    if (detached_) {
        done(fail(std::string("the card has left")));
        return;
    }
    card_->reset();
    done(action == PowerAction::Off ? Bytes{} : cacard::CacCard::atr());
}

std::string cardIdentityName(cacard::CardKeys& keys)
{
    std::string name;
    for (char c : trace::hex(cacard::cardIdentity(keys)))
        if (c != ' ')
            name.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    return name;
}

Result<EmulatedCards, QString> makeEmulatedCards(const QString& text,
                                                 const EmulationSettings& settings)
{
    const auto options = cacard::parseEmulOptions(text.toStdString());
    if (!options)
        return fail(QString::fromStdString(options.error().message));
    if (options->softCards.empty() && options->useHardware == cacard::HardwareUse::No)
        return fail(QStringLiteral("no card: give soft=(...) or use_hw=yes|removable"));
    auto database = cacard::NssDatabase::open(options->nssDatabase.value_or(""));
    if (!database)
        return fail(QString::fromStdString(database.error()));
    EmulatedCards cards;
    cards.database = *database;
    cards.hardwareUse = options->useHardware;
    for (const auto& soft : options->softCards) {
        auto keys = cacard::NssCardKeys::open(
            *database, cacard::SoftCardSource{soft.certificates, soft.slotName, false});
        if (!keys)
            return fail(QString::fromStdString(keys.error()));
        const std::string fileName = cardIdentityName(**keys);
        auto pin =
            cacard::PinRetryState::open(settings.stateDirectory, fileName, settings.pinTries);
        if (!pin)
            return fail(QString::fromStdString(pin.error()));
        auto card =
            std::make_unique<cacard::CacCard>(std::move(keys).value(), std::move(pin).value());
        QString name = QString::fromStdString(soft.readerName);
        if (name.isEmpty())
            name = QStringLiteral("Emulated CAC");
        qCInfo(lcServer).noquote() << "emulated card" << name << "with" << soft.certificates.size()
                                   << "certificates, serial" << QString::fromStdString(fileName);
        cards.softCards.push_back({name, std::make_shared<EmulatedCard>(std::move(card))});
    }
    return cards;
}

} // namespace vscard::server
