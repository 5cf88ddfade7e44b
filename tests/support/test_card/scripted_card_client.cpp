#include "scripted_card_client.h"

#include "vscard/qt/endpoint.h"
#include "vscard/qt/socket_writer.h"
#include "vscard/trace.h"

#include <QLocalSocket>
#include <QTcpSocket>
#include <QTimer>

#include <cstdio>

namespace vscard::test {

ScriptedCardClient::ScriptedCardClient(ScriptedCardOptions options, QObject* parent)
    : QObject(parent), options_(std::move(options))
{
}

bool ScriptedCardClient::start()
{
    const auto endpoint = Endpoint::parse(options_.endpoint);
    if (!endpoint) {
        std::fprintf(stderr, "vscard-test-card: %s\n", qPrintable(endpoint.error()));
        return false;
    }
    if (endpoint->kind == Endpoint::Kind::Tcp) {
        auto* tcp = new QTcpSocket(this);
        tcp->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        tcp->connectToHost(endpoint->host, endpoint->port);
        if (!tcp->waitForConnected(5000)) {
            std::fprintf(stderr, "vscard-test-card: %s\n", qPrintable(tcp->errorString()));
            return false;
        }
        connect(tcp, &QTcpSocket::disconnected, this, [this] { Q_EMIT finished(0); });
        socket_ = tcp;
    } else {
        auto* local = new QLocalSocket(this);
        local->connectToServer(endpoint->path);
        if (!local->waitForConnected(5000)) {
            std::fprintf(stderr, "vscard-test-card: %s\n", qPrintable(local->errorString()));
            return false;
        }
        connect(local, &QLocalSocket::disconnected, this, [this] { Q_EMIT finished(0); });
        socket_ = local;
    }
    connect(socket_, &QIODevice::readyRead, this, &ScriptedCardClient::onReadyRead);
    InitPayload init;
    init.capabilities = {options_.capabilities};
    const Bytes wire = encodeInit(kMinimalReaderId, init);
    send(MessageType::Init, kMinimalReaderId, Bytes(wire.begin() + kHeaderSize, wire.end()));
    return true;
}

void ScriptedCardClient::send(MessageType type, std::uint32_t readerId, const Bytes& payload)
{
    const Bytes wire = encodeMessage(type, readerId, payload);
    writeNow(*socket_, wire);
}

void ScriptedCardClient::onReadyRead()
{
    const QByteArray chunk = socket_->readAll();
    decoder_.feed(ByteView(reinterpret_cast<const std::uint8_t*>(chunk.constData()),
                           static_cast<std::size_t>(chunk.size())));
    while (auto next = decoder_.next()) {
        if (!*next) {
            std::fprintf(stderr, "vscard-test-card: %s\n", next->error().message.c_str());
            Q_EMIT finished(1);
            return;
        }
        handle(**next);
    }
}

void ScriptedCardClient::handle(const Message& message)
{
    switch (message.type) {
    case MessageType::Init: addNextReader(); return;
    case MessageType::Error: {
        // The host acknowledges in order: each Error answers the oldest request.
        if (awaiting_.empty())
            return;
        const Awaited request = awaiting_.front();
        awaiting_.pop_front();
        const auto code = parseErrorPayload(message.payload);
        if (request.type != MessageType::ReaderAdd)
            return;
        if (!code || *code != 0) {
            std::fprintf(stderr, "vscard-test-card: reader \"%s\" refused (%s)\n",
                         qPrintable(options_.readers[request.index].name),
                         code ? errorCodeName(*code).data() : "?");
            Q_EMIT finished(1);
            return;
        }
        readerIdByIndex_[request.index] = message.readerId;
        readerIndexById_[message.readerId] = request.index;
        std::printf("reader %zu \"%s\" has id %u\n", request.index,
                    qPrintable(options_.readers[request.index].name), message.readerId);
        if (options_.readers[request.index].cardInserted)
            insert(request.index);
        addNextReader();
        std::fflush(stdout);
        return;
    }
    case MessageType::Apdu:
        // Tests wait for this line to act while a command is in flight.
        if (options_.reportApdus) {
            std::printf("apdu %zu bytes for reader %u\n", message.payload.size(), message.readerId);
            std::fflush(stdout);
        }
        if (options_.answerDelayMs > 0)
            QTimer::singleShot(options_.answerDelayMs, this,
                               [this, id = message.readerId, command = message.payload] {
                                   answerApdu(id, command);
                               });
        else
            answerApdu(message.readerId, message.payload);
        return;
    case MessageType::PowerRequest: {
        const auto found = readerIndexById_.find(message.readerId);
        if (found == readerIndexById_.end() || !cards_.count(found->second)) {
            send(MessageType::Error, message.readerId, {0, 0, 0, 1});
            return;
        }
        cards_[found->second].reset();
        const auto action = parsePowerRequestPayload(message.payload);
        send(MessageType::PowerResponse, message.readerId,
             action && *action == PowerAction::Off ? Bytes{} : options_.readers[found->second].atr);
        return;
    }
    case MessageType::Flush: send(MessageType::FlushComplete, message.readerId, {}); return;
    default: return;
    }
}

void ScriptedCardClient::addNextReader()
{
    if (readersRequested_ == options_.readers.size()) {
        std::printf("ready\n");
        std::fflush(stdout);
        return;
    }
    const QByteArray name = options_.readers[readersRequested_].name.toUtf8();
    awaiting_.push_back(Awaited{MessageType::ReaderAdd, readersRequested_});
    ++readersRequested_;
    send(MessageType::ReaderAdd, kUndefinedReaderId, Bytes(name.begin(), name.end()));
}

void ScriptedCardClient::answerApdu(std::uint32_t readerId, Bytes command)
{
    const auto found = readerIndexById_.find(readerId);
    if (found == readerIndexById_.end() || !cards_.count(found->second))
        return;
    Bytes answer = cards_[found->second].respond(command);
    if (options_.answerBytes >= 0 && answer.size() > static_cast<std::size_t>(options_.answerBytes))
        answer.resize(static_cast<std::size_t>(options_.answerBytes));
    send(MessageType::Apdu, readerId, answer);
}

void ScriptedCardClient::insert(std::size_t index)
{
    const auto id = readerIdByIndex_.find(index);
    if (id == readerIdByIndex_.end())
        return;
    cards_[index] = TestCardResponder();
    awaiting_.push_back(Awaited{MessageType::Atr, index});
    send(MessageType::Atr, id->second, options_.readers[index].atr);
}

void ScriptedCardClient::remove(std::size_t index)
{
    const auto id = readerIdByIndex_.find(index);
    if (id == readerIdByIndex_.end())
        return;
    cards_.erase(index);
    awaiting_.push_back(Awaited{MessageType::CardRemove, index});
    send(MessageType::CardRemove, id->second, {});
}

void ScriptedCardClient::runCommand(const QString& line)
{
    const QStringList words = line.simplified().split(QLatin1Char(' '), Qt::SkipEmptyParts);
    if (words.isEmpty())
        return;
    const std::size_t index = words.size() > 1 ? words[1].toUInt() : 0;
    if (words[0] == QLatin1String("remove"))
        remove(index);
    else if (words[0] == QLatin1String("insert"))
        insert(index);
    else if (words[0] == QLatin1String("quit"))
        Q_EMIT finished(0);
    else
        std::fprintf(stderr, "vscard-test-card: unknown command \"%s\"\n", qPrintable(words[0]));
}

} // namespace vscard::test
