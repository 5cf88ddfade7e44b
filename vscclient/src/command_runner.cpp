#include "command_runner.h"

#include "vscard/atr.h"
#include "vscard/qt/trace_filter.h"
#include "vscard/trace.h"

#include <QDeadlineTimer>
#include <QRegularExpression>

namespace vscard::client {

namespace {

std::optional<Bytes> parseHex(const QString& text)
{
    QString digits = text;
    digits.remove(QRegularExpression("[\\s:]"));
    if (digits.isEmpty() || digits.size() % 2 != 0 ||
        !QRegularExpression("^[0-9A-Fa-f]+$").match(digits).hasMatch())
        return std::nullopt;
    const QByteArray bytes = QByteArray::fromHex(digits.toLatin1());
    return Bytes(bytes.begin(), bytes.end());
}

// "250ms", "2s", "1.5s", "1m", or seconds without a unit.
std::optional<int> parseDurationMs(const QString& text)
{
    const auto match = QRegularExpression("^([0-9]+(?:\\.[0-9]+)?)(ms|s|m)?$").match(text);
    if (!match.hasMatch())
        return std::nullopt;
    const double value = match.captured(1).toDouble();
    const QString unit = match.captured(2);
    const double ms = unit == "ms" ? value : unit == "m" ? value * 60000 : value * 1000;
    if (ms > 24 * 3600 * 1000.0)
        return std::nullopt;
    return static_cast<int>(ms);
}

QString hex(const Bytes& bytes)
{
    return QString::fromStdString(trace::hex(bytes));
}

} // namespace

Result<std::vector<ScriptCommand>, QString> parseScript(const QString& text)
{
    std::vector<std::vector<ScriptCommand>> open(1);
    std::vector<ScriptCommand> repeats; // the repeat commands whose bodies are open
    const QStringList lines = text.split('\n');
    for (int i = 0; i < lines.size(); ++i) {
        QString line = lines[i];
        if (const int hash = line.indexOf('#'); hash >= 0)
            line.truncate(hash);
        const QStringList words = line.simplified().split(' ', Qt::SkipEmptyParts);
        if (words.isEmpty())
            continue;
        const int number = i + 1;
        if (words.first() == "}") {
            if (words.size() != 1)
                return fail(QStringLiteral("line %1: nothing may follow '}'").arg(number));
            if (repeats.empty())
                return fail(QStringLiteral("line %1: '}' without 'repeat N {'").arg(number));
            ScriptCommand repeat = repeats.back();
            repeats.pop_back();
            repeat.body = std::move(open.back());
            open.pop_back();
            open.back().push_back(std::move(repeat));
            continue;
        }
        if (words.first() == "repeat") {
            bool ok = false;
            const int count = words.size() == 3 ? words[1].toInt(&ok) : 0;
            if (!ok || count < 0 || words[2] != "{")
                return fail(
                    QStringLiteral("line %1: expected 'repeat N {' with N >= 0").arg(number));
            ScriptCommand repeat;
            repeat.line = number;
            repeat.words = words;
            repeat.repeat = count;
            repeats.push_back(std::move(repeat));
            open.emplace_back();
            continue;
        }
        open.back().push_back({number, words, 0, {}});
    }
    if (!repeats.empty())
        return fail(
            QStringLiteral("line %1: 'repeat' block never closed").arg(repeats.back().line));
    return std::move(open.front());
}

CommandRunner::CommandRunner(VscardClient& client, QObject* parent)
    : QObject(parent), client_(client)
{
    waitTimer_.setSingleShot(true);
    connect(&waitTimer_, &QTimer::timeout, this, [this] {
        if (!waitCondition_)
            return;
        const QString what = waitWhat_;
        waitCondition_ = nullptr;
        waitThen_ = nullptr;
        fail(what);
        endProgram(false, error_);
    });
    connect(&client_, &VscardClient::settledChanged, this, &CommandRunner::checkWait);
    connect(&client_, &VscardClient::apduAnswered, this, &CommandRunner::checkWait);
    connect(&apdus_, &ScriptedApdus::arrived, this, &CommandRunner::checkWait);
}

QString CommandRunner::helpText()
{
    return QStringLiteral(
        "commands (N: a reader number from 'list'; without N, the selected reader):\n"
        "  list                      readers, their host ids and cards\n"
        "  insert [N] [ATR]          insert the reader's card again, or a scripted card with\n"
        "                            this ATR (hex) whose APDUs expect-apdu/respond answer\n"
        "  remove [N]                remove the card\n"
        "  reset [N]                 warm-reset the card; the host sees it removed and inserted\n"
        "  select N                  the reader commands without N act on\n"
        "  add-reader NAME           a new empty reader, which becomes the selected one\n"
        "  remove-reader [N]         detach the reader\n"
        "  debug LEVEL               0: quiet; 1 or more: trace every VSCard message\n"
        "  help                      this text\n"
        "  exit                      disconnect and quit\n"
        "in scripts also:\n"
        "  sleep DURATION            e.g. 500ms, 2s, 1m\n"
        "  wait-apdu [COUNT] [TIMEOUT]\n"
        "                            until COUNT more APDUs (default 1) were answered\n"
        "  expect-apdu HEX [TIMEOUT] the next APDU to a scripted card must be HEX\n"
        "  respond HEX               answer it (data and SW1 SW2)\n"
        "  repeat N {                the lines up to '}' N times\n"
        "  # comment");
}

void CommandRunner::run(std::vector<ScriptCommand> commands, QString origin)
{
    programs_.push_back({std::move(commands), std::move(origin)});
    if (programs_.size() == 1) {
        frames_.push_back({&programs_.front().commands, 0, 1});
        step();
    }
}

void CommandRunner::endProgram(bool ok, const QString& error)
{
    frames_.clear();
    running_ = nullptr;
    programs_.pop_front();
    Q_EMIT finished(ok, error);
    if (!programs_.empty()) {
        frames_.push_back({&programs_.front().commands, 0, 1});
        QTimer::singleShot(0, this, &CommandRunner::step);
    }
}

void CommandRunner::step()
{
    while (!frames_.empty()) {
        Frame& frame = frames_.back();
        if (frame.next == frame.commands->size()) {
            if (--frame.remaining > 0) {
                frame.next = 0;
                continue;
            }
            frames_.pop_back();
            continue;
        }
        const ScriptCommand& command = (*frame.commands)[frame.next++];
        if (!command.words.isEmpty() && command.words.first() == "repeat") {
            if (command.repeat > 0 && !command.body.empty())
                frames_.push_back({&command.body, 0, command.repeat});
            continue;
        }
        running_ = &command;
        switch (execute(command)) {
        case Outcome::Done: continue;
        case Outcome::Waiting: return;
        case Outcome::Failed: endProgram(false, error_); return;
        }
    }
    if (!programs_.empty())
        endProgram(true, {});
}

CommandRunner::Outcome CommandRunner::fail(const QString& message)
{
    const QString origin = programs_.empty() ? QString() : programs_.front().origin;
    const int line = running_ ? running_->line : 0;
    error_ =
        origin.isEmpty() ? message : QStringLiteral("%1:%2: %3").arg(origin).arg(line).arg(message);
    return Outcome::Failed;
}

std::optional<int> CommandRunner::readerArgument(const QStringList& words, int index,
                                                 QString* problem)
{
    int reader = selected_;
    if (words.size() > index) {
        bool ok = false;
        reader = words[index].toInt(&ok);
        if (!ok) {
            *problem = QStringLiteral("\"%1\" is not a reader number").arg(words[index]);
            return std::nullopt;
        }
    }
    if (!client_.hasReader(reader)) {
        *problem = QStringLiteral("no reader %1 (see 'list')").arg(reader);
        return std::nullopt;
    }
    return reader;
}

CommandRunner::Outcome CommandRunner::hostChange(const QString& problem, const QString& done)
{
    if (!problem.isEmpty())
        return fail(problem);
    if (!done.isEmpty())
        Q_EMIT output(done);
    return waitUntil(
        [this] { return client_.settled(); }, defaultTimeoutMs_,
        QStringLiteral("the host did not acknowledge within %1 ms").arg(defaultTimeoutMs_));
}

CommandRunner::Outcome CommandRunner::execute(const ScriptCommand& command)
{
    const QStringList& words = command.words;
    const QString& name = words.first();
    QString problem;
    if (name == "help") {
        Q_EMIT output(helpText());
        return Outcome::Done;
    }
    if (name == "list") {
        const QStringList lines = client_.describe();
        Q_EMIT output(lines.isEmpty() ? QStringLiteral("no readers") : lines.join('\n'));
        return Outcome::Done;
    }
    if (name == "exit" || name == "quit") {
        Q_EMIT exitRequested();
        return Outcome::Done;
    }
    if (name == "debug") {
        bool ok = false;
        const int level = words.size() > 1 ? words[1].toInt(&ok) : 0;
        if (words.size() > 1 && !ok)
            return fail(QStringLiteral("debug expects a level, found \"%1\"").arg(words[1]));
        installTraceFilter(level > 0 ? QStringLiteral("vscard.*") : QString());
        Q_EMIT output(QStringLiteral("debug level = %1").arg(level));
        return Outcome::Done;
    }
    if (name == "select") {
        if (words.size() != 2)
            return fail(QStringLiteral("select expects a reader number"));
        const auto reader = readerArgument(words, 1, &problem);
        if (!reader)
            return fail(problem);
        selected_ = *reader;
        Q_EMIT output(QStringLiteral("selected reader %1").arg(*reader));
        return Outcome::Done;
    }
    if (name == "add-reader") {
        if (words.size() < 2)
            return fail(QStringLiteral("add-reader expects a name"));
        const int reader = client_.addReader(words.mid(1).join(' '), nullptr);
        selected_ = reader; // what a scenario acts on next
        return hostChange({}, QStringLiteral("reader %1 added").arg(reader));
    }
    if (name == "remove-reader" || name == "remove" || name == "reset") {
        const auto reader = readerArgument(words, 1, &problem);
        if (!reader)
            return fail(problem);
        if (name == "remove-reader")
            return hostChange(client_.removeReader(*reader),
                              QStringLiteral("reader %1 removed").arg(*reader));
        if (name == "remove")
            return hostChange(client_.removeCard(*reader),
                              QStringLiteral("card removed from reader %1").arg(*reader));
        return hostChange(client_.resetCard(*reader),
                          QStringLiteral("card in reader %1 reset").arg(*reader));
    }
    if (name == "insert") {
        // insert [N] [ATR]: N is a reader number (decimal, short), the ATR hex bytes.
        const bool hasNumber =
            words.size() > 1 && QRegularExpression("^[0-9]{1,3}$").match(words[1]).hasMatch();
        const auto reader =
            readerArgument(hasNumber ? words.mid(0, 2) : words.mid(0, 1), 1, &problem);
        if (!reader)
            return fail(problem);
        std::shared_ptr<LocalCard> card;
        const QStringList atrWords = words.mid(hasNumber ? 2 : 1);
        if (!atrWords.isEmpty()) {
            const auto atr = parseHex(atrWords.join(""));
            if (!atr || !Atr::parse(*atr))
                return fail(QStringLiteral("\"%1\" is not an ATR").arg(atrWords.join(' ')));
            card = std::make_shared<ScriptedCard>(*reader, *atr, apdus_);
        }
        return hostChange(client_.insertCard(*reader, card),
                          QStringLiteral("card inserted in reader %1").arg(*reader));
    }
    if (name == "sleep") {
        const auto ms = words.size() == 2 ? parseDurationMs(words[1]) : std::nullopt;
        if (!ms)
            return fail(QStringLiteral("sleep expects a duration such as 500ms or 2s"));
        const QDeadlineTimer deadline(*ms);
        // A coarse timer (Qt's default from 2 s on) may fire up to 5% early, before the
        // deadline, and nothing else would wake the wait then: precise, and a millisecond late.
        QTimer::singleShot(*ms + 1, Qt::PreciseTimer, this, &CommandRunner::checkWait);
        return waitUntil([deadline] { return deadline.hasExpired(); }, *ms + 60000,
                         QStringLiteral("sleep overran"));
    }
    if (name == "wait-apdu") {
        bool ok = true;
        const int count = words.size() > 1 ? words[1].toInt(&ok) : 1;
        const auto timeout = words.size() > 2 ? parseDurationMs(words[2]) : defaultTimeoutMs_;
        if (!ok || count < 1 || !timeout || words.size() > 3)
            return fail(QStringLiteral("expected wait-apdu [COUNT] [TIMEOUT]"));
        const std::uint64_t target = apduMark_ + static_cast<std::uint64_t>(count);
        return waitUntil([this, target] { return client_.apdusAnswered() >= target; }, *timeout,
                         QStringLiteral("%1 APDU(s) expected within %2 ms, %3 answered")
                             .arg(count)
                             .arg(*timeout)
                             .arg(client_.apdusAnswered() - apduMark_),
                         [this, target] {
                             apduMark_ = target;
                             return Outcome::Done;
                         });
    }
    if (name == "expect-apdu") {
        const auto expected = words.size() >= 2 ? parseHex(words[1]) : std::nullopt;
        const auto timeout = words.size() > 2 ? parseDurationMs(words[2]) : defaultTimeoutMs_;
        if (!expected || !timeout || words.size() > 3)
            return fail(QStringLiteral("expected expect-apdu HEX [TIMEOUT]"));
        if (current_)
            return fail(QStringLiteral("the previous APDU was never answered (respond HEX)"));
        const Bytes want = *expected;
        return waitUntil(
            [this] { return !apdus_.empty(); }, *timeout,
            QStringLiteral("no APDU within %1 ms, expected %2").arg(*timeout).arg(hex(want)),
            [this, want] {
                current_ = apdus_.take();
                if (current_->command == want)
                    return Outcome::Done;
                const QString got = hex(current_->command);
                current_->done(Bytes{0x6F, 0x00}); // the host must not hang
                current_.reset();
                return fail(QStringLiteral("expected APDU %1, got %2").arg(hex(want), got));
            });
    }
    if (name == "respond") {
        const auto response = words.size() == 2 ? parseHex(words[1]) : std::nullopt;
        if (!response || response->size() < 2)
            return fail(QStringLiteral("respond expects HEX with at least SW1 SW2"));
        if (!current_)
            return fail(QStringLiteral("respond without an APDU taken by expect-apdu"));
        PendingApdu apdu = std::move(*current_);
        current_.reset();
        apdu.done(*response);
        return Outcome::Done;
    }
    return fail(QStringLiteral("unknown command \"%1\" (try 'help')").arg(name));
}

CommandRunner::Outcome CommandRunner::waitUntil(std::function<bool()> condition, int timeoutMs,
                                                QString what, std::function<Outcome()> then)
{
    if (condition())
        return then ? then() : Outcome::Done;
    waitCondition_ = std::move(condition);
    waitThen_ = std::move(then);
    waitWhat_ = std::move(what);
    waitTimer_.start(timeoutMs);
    return Outcome::Waiting;
}

void CommandRunner::checkWait()
{
    if (!waitCondition_ || !waitCondition_())
        return;
    waitTimer_.stop();
    waitCondition_ = nullptr;
    auto then = std::move(waitThen_);
    waitThen_ = nullptr;
    const Outcome outcome = then ? then() : Outcome::Done;
    if (outcome == Outcome::Failed) {
        endProgram(false, error_);
        return;
    }
    if (outcome == Outcome::Done)
        QTimer::singleShot(0, this, &CommandRunner::step);
}

} // namespace vscard::client
