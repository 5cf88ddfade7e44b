// The audit trail (--audit): who connected, who was refused, which readers and cards came and
// went, and each VERIFY's outcome (never the PIN). Events are logged in the category
// vscard.audit with qCInfo(lcAudit), from anywhere; the message handler installed here sends
// them to the journal, syslog, a file or stderr. The same handler rate-limits warnings, so
// that a flood of bad connections cannot flood the log.
#pragma once

#include "vscard/bytes.h"
#include "vscard/result.h"

#include <QLoggingCategory>
#include <QString>

#include <memory>

Q_DECLARE_LOGGING_CATEGORY(lcAudit) // vscard.audit: the audit trail's events

namespace vscard::server {

class AuditSink {
public:
    virtual ~AuditSink() = default;
    // One event; `event` is its first word (connect, refuse, verify, ...).
    virtual void write(const QString& event, const QString& message) = 0;
    // "the journal", "syslog", "file /var/log/x", "stderr".
    virtual QString describe() const = 0;
};

// TARGET as --audit takes it: "journal" (the native journal socket, or journal:SOCKET),
// "syslog" (facility authpriv), "file:PATH" (appended, created 0600), "stderr", or "auto":
// the journal if its socket exists, else syslog if /dev/log exists, else stderr.
Result<std::unique_ptr<AuditSink>, QString> openAuditSink(const QString& target);

// Routes vscard.audit messages to the sink (they no longer go to stderr, unless the sink is
// stderr), keeps every log line one line (control characters escaped), and rate-limits
// warnings per category and refusal events (a burst of 50, then 20 a second), the number held
// back said when the flow calms down (for refusals, in the audit trail itself). Until called,
// audit events go to stderr like any other message.
void installAuditTrail(std::unique_ptr<AuditSink> sink);

// Audits a VERIFY the card answered: "verify slot 0 reader "X" by PEER: PIN 80 accepted".
// Does nothing for other commands. The command's data is never looked at.
void auditVerify(int slot, const QString& reader, const QString& peer, ByteView command,
                 ByteView response);

} // namespace vscard::server
