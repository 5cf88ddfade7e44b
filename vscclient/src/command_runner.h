// vscclient's commands, typed on the console or read from a script: libcacard's (list,
// insert, remove, select, debug, exit) and vscard's (add-reader, remove-reader, reset, help,
// and for scripts sleep, wait-apdu, expect-apdu, respond, repeat N { ... }). Commands that
// change what the host knows finish when the host has acknowledged them.
#pragma once

#include "scripted_card.h"
#include "vscard_client.h"

#include <QObject>
#include <QTimer>

#include <deque>
#include <functional>
#include <optional>
#include <vector>

namespace vscard::client {

struct ScriptCommand {
    int line = 0;
    QStringList words;
    int repeat = 0;                  // repeat N { body }
    std::vector<ScriptCommand> body; // of a repeat
};

// Parses a whole script; an error says which line and what.
Result<std::vector<ScriptCommand>, QString> parseScript(const QString& text);

class CommandRunner : public QObject {
    Q_OBJECT

public:
    CommandRunner(VscardClient& client, QObject* parent = nullptr);

    // Runs commands one after the other; finished() when the last is done or one failed.
    void run(std::vector<ScriptCommand> commands, QString origin);
    bool busy() const { return !programs_.empty(); }
    // How long a command may wait for the host or a card before it fails.
    void setTimeoutMs(int ms) { defaultTimeoutMs_ = ms; }

    static QString helpText();

Q_SIGNALS:
    // ok false: error names the origin's line and what failed.
    void finished(bool ok, const QString& error);
    void exitRequested();
    void output(const QString& line);

private:
    struct Frame {
        const std::vector<ScriptCommand>* commands;
        std::size_t next = 0;
        int remaining = 1;
    };
    enum class Outcome { Done, Waiting, Failed };

    struct Program {
        std::vector<ScriptCommand> commands;
        QString origin;
    };

    void step();
    Outcome execute(const ScriptCommand& command);
    Outcome hostChange(const QString& problem, const QString& done);
    Outcome waitUntil(std::function<bool()> condition, int timeoutMs, QString what,
                      std::function<Outcome()> then = {});
    void checkWait();
    void endProgram(bool ok, const QString& error);
    Outcome fail(const QString& message);
    std::optional<int> readerArgument(const QStringList& words, int index, QString* problem);

    VscardClient& client_;
    ScriptedApdus apdus_;
    std::optional<PendingApdu> current_; // taken by expect-apdu, answered by respond
    std::deque<Program> programs_;       // the first runs; frames_ walk it
    std::vector<Frame> frames_;
    const ScriptCommand* running_ = nullptr;
    QString error_;
    int selected_ = 0;
    int defaultTimeoutMs_ = 10000;
    std::uint64_t apduMark_ = 0; // wait-apdu counts from here
    // An asynchronous wait: what ends it, what follows, and its deadline.
    std::function<bool()> waitCondition_;
    std::function<Outcome()> waitThen_;
    QString waitWhat_;
    QTimer waitTimer_;
};

} // namespace vscard::client
