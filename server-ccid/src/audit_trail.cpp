#include "audit_trail.h"

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
        // A value with a newline would need the binary field form; events are one line.
        QString line = message;
        line.replace(QLatin1Char('\n'), QLatin1Char(' '));
        const QByteArray datagram =
            "MESSAGE=" + line.toUtf8() + "\nPRIORITY=5\nSYSLOG_FACILITY=10\n" +
            "SYSLOG_IDENTIFIER=server-ccid\nSYSLOG_PID=" + QByteArray::number(::getpid()) +
            "\nVSCARD_EVENT=" + event.toUtf8() + "\n";
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        const QByteArray path = path_.toLocal8Bit();
        std::memcpy(address.sun_path, path.constData(),
                    std::min<std::size_t>(path.size(), sizeof address.sun_path - 1));
        // A full journal drops the event rather than stalling the server.
        if (::sendto(fd_, datagram.constData(), static_cast<std::size_t>(datagram.size()),
                     MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&address),
                     sizeof address) < 0)
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

// A bucket per category. Warnings: a burst of 50, then 20 a second. Audit events are the
// record, so their bucket is wider: 256 readers with cards attaching at once pass whole
// (1000, then 200 a second); what a flood makes beyond that is counted, not kept.
class RateLimiter {
public:
    // True when the message may pass; `heldBack` is then how many were held back before it.
    bool admit(const char* category, bool audit, qint64& heldBack)
    {
        auto found = buckets_.find(QByteArray(category));
        if (found == buckets_.end())
            found =
                buckets_.insert(QByteArray(category),
                                Limited{audit ? TokenBucket(200, 1000) : TokenBucket(20, 50), 0});
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

void handleMessage(QtMsgType type, const QMessageLogContext& context, const QString& message)
{
    QMutexLocker locker(&handlerMutex);
    const bool audit = context.category && std::strcmp(context.category, "vscard.audit") == 0;
    // QtInfoMsg sorts after QtWarningMsg in QtMsgType: name the types.
    if (audit || type == QtWarningMsg || type == QtCriticalMsg) {
        qint64 heldBack = 0;
        if (!rateLimiter.admit(context.category ? context.category : "default", audit, heldBack))
            return;
        if (heldBack > 0)
            previousHandler(QtWarningMsg, context,
                            QStringLiteral("(%1 more %2 held back: too many per second)")
                                .arg(heldBack)
                                .arg(QLatin1String(audit ? "audit events" : "warning messages")));
    }
    if (audit && auditSink) {
        auditSink->write(message.section(QLatin1Char(' '), 0, 0), message);
        if (!dynamic_cast<StderrSink*>(auditSink.get()))
            return;
    }
    previousHandler(type, context, audit ? QStringLiteral("audit: ") + message : message);
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
    qCInfo(lcAudit).noquote() << QStringLiteral("verify slot %1 reader \"%2\" by %3: PIN %4 %5%6")
                                     .arg(slot)
                                     .arg(reader, peer)
                                     .arg(command[3], 2, 16, QLatin1Char('0'))
                                     .arg(query ? QStringLiteral("status query ") : QString())
                                     .arg(verifyOutcome(response));
}

} // namespace vscard::server
