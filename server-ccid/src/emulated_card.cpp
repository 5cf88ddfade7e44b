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

Result<std::vector<EmulatedReader>, QString> makeEmulatedCards(const QString& text,
                                                               const EmulationSettings& settings)
{
    const auto options = cacard::parseEmulOptions(text.toStdString());
    if (!options)
        return fail(QString::fromStdString(options.error().message));
    if (options->softCards.empty())
        return fail(QStringLiteral("no soft=(...) card: mirroring NSS's hardware tokens "
                                   "(use_hw=yes) is not implemented yet"));
    if (options->useHardware != cacard::HardwareUse::No)
        qCWarning(lcServer) << "use_hw= other than no: only the soft= cards are served, "
                               "hardware tokens are not mirrored yet";
    auto database = cacard::NssDatabase::open(options->nssDatabase.value_or(""));
    if (!database)
        return fail(QString::fromStdString(database.error()));
    std::vector<EmulatedReader> readers;
    for (const auto& soft : options->softCards) {
        auto keys = cacard::NssCardKeys::open(*database, soft.certificates);
        if (!keys)
            return fail(QString::fromStdString(keys.error()));
        const std::string identity = trace::hex(cacard::cardIdentity(**keys));
        std::string fileName;
        for (char c : identity)
            if (c != ' ')
                fileName.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
        auto pin =
            cacard::PinRetryState::open(settings.stateDirectory, fileName, settings.pinTries);
        if (!pin)
            return fail(QString::fromStdString(pin.error()));
        auto card =
            std::make_unique<cacard::CacCard>(std::move(keys).value(), std::move(pin).value());
        QString name = QString::fromStdString(soft.readerName);
        if (name.isEmpty())
            name = QString::fromStdString(soft.cardName);
        if (name.isEmpty())
            name = QStringLiteral("Emulated CAC");
        qCInfo(lcServer).noquote() << "emulated card" << name << "with" << soft.certificates.size()
                                   << "certificates, serial" << QString::fromStdString(fileName);
        readers.push_back({name, std::make_shared<EmulatedCard>(std::move(card))});
    }
    return readers;
}

} // namespace vscard::server
