// A VSCard client for tests and the demo: adds readers, inserts cards with chosen ATRs, and
// answers APDUs with TestCardResponder. Commands on stdin script card events:
//   remove N | insert N | quit
#pragma once

#include "test_card_responder.h"
#include "vscard/vscard_wire.h"

#include <QIODevice>
#include <QObject>
#include <QString>

#include <deque>
#include <map>
#include <vector>

namespace vscard::test {

struct ScriptedReader {
    QString name;
    Bytes atr;
    bool cardInserted = true;
};

struct ScriptedCardOptions {
    QString endpoint; // tcp:HOST:PORT or unix:PATH
    std::vector<ScriptedReader> readers;
    std::uint32_t capabilities = 0; // Init capability word 0
    int answerDelayMs = 0;
    // A broken card side for tests: answers cut to this many bytes (-1: whole answers).
    int answerBytes = -1;
    // One stdout line per APDU, which tests wait for; a benchmark that never reads them says no.
    bool reportApdus = true;
};

class ScriptedCardClient : public QObject {
    Q_OBJECT

public:
    explicit ScriptedCardClient(ScriptedCardOptions options, QObject* parent = nullptr);

    // Connects; false with a message on stderr when that fails.
    bool start();
    // Script commands, as read from stdin.
    void runCommand(const QString& line);

Q_SIGNALS:
    void finished(int exitCode);

private:
    void onReadyRead();
    void handle(const Message& message);
    void send(MessageType type, std::uint32_t readerId, const Bytes& payload);
    void insert(std::size_t index);
    void remove(std::size_t index);
    void answerApdu(std::uint32_t readerId, Bytes command);
    void addNextReader();

    struct Awaited {
        MessageType type;
        std::size_t index;
    };

    ScriptedCardOptions options_;
    QIODevice* socket_ = nullptr;
    MessageDecoder decoder_;
    std::size_t readersRequested_ = 0;
    std::map<std::uint32_t, std::size_t> readerIndexById_;
    std::map<std::size_t, std::uint32_t> readerIdByIndex_;
    std::map<std::size_t, TestCardResponder> cards_;
    std::deque<Awaited> awaiting_; // requests the host has still to acknowledge
};

} // namespace vscard::test
