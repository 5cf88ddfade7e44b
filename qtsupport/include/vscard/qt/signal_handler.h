// SIGINT and SIGTERM end the event loop gracefully, and SIGHUP, for a program that asks for it,
// requests a reload: the handler only writes to a socketpair, and a QSocketNotifier turns that
// into a signal in the event loop.
#pragma once

#include <QObject>

class QSocketNotifier;

namespace vscard {

class GracefulStop : public QObject {
    Q_OBJECT

public:
    explicit GracefulStop(QObject* parent = nullptr);
    ~GracefulStop() override;

    // SIGHUP emits reloadRequested instead of ending the program.
    void catchHangup();

Q_SIGNALS:
    void stopRequested(int signal);
    void reloadRequested();

private:
    QSocketNotifier* notifier_ = nullptr;
};

} // namespace vscard
