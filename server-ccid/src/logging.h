// Logging categories of server-ccid, one per subsystem, and --trace.
#pragma once

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcServer) // vscard.server: listeners, clients coming and going
Q_DECLARE_LOGGING_CATEGORY(lcWire)   // vscard.wire: every VSCard message, decoded (debug)
Q_DECLARE_LOGGING_CATEGORY(lcCcid)   // vscard.ccid: every CCID message, decoded (debug)
Q_DECLARE_LOGGING_CATEGORY(lcPcsc)   // vscard.pcsc: the pcscd driver link

namespace vscard::server {

// Enables debug output for the categories matching the glob list (see trace::TraceFilter),
// e.g. "vscard.*" or "vscard.wire,vscard.ccid". Info and warnings stay on regardless.
void installTraceFilter(const QString& globs);

} // namespace vscard::server
