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
#include <QList>
#include <QString>
#include <QStringList>

#include <functional>

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

} // namespace vscard
