// One round of bench-sign (sign_load.cpp) for a configuration of a signature benchmark, its
// figures kept per round: bench_signatures (the CAC's) and bench_piv_signatures share it.
#pragma once

#include <QDebug>
#include <QProcess>
#include <QRegularExpression>
#include <QString>
#include <QStringList>

#include <vector>

namespace vscard::bench {

struct SignRun {
    QString name;
    QStringList arguments; // bench-sign's
    QString pcscdSocket;   // empty: NSS in-process
    std::vector<double> perSecond, p50, p99;
};

// Runs bench-sign once with the run's arguments (against its pcscd, if any); false, with
// bench-sign's output in the log, when it printed no result.
inline bool signRound(const QString& benchSign, SignRun& run)
{
    QProcess process;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    if (!run.pcscdSocket.isEmpty())
        environment.insert("PCSCLITE_CSOCK_NAME", run.pcscdSocket);
    environment.remove("LD_PRELOAD");
    process.setProcessEnvironment(environment);
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(benchSign, run.arguments);
    process.waitForFinished(600000);
    const QString output = QString::fromUtf8(process.readAll());
    const auto match = QRegularExpression("RESULT signatures=(\\d+) seconds=([0-9.]+) "
                                          "p50_us=([0-9.]+) p99_us=([0-9.]+)")
                           .match(output);
    if (!match.hasMatch()) {
        qWarning().noquote() << run.name << ":" << output;
        return false;
    }
    run.perSecond.push_back(match.captured(1).toDouble() / match.captured(2).toDouble());
    run.p50.push_back(match.captured(3).toDouble());
    run.p99.push_back(match.captured(4).toDouble());
    return true;
}

} // namespace vscard::bench
