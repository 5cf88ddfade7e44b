#include "audit_trail.h"

#include "display_text.h"
#include "token_bucket.h"

#include <QDateTime>
#include <QFile>
#include <QHash>
#include <QMutex>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cstring>

Q_LOGGING_CATEGORY(lcAudit, "vscard.audit")

namespace vscard::server {

namespace {

constexpr const char* kJournalSocket = "/run/systemd/journal/socket";
constexpr const char* kSyslogSocket = "/dev/log";

// journald's native protocol: one datagram of FIELD=value lines.
class JournalSink : public AuditSink {
public:
    explicit JournalSink(QString path) : path_(std::move(path))
    {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    }
    ~JournalSink() override
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    void write(const QString& event, const QString& message) override
    {
        // Events are one line (the handler escapes control characters): the text form of a
        // field does.
        const QByteArray datagram =
            "MESSAGE=" + message.toUtf8() + "\nPRIORITY=5\nSYSLOG_FACILITY=10\n" +
            "SYSLOG_IDENTIFIER=server-ccid\nSYSLOG_PID=" + QByteArray::number(::getpid()) +
            "\nVSCARD_EVENT=" + event.toUtf8() + "\n";
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        const QByteArray path = path_.toLocal8Bit();
        std::memcpy(address.sun_path, path.constData(),
                    std::min<std::size_t>(path.size(), sizeof address.sun_path - 1));
        // A full journal drops the event rather than stalling the server; the next event that
        // gets through says how many did not.
        const auto send = [&](const QByteArray& bytes) {
            return ::sendto(fd_, bytes.constData(), static_cast<std::size_t>(bytes.size()),
                            MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&address),
                            sizeof address) >= 0;
        };
        if (lost_ > 0 && send("MESSAGE=audit-lost " + QByteArray::number(qulonglong(lost_)) +
                              " events the journal did not take\nPRIORITY=4\nSYSLOG_FACILITY=10\n"
                              "SYSLOG_IDENTIFIER=server-ccid\nVSCARD_EVENT=audit-lost\n"))
            lost_ = 0;
        if (!send(datagram))
            ++lost_;
    }
    QString describe() const override
    {
        return path_ == QLatin1String(kJournalSocket) ? QStringLiteral("the journal")
                                                      : QStringLiteral("the journal at ") + path_;
    }

private:
    QString path_;
    int fd_ = -1;
    std::size_t lost_ = 0;
};

class SyslogSink : public AuditSink {
public:
    SyslogSink() { ::openlog("server-ccid", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV); }
    ~SyslogSink() override { ::closelog(); }
    void write(const QString&, const QString& message) override
    {
        ::syslog(LOG_NOTICE, "%s", message.toUtf8().constData());
    }
    QString describe() const override { return QStringLiteral("syslog (authpriv)"); }
};

class FileSink : public AuditSink {
public:
    explicit FileSink(int fd, QString path) : fd_(fd), path_(std::move(path)) {}
    ~FileSink() override { ::close(fd_); }
    void write(const QString&, const QString& message) override
    {
        const QByteArray line =
            QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs).toUtf8() + " server-ccid[" +
            QByteArray::number(::getpid()) + "]: " + message.toUtf8() + "\n";
        // O_APPEND and one write per event: lines of concurrent writers never interleave.
        [[maybe_unused]] const auto written =
            ::write(fd_, line.constData(), static_cast<std::size_t>(line.size()));
    }
    QString describe() const override { return QStringLiteral("the file ") + path_; }

private:
    int fd_;
    QString path_;
};

class StderrSink : public AuditSink {
public:
    void write(const QString&, const QString&) override {} // the handler prints it
    QString describe() const override { return QStringLiteral("stderr"); }
};

// A bucket per kind of message: a burst of 50, then 20 a second.
class RateLimiter {
public:
    // True when the message may pass; `heldBack` is then how many were held back before it.
    bool admit(const QByteArray& kind, qint64& heldBack)
    {
        auto found = buckets_.find(kind);
        if (found == buckets_.end())
            found = buckets_.insert(kind, Limited{TokenBucket(20, 50), 0});
        if (!found->bucket.tryTake()) {
            ++found->heldBack;
            return false;
        }
        heldBack = std::exchange(found->heldBack, 0);
        return true;
    }

private:
    struct Limited {
        TokenBucket bucket;
        qint64 heldBack;
    };
    QHash<QByteArray, Limited> buckets_;
};

std::unique_ptr<AuditSink> auditSink;
QtMessageHandler previousHandler = nullptr;
RateLimiter rateLimiter;
QMutex handlerMutex;

// A log line stays one line: text a client chose (a reader name, a certificate subject) must
// not start a line of its own, which would read as an event of ours.
QString oneLine(const QString& message)
{
    return escapeControls(message);
}

