#include "pcsc_readers.h"

#include "logging.h"
#include "vscard/apdu.h"
#include "vscard/trace.h"

#include <QPointer>
#include <QTimer>

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace vscard::client {

namespace {

QString pcscError(LONG rv)
{
    return QStringLiteral("%1 (0x%2)")
        .arg(QString::fromLatin1(pcsc_stringify_error(rv)))
        .arg(static_cast<quint32>(rv), 8, 16, QLatin1Char('0'));
}

constexpr const char* kPnpReader = "\\\\?PnP?\\Notification";
constexpr DWORD kProtocols = SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1;

// What the card's I/O thread knows of the card: touched on that thread only.
struct CardIo {
    QString reader;
    PcscSettings settings;
    SCARDCONTEXT context = 0;
    bool haveContext = false;
    SCARDHANDLE handle = 0;
    bool connected = false;
    DWORD protocol = 0;
    bool inTransaction = false;
    bool pinVerified = false;
    Bytes atr;

    ~CardIo() { close(); }

    Result<Bytes, std::string> connect(DWORD disposition = SCARD_LEAVE_CARD)
    {
        if (!haveContext) {
            const LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context);
            if (rv != SCARD_S_SUCCESS)
                return fail("no PC/SC context: " + pcscError(rv).toStdString());
            haveContext = true;
        }
        const DWORD share = settings.exclusive ? SCARD_SHARE_EXCLUSIVE : SCARD_SHARE_SHARED;
        LONG rv;
        if (connected)
            rv = SCardReconnect(handle, share, kProtocols, disposition, &protocol);
        else
            rv = SCardConnect(context, reader.toUtf8().constData(), share, kProtocols, &handle,
                              &protocol);
        if (rv != SCARD_S_SUCCESS) {
            connected = false;
            return fail("cannot connect to the card: " + pcscError(rv).toStdString());
        }
        connected = true;
        inTransaction = false;
        pinVerified = false;
        BYTE value[MAX_ATR_SIZE];
        DWORD length = sizeof value;
        DWORD state = 0;
        DWORD activeProtocol = 0;
        char name[512];
        DWORD nameLength = sizeof name;
        rv = SCardStatus(handle, name, &nameLength, &state, &activeProtocol, value, &length);
        if (rv != SCARD_S_SUCCESS)
            return fail("no ATR: " + pcscError(rv).toStdString());
        atr.assign(value, value + length);
        return atr;
    }

    void endTransaction()
    {
        if (inTransaction)
            SCardEndTransaction(handle, SCARD_LEAVE_CARD);
        inTransaction = false;
    }

    void close()
    {
        endTransaction();
        if (connected)
            SCardDisconnect(handle, SCARD_LEAVE_CARD);
        connected = false;
        if (haveContext)
            SCardReleaseContext(context);
        haveContext = false;
    }

    Result<Bytes, std::string> exchange(const Bytes& command)
    {
        if (!connected) {
            auto reconnected = connect();
            if (!reconnected)
                return fail(reconnected.error());
        }
        if (!settings.exclusive && !inTransaction) {
            const LONG rv = SCardBeginTransaction(handle);
            if (rv != SCARD_S_SUCCESS)
                return fail("no transaction: " + pcscError(rv).toStdString());
            inTransaction = true;
        }
        const SCARD_IO_REQUEST* pci = protocol == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0;
        Bytes response(65538);
        DWORD length = static_cast<DWORD>(response.size());
        const LONG rv =
            SCardTransmit(handle, pci, command.data(), static_cast<DWORD>(command.size()), nullptr,
                          response.data(), &length);
        if (rv != SCARD_S_SUCCESS) {
            endTransaction();
            return fail("SCardTransmit: " + pcscError(rv).toStdString());
        }
        response.resize(length);
        return response;
    }

    // One command of the host, with the PIN-try guard and the transaction policy.
    Result<Bytes, std::string> transmit(const Bytes& command)
    {
        const auto apdu = CommandApdu::parse(command);
        const bool verifyWithPin = apdu && apdu->ins() == 0x20 && apdu->nc() > 0;
        if (verifyWithPin && !settings.allowLastPinTry) {
            // Asked every time: a local application may have used or reset the tries since.
            const Bytes query = {command[0], 0x20, 0x00, apdu->p2()};
            const auto answer = exchange(query);
            if (!answer)
                return answer;
            const int left = triesLeft(*answer);
            if (left == 0 || left == 1) {
                qCWarning(lcPcsc).noquote()
                    << "reader" << ('"' + reader + '"') << ": VERIFY not forwarded, the card"
                    << (left == 1 ? "has one PIN try left" : "is blocked")
                    << "(--allow-last-pin-try forwards it)";
                endIdleTransaction(command, {0x69, 0x85});
                return Bytes{0x69, 0x85};
            }
        }
        auto response = exchange(command);
        if (!response)
            return response;
        if (verifyWithPin && *response == Bytes{0x90, 0x00})
            pinVerified = true;
        endIdleTransaction(command, *response);
        return response;
    }

    // What a VERIFY without data says of the tries left: 63Cx, 6983 (blocked); -1 unknown.
    static int triesLeft(const Bytes& answer)
    {
        if (answer.size() != 2)
            return -1;
        if (answer[0] == 0x63 && (answer[1] & 0xF0) == 0xC0)
            return answer[1] & 0x0F;
        return answer == Bytes{0x69, 0x83} ? 0 : -1;
    }

    // The transaction outlives the command only while the guest is in the middle of
    // something (see pcsc_readers.h).
    void endIdleTransaction(const Bytes& command, const Bytes& response)
    {
        const bool chaining = !command.empty() && (command[0] & 0x10) && command[0] != 0xFF;
        const bool moreData = response.size() >= 2 && response[response.size() - 2] == 0x61;
        if (!chaining && !moreData && !pinVerified)
            endTransaction();
    }

    Result<Bytes, std::string> power(PowerAction action)
    {
        endTransaction();
        pinVerified = false;
        if (action == PowerAction::Off) {
            if (connected)
                SCardDisconnect(handle, SCARD_UNPOWER_CARD);
            connected = false;
            return Bytes{};
        }
        return connect(action == PowerAction::WarmReset ? SCARD_RESET_CARD : SCARD_UNPOWER_CARD);
    }
};

// A real card as a card of the client: its I/O runs on a thread of its own; answers come back
// to the event loop through `home`.
class PcscCard : public LocalCard {
public:
    PcscCard(const QString& reader, const PcscSettings& settings, QObject* home)
        : io_(std::make_shared<CardIo>()), home_(home)
    {
        io_->reader = reader;
        io_->settings = settings;
        worker_ = new QObject;
        worker_->moveToThread(&thread_);
        QObject::connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
        thread_.setObjectName("pcsc card");
        thread_.start();
    }
    ~PcscCard() override
    {
        // Closed on its thread, after whatever it was doing.
        QMetaObject::invokeMethod(
            worker_, [io = io_] { io->close(); }, Qt::BlockingQueuedConnection);
        thread_.quit();
        thread_.wait();
    }

    Bytes atr() const override { return atr_; }
    void setAtr(Bytes atr) { atr_ = std::move(atr); }

    void open(Completion done)
    {
        run([](CardIo& io) { return io.connect(); }, std::move(done));
    }
    void transmit(Bytes command, Completion done) override
    {
        run([command = std::move(command)](CardIo& io) { return io.transmit(command); },
            std::move(done));
    }
    void power(PowerAction action, Completion done) override
    {
        run([action](CardIo& io) { return io.power(action); }, std::move(done));
    }

private:
    void run(std::function<Result<Bytes, std::string>(CardIo&)> work, Completion done)
    {
        QPointer<QObject> home = home_;
        QMetaObject::invokeMethod(worker_, [io = io_, work, done, home] {
            auto result = work(*io);
            if (home)
                QMetaObject::invokeMethod(home.data(), [done, result] { done(result); });
        });
    }

    std::shared_ptr<CardIo> io_;
    QPointer<QObject> home_;
    QThread thread_;
    QObject* worker_;
    Bytes atr_;
};

} // namespace

