// Configuration files that mirror a program's long options, one per line, so that what works
// on the command line works in the file without a second vocabulary:
//   # a comment (whole lines only: values may hold '#')
//   listen = unix:/run/vscard/vscard.sock
//   listen = tcp:127.0.0.1:2001      (repeatable options repeat)
//   pcsc = yes                       (flags: yes/no, true/false, on/off, 1/0; or the name alone)
// The value is everything after '=', spaces trimmed, quotes kept (libcacard's option strings
// hold quotes of their own). The command line wins: an option it sets, the file's lines for
// that option are dropped, repeatable options included.
#pragma once

#include "vscard/result.h"

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QList>
#include <QString>
#include <QStringList>

#include <functional>
#include <optional>

namespace vscard {

struct ConfigEntry {
    QString option; // a long option name, without dashes
    QString value;  // empty for a flag
    bool isFlag = false;
};

struct ConfigSyntax {
    QList<QCommandLineOption> options; // what the file may set
    QStringList excluded;              // one-shot options that make no sense in a file
};

// Reads and checks FILE: unknown options, flags given values other than yes/no, options that
// need a value without one are errors of the form "FILE:LINE: ...". A flag set to "no" yields
// no entry.
Result<QList<ConfigEntry>, QString> readConfigFile(const QString& path, const ConfigSyntax& syntax);

// The arguments to parse: the program name, then the file's entries for every option that
// `setOnCommandLine` says the command line leaves alone, then the command line's own
// arguments (arguments[0] is the program).
QStringList mergeConfigEntries(const QStringList& arguments, const QList<ConfigEntry>& entries,
                               const std::function<bool(const QString&)>& setOnCommandLine);

// What a program parses once its configuration file is read.
struct ConfiguredArguments {
    QStringList arguments;       // the file's entries, then the command line's
    std::optional<QString> file; // the file that was read, if any
};

// The two passes both programs make: COMMANDLINE (the arguments parsed alone, with SYNTAX's
// options) says which file to read (--config FILE; '' reads none; else DEFAULTFILE when it
// exists) and which options it sets itself (`setOnCommandLine`, by default what it has set).
// A missing --config file or a bad line is an error; a missing default file is not.
Result<ConfiguredArguments, QString>
applyConfigFile(const QStringList& arguments, const QCommandLineParser& commandLine,
                const ConfigSyntax& syntax, const QString& defaultFile,
                std::function<bool(const QString&)> setOnCommandLine = {});

} // namespace vscard
