// What every benchmark leaves behind besides its terminal table: a JSON file of its figures in
// the results directory ($VSCARD_BENCH_OUT, else bench-results in the build tree), which
// bench_summary merges with the machine's description into one JSON file and a plot.
#pragma once

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QString>

#include <algorithm>
#include <cstdio>
#include <vector>

namespace vscard::bench {

inline bool fullRun()
{
    return qEnvironmentVariableIntValue("VSCARD_BENCH_FULL") != 0;
}

inline QString resultsDirectory()
{
    const QString configured = qEnvironmentVariable("VSCARD_BENCH_OUT");
    const QString directory =
        configured.isEmpty() ? QStringLiteral(VSCARD_BENCH_RESULTS) : configured;
    QDir().mkpath(directory);
    return directory;
}

// p in [0, 1] of sorted samples.
inline double percentile(std::vector<double> samples, double p)
{
    if (samples.empty())
        return 0;
    std::sort(samples.begin(), samples.end());
    const auto index = std::min(samples.size() - 1, static_cast<std::size_t>(p * samples.size()));
    return samples[index];
}

inline double median(std::vector<double> samples)
{
    return percentile(std::move(samples), 0.5);
}

class Report {
public:
    explicit Report(QString name) : name_(std::move(name)) {}

    // One measured configuration: its figures by name ("apdus_per_s", "p99_us", ...).
    void add(const QString& configuration, const QJsonObject& figures)
    {
        QJsonObject entry = figures;
        entry.insert("configuration", configuration);
        results_.append(entry);
    }
    // A goal of the project (issue 9) as a ratio: met when ratio >= goal (or <= for "at most").
    void target(const QString& description, double ratio, double goal, bool atMost = false)
    {
        const bool met = atMost ? ratio <= goal : ratio >= goal;
        targets_.append(QJsonObject{{"target", description},
                                    {"ratio", ratio},
                                    {"goal", (atMost ? "<= " : ">= ") + QString::number(goal)},
                                    {"met", met}});
        std::printf("  target %-60s %8.2f  (goal %s %.2f) %s\n", qPrintable(description), ratio,
                    atMost ? "<=" : ">=", goal, met ? "met" : "MISSED");
    }
    // Raw samples (latencies in microseconds) for the plot.
    void samples(const QString& configuration, const std::vector<double>& values)
    {
        QJsonArray array;
        for (double value : values)
            array.append(value);
        samples_.insert(configuration, array);
    }
    void note(const QString& text) { notes_.append(text); }

    QString write() const
    {
        const QString path = resultsDirectory() + "/" + name_ + ".json";
        QFile file(path);
        if (file.open(QIODevice::WriteOnly))
            file.write(
                QJsonDocument(
                    QJsonObject{{"bench", name_},
                                {"mode", fullRun() ? "full" : "smoke"},
                                {"written", QDateTime::currentDateTimeUtc().toString(Qt::ISODate)},
                                {"results", results_},
                                {"targets", targets_},
                                {"notes", notes_},
                                {"samples", samples_}})
                    .toJson());
        return path;
    }

private:
    QString name_;
    QJsonArray results_;
    QJsonArray targets_;
    QJsonArray notes_;
    QJsonObject samples_;
};

} // namespace vscard::bench