PcscReaders::PcscReaders(VscardClient& client, PcscSettings settings, QObject* parent)
    : QObject(parent), client_(client), settings_(std::move(settings))
{
}

PcscReaders::~PcscReaders()
{
    stopping_ = true;
    {
        std::lock_guard lock(contextMutex_);
        if (context_)
            SCardCancel(static_cast<SCARDCONTEXT>(*context_));
    }
    if (thread_.joinable())
        thread_.join();
    // The cards (and their threads) go before the client that holds them is told.
    for (auto& [name, known] : readers_)
        known.card.reset();
}

void PcscReaders::start()
{
    thread_ = std::thread([this] { monitor(); });
}

bool PcscReaders::wanted(const QString& reader) const
{
    if (settings_.readerFilters.empty())
        return true;
    for (const QRegularExpression& filter : settings_.readerFilters)
        if (filter.match(reader).hasMatch())
            return true;
    return false;
}

// The monitor thread: SCardGetStatusChange until stopped; pcscd going away removes every
// reader, and it is waited for again.
void PcscReaders::monitor()
{
    auto post = [this](void (PcscReaders::*handler)(const QString&), const QString& reader) {
        QMetaObject::invokeMethod(this, [this, handler, reader] { (this->*handler)(reader); });
    };
    bool serviceMissingLogged = false;
    while (!stopping_) {
        SCARDCONTEXT context = 0;
        LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context);
        if (rv != SCARD_S_SUCCESS) {
            if (!serviceMissingLogged)
                qCWarning(lcPcsc).noquote()
                    << "no PC/SC service:" << pcscError(rv) << "- waiting for pcscd";
            serviceMissingLogged = true;
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
            continue;
        }
        serviceMissingLogged = false;
        {
            std::lock_guard lock(contextMutex_);
            context_ = static_cast<long>(context);
        }
        struct Watched {
            QByteArray name;
            DWORD state = SCARD_STATE_UNAWARE;
            bool present = false;
        };
        std::vector<Watched> watched;
        bool relist = true;
        bool serviceLost = false;
        DWORD pnpState = SCARD_STATE_UNAWARE;
        while (!stopping_ && !serviceLost) {
            if (relist) {
                relist = false;
                DWORD length = 0;
                std::vector<char> names;
                rv = SCardListReaders(context, nullptr, nullptr, &length);
                if (rv == SCARD_S_SUCCESS && length > 0) {
                    names.resize(length);
                    rv = SCardListReaders(context, nullptr, names.data(), &length);
                }
                if (rv != SCARD_S_SUCCESS && rv != SCARD_E_NO_READERS_AVAILABLE) {
                    serviceLost = true;
                    break;
                }
                std::vector<QByteArray> now;
                for (std::size_t i = 0; rv == SCARD_S_SUCCESS && i < names.size() && names[i];
                     i += std::strlen(&names[i]) + 1)
                    now.emplace_back(&names[i]);
                for (auto it = watched.begin(); it != watched.end();) {
                    if (std::find(now.begin(), now.end(), it->name) == now.end()) {
                        post(&PcscReaders::onReaderGone, QString::fromUtf8(it->name));
                        it = watched.erase(it);
                    } else {
                        ++it;
                    }
                }
                for (const QByteArray& name : now) {
                    if (std::none_of(watched.begin(), watched.end(),
                                     [&name](const Watched& w) { return w.name == name; })) {
                        watched.push_back({name});
                        post(&PcscReaders::onReaderAppeared, QString::fromUtf8(name));
                    }
                }
            }
            std::vector<SCARD_READERSTATE> states(watched.size() + 1);
            states[0].szReader = kPnpReader;
            states[0].dwCurrentState = pnpState;
            for (std::size_t i = 0; i < watched.size(); ++i) {
                states[i + 1].szReader = watched[i].name.constData();
                states[i + 1].dwCurrentState = watched[i].state;
            }
            rv = SCardGetStatusChange(context, INFINITE, states.data(),
                                      static_cast<DWORD>(states.size()));
            if (rv == SCARD_E_CANCELLED || rv == SCARD_E_TIMEOUT)
                continue;
            if (rv != SCARD_S_SUCCESS) {
                qCWarning(lcPcsc).noquote() << "PC/SC service lost:" << pcscError(rv);
                serviceLost = true;
                break;
            }
            if (states[0].dwEventState & SCARD_STATE_CHANGED) {
                pnpState = states[0].dwEventState & ~SCARD_STATE_CHANGED;
                relist = true;
            }
            for (std::size_t i = 0; i < watched.size(); ++i) {
                const DWORD event = states[i + 1].dwEventState;
                if (!(event & SCARD_STATE_CHANGED))
                    continue;
                Watched& reader = watched[i];
                const QString name = QString::fromUtf8(reader.name);
                if (event & (SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE)) {
                    relist = true;
                    continue;
                }
                const bool present = (event & SCARD_STATE_PRESENT) && !(event & SCARD_STATE_MUTE);
                // pcsc-lite counts card events in the high 16 bits: a card swapped between
                // two waits shows as a changed count.
                const bool swapped = reader.present && present &&
                                     (event >> 16) != (reader.state >> 16) &&
                                     reader.state != SCARD_STATE_UNAWARE;
                if (reader.present && (!present || swapped))
                    post(&PcscReaders::onCardRemoved, name);
                if (present && (!reader.present || swapped))
                    post(&PcscReaders::onCardInserted, name);
                reader.present = present;
                reader.state = event & ~SCARD_STATE_CHANGED;
            }
        }
        {
            std::lock_guard lock(contextMutex_);
            context_.reset();
        }
        SCardReleaseContext(context);
        for (const Watched& reader : watched) {
            if (reader.present)
                post(&PcscReaders::onCardRemoved, QString::fromUtf8(reader.name));
            post(&PcscReaders::onReaderGone, QString::fromUtf8(reader.name));
        }
        if (serviceLost && !stopping_)
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
}

