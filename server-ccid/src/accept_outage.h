// One listener's outages: times when accept() fails for want of descriptors (or memory), and
// connections refused at once to keep the last descriptors for trusted peers. It says so in
// one line when an outage starts and one when it has ended (no failure or refusal for
// kQuietMs), with counts, however many connections hit it in between; and it retries the
// accepting the failure paused, by itself, until descriptors are free again.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QString>

#include <functional>

class QTimer;

namespace vscard::server {

class AcceptOutage : public QObject {
    Q_OBJECT

public:
    // listener: how log lines name it. resume: accepts again after a failure paused it.
    AcceptOutage(QString listener, std::function<void()> resume, QObject* parent = nullptr);

    // Whether accept()'s errno says only "not now" (nothing pending, a signal, a peer that
    // left): no outage, the next readiness tells again.
    static bool isTemporary(int error);
    // accept() failed for want of resources (reason: in words) and the listener paused:
    // counted, logged if it starts an outage, and resume() is called kRetryMs later.
    void acceptFailed(const QString& reason);
    // A connection was closed at once, because only the reserve was left.
    void refused();
    bool ongoing() const { return started_.isValid(); }

    static constexpr int kRetryMs = 200;
    static constexpr int kQuietMs = 2000;

private:
    void begin(const QString& why);
    void end();

    QString listener_;
    std::function<void()> resume_;
    QTimer* retry_;
    QTimer* quiet_;
    QElapsedTimer started_;
    qint64 lastEventMs_ = 0;
    int failures_ = 0;
    int refusals_ = 0;
};

} // namespace vscard::server
