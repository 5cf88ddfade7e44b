#include "hardware_mirror.h"

#include "logging.h"

#include <QTimer>

namespace vscard::server {

namespace {

// libcacard's event thread waits 500 ms per round too.
constexpr int kPollIntervalMs = 500;

} // namespace

void MirroredCard::transmit(Bytes command, Completion done)
{
    runOnTokenThread(
        [card = card_, command = std::move(command)]() -> Result<Bytes, std::string> {
            return card->process(command);
        },
        std::move(done));
}

void MirroredCard::power(PowerAction action, Completion done)
{
    runOnTokenThread(
        [card = card_, action]() -> Result<Bytes, std::string> {
            card->reset();
            return action == PowerAction::Off ? Bytes{} : cacard::CacCard::atr();
        },
        std::move(done));
}

void MirroredCard::runOnTokenThread(std::function<Result<Bytes, std::string>()> work,
                                    Completion done)
{
    if (detached_ || !tokenThreadContext_ || !home_) {
        done(fail(std::string("the card has left")));
        return;
    }
    ++inFlight_;
    std::weak_ptr<MirroredCard> self = weak_from_this();
    QPointer<QObject> home = home_;
    QObject* homeObject = home_.data();
    QMetaObject::invokeMethod(tokenThreadContext_.data(), [self, homeObject, work, done] {
        auto result = work();
        // The home object is destroyed only after the token thread has stopped.
        QMetaObject::invokeMethod(homeObject, [self, result = std::move(result), done] {
            const auto card = self.lock();
            if (!card)
                return;
            --card->inFlight_;
            if (!card->detached_)
                done(result);
        });
    });
}

HardwareMirror::HardwareMirror(std::shared_ptr<cacard::NssDatabase> database,
                               cacard::HardwareUse use, const QString& ownPcscName,
                               EmulationSettings settings, ReaderRegistry& registry,
                               QObject* parent)
    : QObject(parent), settings_(std::move(settings)), registry_(registry),
      tokenThreadContext_(new QObject)
{
    // Our own PC/SC readers, as OpenSC names their slots ("vscard 00 01"): mirroring one
    // would feed the card back into itself.
    const std::string own = ownPcscName.toStdString();
    tokens_ = std::make_unique<cacard::HardwareTokens>(
        std::move(database), use,
        [own](const std::string& slot) { return slot == own || slot.rfind(own + " ", 0) == 0; });
    tokenThreadContext_->moveToThread(&thread_);
    connect(&thread_, &QThread::finished, tokenThreadContext_, &QObject::deleteLater);
    thread_.setObjectName(QStringLiteral("nss tokens"));
}

HardwareMirror::~HardwareMirror()
{
    thread_.quit();
    thread_.wait();
    // What the thread had not run yet goes with it; the tokens' cards close here.
    tokens_.reset();
}

void HardwareMirror::start()
{
    thread_.start();
    QMetaObject::invokeMethod(tokenThreadContext_, [this] {
        auto* timer = new QTimer(tokenThreadContext_);
        connect(timer, &QTimer::timeout, tokenThreadContext_, [this] { pollOnTokenThread(); });
        timer->start(kPollIntervalMs);
        pollOnTokenThread();
    });
}

void HardwareMirror::pollOnTokenThread()
{
    std::vector<Update> updates;
    for (const cacard::TokenEvent& event : tokens_->poll()) {
        Update update{event, nullptr, {}};
        if (event.kind == cacard::TokenEvent::Kind::TokenInserted) {
            auto keys = tokens_->openToken(event.slot);
            if (!keys) {
                update.problem = keys.error();
            } else {
                const std::string identity = cacard::cardIdentityName(**keys);
                // The token counts wrong PINs itself; this count only follows it while the
                // token stays in.
                auto pin = cacard::PinRetryState::open(std::nullopt, identity, settings_.pinTries);
                if (!pin)
                    update.problem = pin.error();
                else
                    update.card = std::make_shared<cacard::CacCard>(std::move(keys).value(),
                                                                    std::move(pin).value());
            }
        }
        updates.push_back(std::move(update));
    }
    if (!updates.empty())
        QMetaObject::invokeMethod(this, [this, updates] { apply(updates); });
}

void HardwareMirror::apply(const std::vector<Update>& updates)
{
    using Kind = cacard::TokenEvent::Kind;
    for (const Update& update : updates) {
        const QString name = QString::fromStdString(update.event.name);
        switch (update.event.kind) {
        case Kind::SlotSkipped:
            qCInfo(lcServer).noquote()
                << "not mirroring token slot" << '"' + name + '"' << "- it is our own PC/SC reader";
            break;
        case Kind::SlotFound: {
            const auto index = registry_.addReader(name, QStringLiteral("nss token"), 0);
            if (!index) {
                qCWarning(lcServer).noquote()
                    << "no reader left for token slot" << '"' + name + '"' << "(--max-readers)";
                break;
            }
            readerOfSlot_[update.event.slot] = *index;
            qCInfo(lcServer).noquote() << "mirroring token slot" << '"' + name + '"';
            break;
        }
        case Kind::TokenInserted: {
            const auto reader = readerOfSlot_.find(update.event.slot);
            if (reader == readerOfSlot_.end())
                break;
            if (!update.card) {
                qCWarning(lcServer).noquote()
                    << "token in" << '"' + name + '"'
                    << "is not mirrored:" << QString::fromStdString(update.problem);
                break;
            }
            if (registry_.reader(reader->second)->card)
                registry_.removeCard(reader->second);
            registry_.insertCard(
                reader->second,
                std::make_shared<MirroredCard>(update.card, tokenThreadContext_, this),
                cacard::CacCard::atr());
            qCInfo(lcServer).noquote() << "token inserted in" << '"' + name + '"' << "with"
                                       << update.card->keys().certificateCount() << "certificates";
            break;
        }
        case Kind::TokenRemoved: {
            const auto reader = readerOfSlot_.find(update.event.slot);
            if (reader == readerOfSlot_.end() || !registry_.reader(reader->second)->card)
                break;
            registry_.removeCard(reader->second);
            qCInfo(lcServer).noquote() << "token removed from" << '"' + name + '"';
            break;
        }
        }
    }
}

} // namespace vscard::server