void handleMessage(QtMsgType type, const QMessageLogContext& context, const QString& message)
{
    QMutexLocker locker(&handlerMutex);
    const bool audit = context.category && std::strcmp(context.category, "vscard.audit") == 0;
    const QString text = oneLine(message);
    const QString event = audit ? text.section(QLatin1Char(' '), 0, 0) : QString();
    // Warnings are limited, and of the audit events only refusals: those are what a flood of
    // strangers makes, while what admitted clients do stays on record whole (their message
    // rate bounds it). QtInfoMsg sorts after QtWarningMsg in QtMsgType: name the types.
    const bool limited =
        audit ? event == QLatin1String("refuse") : type == QtWarningMsg || type == QtCriticalMsg;
    if (limited) {
        qint64 heldBack = 0;
        const QByteArray kind = audit              ? QByteArray("audit refusals")
                                : context.category ? QByteArray(context.category)
                                                   : QByteArray("default");
        if (!rateLimiter.admit(kind, heldBack))
            return;
        if (heldBack > 0 && audit && auditSink) {
            const QString note =
                QStringLiteral("refuse-held-back %1 more refusals not recorded: too many per "
                               "second")
                    .arg(heldBack);
            auditSink->write(QStringLiteral("refuse-held-back"), note);
            previousHandler(QtWarningMsg, context, note);
        } else if (heldBack > 0) {
            previousHandler(QtWarningMsg, context,
                            QStringLiteral("(%1 more warning messages held back: too many per "
                                           "second)")
                                .arg(heldBack));
        }
    }
    if (audit && auditSink) {
        auditSink->write(event, text);
        if (!dynamic_cast<StderrSink*>(auditSink.get()))
            return;
    }
    previousHandler(type, context, audit ? QStringLiteral("audit: ") + text : text);
}

QString verifyOutcome(ByteView response)
{
    if (response.size() < 2)
        return QStringLiteral("answered without a status word");
    const std::uint8_t sw1 = response[response.size() - 2];
    const std::uint8_t sw2 = response[response.size() - 1];
    const QString status = QStringLiteral("%1%2")
                               .arg(sw1, 2, 16, QLatin1Char('0'))
                               .arg(sw2, 2, 16, QLatin1Char('0'))
                               .toUpper();
    if (sw1 == 0x90 && sw2 == 0x00)
        return QStringLiteral("accepted (9000)");
    if (sw1 == 0x63 && (sw2 & 0xF0) == 0xC0)
        return QStringLiteral("refused, %1 tries left (%2)").arg(sw2 & 0x0F).arg(status);
    if (sw1 == 0x69 && sw2 == 0x83)
        return QStringLiteral("refused, blocked (6983)");
    return QStringLiteral("answered %1").arg(status);
}

} // namespace

Result<std::unique_ptr<AuditSink>, QString> openAuditSink(const QString& target)
{
    if (target == QLatin1String("auto")) {
        if (::access(kJournalSocket, W_OK) == 0)
            return std::unique_ptr<AuditSink>(new JournalSink(QString::fromLatin1(kJournalSocket)));
        if (::access(kSyslogSocket, W_OK) == 0)
            return std::unique_ptr<AuditSink>(new SyslogSink);
        return std::unique_ptr<AuditSink>(new StderrSink);
    }
    if (target == QLatin1String("journal") || target.startsWith(QLatin1String("journal:"))) {
        const QString path = target == QLatin1String("journal")
                                 ? QString::fromLatin1(kJournalSocket)
                                 : target.mid(8);
        if (path.toLocal8Bit().size() >= static_cast<int>(sizeof(sockaddr_un::sun_path)))
            return fail(QStringLiteral("%1: the socket path is too long").arg(path));
        if (::access(path.toLocal8Bit().constData(), W_OK) != 0)
            return fail(QStringLiteral("%1: no journal socket there (%2)")
                            .arg(path, QString::fromLocal8Bit(std::strerror(errno))));
        return std::unique_ptr<AuditSink>(new JournalSink(path));
    }
    if (target == QLatin1String("syslog"))
        return std::unique_ptr<AuditSink>(new SyslogSink);
    if (target == QLatin1String("stderr"))
        return std::unique_ptr<AuditSink>(new StderrSink);
    if (target.startsWith(QLatin1String("file:")) && target.size() > 5) {
        const QString path = target.mid(5);
        const int fd =
            ::open(path.toLocal8Bit().constData(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return fail(
                QStringLiteral("%1: %2").arg(path, QString::fromLocal8Bit(std::strerror(errno))));
        return std::unique_ptr<AuditSink>(new FileSink(fd, path));
    }
    return fail(QStringLiteral("\"%1\" is not auto, journal[:SOCKET], syslog, file:PATH or stderr")
                    .arg(target));
}

void installAuditTrail(std::unique_ptr<AuditSink> sink)
{
    QMutexLocker locker(&handlerMutex);
    auditSink = std::move(sink);
    if (!previousHandler)
        previousHandler = qInstallMessageHandler(handleMessage);
}

void auditVerify(int slot, const QString& reader, const QString& peer, ByteView command,
                 ByteView response)
{
    if (command.size() < 4 || command[1] != 0x20)
        return;
    const bool query = command.size() <= 5; // no data: "how many tries are left?"
    // One arg() call: a reader name holding "%3" must stay text.
    qCInfo(lcAudit).noquote() << QStringLiteral("verify slot %1 reader \"%2\" by %3: PIN %4 %5%6")
                                     .arg(QString::number(slot), reader, peer,
                                          QStringLiteral("%1").arg(command[3], 2, 16,
                                                                   QLatin1Char('0')),
                                          query ? QStringLiteral("status query ") : QString(),
                                          verifyOutcome(response));
}

} // namespace vscard::server
