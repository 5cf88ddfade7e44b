// SIGINT and SIGTERM end the event loop gracefully: the handler only writes to a socketpair,
// and a QSocketNotifier turns that into a quit in the event loop.
#pragma once

#include <QObject>

class QSocketNotifier;

namespace vscard {

class GracefulStop : public QObject {
    Q_OBJECT

public:
    explicit GracefulStop(QObject* parent = nullptr);
    ~GracefulStop() override;

Q_SIGNALS:
    void stopRequested(int signal);

private:
    QSocketNotifier* notifier_ = nullptr;
};

} // namespace vscard
