#include "emulated_card.h"

#include "audit_trail.h"
#include "logging.h"

namespace vscard::server {

void EmulatedCard::transmit(Bytes command, Completion done)
{
    if (detached_) {
        done(fail(std::string("the card has left")));
        return;
    }
    Bytes response = card_->process(command);
    if (auditSlot_ >= 0)
        auditVerify(auditSlot_, auditName_, QStringLiteral("emulation"), command, response);
    done(std::move(response));
}

void EmulatedCard::power(PowerAction action, Completion done)
{
    if (detached_) {
        done(fail(std::string("the card has left")));
        return;
    }
    card_->reset();
    done(action == PowerAction::Off ? Bytes{} : card_->answerToReset());
}

Result<EmulatedCards, QString> makeEmulatedCards(const QString& text,
                                                 const EmulationSettings& settings)
{
    auto made = cacard::makeSoftCards(text.toStdString(), settings);
    if (!made)
        return fail(QString::fromStdString(made.error()));
    EmulatedCards cards;
    cards.database = made->database;
    cards.hardwareUse = made->hardwareUse;
    for (auto& soft : made->cards) {
        const QString name = QString::fromStdString(soft.readerName);
        qCInfo(lcServer).noquote()
            << "emulated"
            << QString::fromUtf8(soft.card->typeName().data(),
                                 static_cast<int>(soft.card->typeName().size()))
            << "card" << name << "with" << soft.card->keyCount() << "keys, serial"
            << QString::fromStdString(soft.serial);
        cards.softCards.push_back({name, std::make_shared<EmulatedCard>(std::move(soft.card))});
    }
    return cards;
}

} // namespace vscard::server
