// The benchmarks' figures in one place: merges every JSON file the benchmarks of this run wrote
// (bench_report.h) with a description of the machine into summary.json, prints every goal of
// issue 9 with its ratio, and draws benchmarks.png with gnuplot: the latency distributions of
// the PC/SC round trips and the scale curve. Registered after the other benchmarks; fails only
// when there is nothing to summarise or gnuplot cannot draw.
#include "bench_report.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QSysInfo>
#include <QTextStream>
#include <QThread>
#include <QtTest>

#include <sys/sysinfo.h>

namespace {

QString firstLineWith(const QString& path, const QString& key)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    for (const QByteArray& line : file.readAll().split('\n'))
        if (line.startsWith(key.toLatin1()))
            return QString::fromUtf8(line.mid(line.indexOf(':') + 1)).trimmed();
    return {};
}

QJsonObject machine()
{
    struct sysinfo info {};
    ::sysinfo(&info);
    return QJsonObject{
        {"cpu", firstLineWith("/proc/cpuinfo", "model name")},
        {"cores", QThread::idealThreadCount()},
        {"memory_gib", static_cast<double>(info.totalram) * info.mem_unit / (1 << 30)},
        {"kernel", QSysInfo::kernelVersion()},
        {"os", QSysInfo::prettyProductName()},
        {"date", QDateTime::currentDateTimeUtc().toString(Qt::ISODate)}};
}

} // namespace

class BenchSummary : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void summary_jsonAndPlot();
};

void BenchSummary::summary_jsonAndPlot()
{
    const QDir directory(vscard::bench::resultsDirectory());
    QJsonObject benches;
    QStringList targetLines;
    for (const QString& name : directory.entryList({"*.json"}, QDir::Files)) {
        if (name == "summary.json")
            continue;
        QFile file(directory.filePath(name));
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QJsonObject bench = QJsonDocument::fromJson(file.readAll()).object();
        benches.insert(bench.value("bench").toString(), bench);
        for (const QJsonValue& target : bench.value("targets").toArray()) {
            const QJsonObject t = target.toObject();
            targetLines << QString::asprintf(
                "  %-62s %9.2f  %-9s %s", qPrintable(t.value("target").toString()),
                t.value("ratio").toDouble(), qPrintable(t.value("goal").toString()),
                t.value("met").toBool() ? "met" : "MISSED");
        }
    }
    QVERIFY2(!benches.isEmpty(), "no benchmark wrote results");
    const QJsonObject summary{{"machine", machine()}, {"benches", benches}};
    QFile out(directory.filePath("summary.json"));
    QVERIFY(out.open(QIODevice::WriteOnly));
    out.write(QJsonDocument(summary).toJson());
    out.close();

    std::printf("\nIssue 9's goals, this run (%s mode), on %s, %d cores\n",
                vscard::bench::fullRun() ? "full" : "smoke",
                qPrintable(summary["machine"]["cpu"].toString()),
                summary["machine"]["cores"].toInt());
    for (const QString& line : targetLines)
        std::printf("%s\n", qPrintable(line));

    // Data files for gnuplot: one latency CDF per round-trip configuration, the scale rows.
    QStringList cdfPlots;
    const QJsonObject samples = benches["pcsc_round_trip"].toObject()["samples"].toObject();
    int index = 0;
    for (auto it = samples.begin(); it != samples.end(); ++it, ++index) {
        std::vector<double> values;
        for (const QJsonValue& value : it.value().toArray())
            values.push_back(value.toDouble());
        std::sort(values.begin(), values.end());
        const QString data = directory.filePath(QStringLiteral("cdf-%1.dat").arg(index));
        QFile file(data);
        QVERIFY(file.open(QIODevice::WriteOnly));
        QTextStream stream(&file);
        for (std::size_t i = 0; i < values.size(); ++i)
            stream << values[i] << ' ' << double(i + 1) / double(values.size()) << '\n';
        cdfPlots << QStringLiteral("'%1' using 1:2 with lines lw 2 title '%2'")
                        .arg(data, QString(it.key()).replace('\'', ' '));
    }
    QStringList scaleRows;
    for (const QJsonValue& row : benches["scale"].toObject()["results"].toArray()) {
        const QJsonObject r = row.toObject();
        scaleRows << QStringLiteral("%1 %2 %3 %4")
                         .arg(r["readers"].toInt())
                         .arg(r["saturation_apdus_per_s"].toDouble())
                         .arg(r["server_cpu_us_per_apdu"].toDouble())
                         .arg(r["paced_p99_us"].toDouble());
    }
    const QString scaleData = directory.filePath("scale.dat");
    QFile scaleFile(scaleData);
    QVERIFY(scaleFile.open(QIODevice::WriteOnly));
    scaleFile.write((scaleRows.join('\n') + '\n').toUtf8());
    scaleFile.close();

    const QString png = directory.filePath("benchmarks.png");
    QString script = QStringLiteral("set terminal pngcairo size 1400,600 font ',10' noenhanced\n"
                                    "set output '%1'\nset multiplot layout 1,2\n")
                         .arg(png);
    if (cdfPlots.isEmpty())
        script += "set title 'PC/SC round trips: no data'\nplot 0 notitle\n";
    else
        script += "set title 'PC/SC round trip latency (CDF)'\nset logscale x\n"
                  "set xlabel 'microseconds'\nset ylabel 'fraction of APDUs'\n"
                  "set key bottom right\nplot " +
                  cdfPlots.join(", ") + "\nunset logscale x\n";
    if (scaleRows.isEmpty())
        script += "set title 'Scale: no data'\nplot 0 notitle\n";
    else
        script +=
            QStringLiteral("set title 'Scale: one server-ccid'\nset logscale x 2\n"
                           "set xlabel 'readers'\nset ylabel 'APDU/s at saturation'\n"
                           "set y2label 'server CPU us per APDU'\nset ytics nomirror\nset y2tics\n"
                           "set key top left\nplot '%1' using 1:2 with linespoints lw 2 title "
                           "'throughput', '%1' using 1:3 axes x1y2 with linespoints lw 2 title "
                           "'CPU per APDU'\n")
                .arg(scaleData);
    script += "unset multiplot\n";
    QProcess gnuplot;
    gnuplot.setProcessChannelMode(QProcess::MergedChannels);
    gnuplot.start("gnuplot", {});
    QVERIFY2(gnuplot.waitForStarted(10000), "gnuplot is missing: ./packaging/install-deps test");
    gnuplot.write(script.toUtf8());
    gnuplot.closeWriteChannel();
    QVERIFY(gnuplot.waitForFinished(60000));
    QVERIFY2(gnuplot.exitCode() == 0 && QFile(png).size() > 0,
             qPrintable(QString::fromUtf8(gnuplot.readAll())));
    std::printf("  summary: %s\n  plot:    %s\n", qPrintable(out.fileName()), qPrintable(png));
}

QTEST_GUILESS_MAIN(BenchSummary)
#include "bench_summary.moc"
