// --trace: debug output of the vscard.* logging categories matching a glob list.
#pragma once

#include <QCommandLineOption>
#include <QString>

namespace vscard {

// Enables debug output for the categories matching the glob list (see trace::TraceFilter),
// e.g. "vscard.*" or "vscard.wire,vscard.ccid". Info and warnings stay on regardless. May be
// called again to change the globs.
void installTraceFilter(const QString& globs);

// --trace-secrets, the same words in both programs: unmasks what traces (and --pcap) hide.
QCommandLineOption traceSecretsOption();

} // namespace vscard
