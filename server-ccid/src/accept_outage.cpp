#include "accept_outage.h"

#include "descriptor_budget.h"
#include "logging.h"

#include <QTimer>

#include <cerrno>

namespace vscard::server {

namespace {

QString openDescriptors(int count)
{
    return count < 0 ? QStringLiteral("all") : QString::number(count);
}

} // namespace

AcceptOutage::AcceptOutage(QString listener, std::function<void()> resume, QObject* parent)
    : QObject(parent), listener_(std::move(listener)), resume_(std::move(resume)),
      retry_(new QTimer(this)), quiet_(new QTimer(this))
{
    retry_->setSingleShot(true);
    retry_->setInterval(kRetryMs);
    connect(retry_, &QTimer::timeout, this, [this] { resume_(); });
    quiet_->setSingleShot(true);
    quiet_->setInterval(kQuietMs);
    connect(quiet_, &QTimer::timeout, this, &AcceptOutage::end);
}

bool AcceptOutage::isTemporary(int error)
{
    return error == EAGAIN || error == EWOULDBLOCK || error == EINTR || error == ECONNABORTED ||
           error == EPROTO || error == EPERM;
}

void AcceptOutage::acceptFailed(const QString& reason)
{
    if (!ongoing())
        begin(QStringLiteral("cannot accept connections: %1 (%2 of %3 descriptors open); "
                             "accepting paused, retried every %4 ms")
                  .arg(reason, openDescriptors(DescriptorBudget::openCount()))
                  .arg(DescriptorBudget::limit())
                  .arg(kRetryMs));
    ++failures_;
    lastEventMs_ = started_.elapsed();
    quiet_->start();
    retry_->start();
}

void AcceptOutage::refused()
{
    if (!ongoing()) {
        const int limit = DescriptorBudget::limit();
        begin(QStringLiteral("refusing new connections: %1 of %2 descriptors open, the last %3 "
                             "are kept for pcscd's driver link")
                  .arg(openDescriptors(DescriptorBudget::openCount()))
                  .arg(limit)
                  .arg(DescriptorBudget::reserve(limit)));
    }
    ++refusals_;
    lastEventMs_ = started_.elapsed();
    quiet_->start();
}

void AcceptOutage::begin(const QString& why)
{
    started_.start();
    failures_ = 0;
    refusals_ = 0;
    qCWarning(lcServer).noquote() << "listener" << listener_ << why;
}

void AcceptOutage::end()
{
    qCWarning(lcServer).noquote()
        << QStringLiteral("listener %1 accepts again: the outage lasted %2 s (%3 failed "
                          "accepts, %4 connections refused)")
               .arg(listener_)
               .arg(static_cast<double>(lastEventMs_) / 1000.0, 0, 'f', 1)
               .arg(failures_)
               .arg(refusals_);
    started_.invalidate();
}

} // namespace vscard::server