void PcscReaders::onReaderAppeared(const QString& reader)
{
    if (!wanted(reader) || readers_.count(reader))
        return;
    Known known;
    known.clientReader = client_.addReader(reader, nullptr);
    readers_[reader] = known;
    qCInfo(lcPcsc).noquote() << "reader" << ('"' + reader + '"') << "shared as reader"
                             << known.clientReader;
}

void PcscReaders::onReaderGone(const QString& reader)
{
    const auto found = readers_.find(reader);
    if (found == readers_.end())
        return;
    client_.removeReader(found->second.clientReader);
    readers_.erase(found);
    qCInfo(lcPcsc).noquote() << "reader" << ('"' + reader + '"') << "gone";
}

void PcscReaders::onCardInserted(const QString& reader)
{
    const auto found = readers_.find(reader);
    if (found == readers_.end())
        return;
    Known& known = found->second;
    const std::uint64_t generation = ++known.cardGeneration;
    auto card = std::make_shared<PcscCard>(reader, settings_, this);
    known.card = card; // the only owner until the host has it: it dies on this thread
    std::weak_ptr<PcscCard> opening = card;
    card->open([this, reader, generation, opening](Result<Bytes, std::string> atr) {
        const auto now = readers_.find(reader);
        const auto opened = opening.lock();
        if (now == readers_.end() || now->second.cardGeneration != generation || !opened)
            return; // removed again meanwhile
        if (!atr) {
            qCWarning(lcPcsc).noquote()
                << "reader" << ('"' + reader + '"') << ":" << QString::fromStdString(atr.error());
            now->second.card.reset();
            return;
        }
        opened->setAtr(*atr);
        client_.insertCard(now->second.clientReader, opened);
        qCInfo(lcPcsc).noquote() << "card in" << ('"' + reader + '"') << ":"
                                 << QString::fromStdString(trace::hex(*atr));
    });
}

void PcscReaders::onCardRemoved(const QString& reader)
{
    const auto found = readers_.find(reader);
    if (found == readers_.end())
        return;
    Known& known = found->second;
    ++known.cardGeneration;
    client_.cardGone(known.clientReader);
    known.card.reset();
    qCInfo(lcPcsc).noquote() << "card removed from" << ('"' + reader + '"');
}

} // namespace vscard::client
