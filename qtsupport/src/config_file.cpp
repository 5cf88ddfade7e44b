#include "vscard/qt/config_file.h"

#include <QFile>
#include <QTextStream>

namespace vscard {

namespace {

const QCommandLineOption* findOption(const ConfigSyntax& syntax, const QString& name)
{
    for (const QCommandLineOption& option : syntax.options)
        if (option.names().contains(name))
            return name.size() > 1 ? &option : nullptr; // long names only: "-e" is not a key
    return nullptr;
}

// yes/no for a flag; nullopt when the word is neither.
std::optional<bool> flagValue(const QString& word)
{
    static const QStringList yes{"yes", "true", "on", "1"};
    static const QStringList no{"no", "false", "off", "0"};
    if (yes.contains(word.toLower()))
        return true;
    if (no.contains(word.toLower()))
        return false;
    return std::nullopt;
}

} // namespace

Result<QList<ConfigEntry>, QString> readConfigFile(const QString& path, const ConfigSyntax& syntax)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly | QIODevice::Text))
        return fail(QStringLiteral("%1: %2").arg(path, file.errorString()));
    QList<ConfigEntry> entries;
    QTextStream stream(&file);
    int lineNumber = 0;
    while (!stream.atEnd()) {
        const QString line = stream.readLine().trimmed();
        ++lineNumber;
        if (line.isEmpty() || line.startsWith(QLatin1Char('#')))
            continue;
        const auto where = [&](const QString& problem) {
            return fail(QStringLiteral("%1:%2: %3").arg(path).arg(lineNumber).arg(problem));
        };
        const qsizetype equals = line.indexOf(QLatin1Char('='));
        const QString name = (equals < 0 ? line : line.left(equals)).trimmed();
        const bool hasValue = equals >= 0;
        const QString value = hasValue ? line.mid(equals + 1).trimmed() : QString();
        if (syntax.excluded.contains(name))
            return where(QStringLiteral("\"%1\" belongs on the command line only").arg(name));
        const QCommandLineOption* option = findOption(syntax, name);
        if (!option)
            return where(QStringLiteral("unknown option \"%1\"").arg(name));
        if (option->valueName().isEmpty()) {
            const auto enabled = hasValue ? flagValue(value) : std::optional<bool>(true);
            if (!enabled)
                return where(
                    QStringLiteral("\"%1\" is a switch: yes or no, not \"%2\"").arg(name, value));
            if (*enabled)
                entries.append({name, {}, true});
            continue;
        }
        if (value.isEmpty())
            return where(
                QStringLiteral("\"%1\" needs a value (%1 = %2)").arg(name, option->valueName()));
        entries.append({name, value, false});
    }
    return entries;
}

QStringList mergeConfigEntries(const QStringList& arguments, const QList<ConfigEntry>& entries,
                               const std::function<bool(const QString&)>& setOnCommandLine)
{
    QStringList merged{arguments.value(0)};
    for (const ConfigEntry& entry : entries) {
        if (setOnCommandLine(entry.option))
            continue;
        // "--name=value" keeps a value that starts with '-' from reading as an option.
        merged << (entry.isFlag ? QStringLiteral("--%1").arg(entry.option)
                                : QStringLiteral("--%1=%2").arg(entry.option, entry.value));
    }
    merged << arguments.mid(1);
    return merged;
}

Result<ConfiguredArguments, QString>
applyConfigFile(const QStringList& arguments, const QCommandLineParser& commandLine,
                const ConfigSyntax& syntax, const QString& defaultFile,
                std::function<bool(const QString&)> setOnCommandLine)
{
    const bool named = commandLine.isSet("config");
    const QString file = named ? commandLine.value("config") : defaultFile;
    if (file.isEmpty() || (!named && !QFile::exists(file)))
        return ConfiguredArguments{arguments, std::nullopt};
    const auto entries = readConfigFile(file, syntax);
    if (!entries)
        return fail(entries.error());
    if (!setOnCommandLine)
        setOnCommandLine = [&commandLine](const QString& name) { return commandLine.isSet(name); };
    return ConfiguredArguments{mergeConfigEntries(arguments, *entries, setOnCommandLine), file};
}

} // namespace vscard
