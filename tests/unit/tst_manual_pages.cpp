// The manual pages say what --help says: every option, in the same order, with the same
// words (the troff source's OPTIONS section against the programs' own output), and groff
// renders them without a warning.
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QtTest>

namespace {

// "-h, --help: Show this help and exit." for each option of --help's "Options:" block.
QStringList helpOptions(const QString& help)
{
    QStringList entries;
    bool inOptions = false;
    static const QRegularExpression optionLine(R"(^  (-\S.*?)(?:\s{2,}(\S.*))?$)");
    for (const QString& line : help.split('\n')) {
        if (line == QLatin1String("Options:")) {
            inOptions = true;
            continue;
        }
        if (!inOptions)
            continue;
        if (line.trimmed().isEmpty() || !line.startsWith(' '))
            break;
        const auto match = optionLine.match(line);
        if (match.hasMatch()) {
            QString names = match.captured(1).trimmed();
            names.remove('<').remove('>');
            entries << names + ":" + (match.captured(2).isEmpty() ? "" : " " + match.captured(2));
        } else if (!entries.isEmpty()) {
            entries.last() += (entries.last().endsWith(':') ? " " : " ") + line.trimmed();
        }
    }
    for (QString& entry : entries)
        entry = entry.simplified();
    return entries;
}

QString unescapeTroff(QString text)
{
    text.remove(QRegularExpression(R"(\\f[BIRP])"));
    text.replace(QLatin1String("\\-"), QLatin1String("-"));
    text.replace(QLatin1String("\\e"), QLatin1String("\\"));
    return text;
}

// The same from the .TP entries of a man page's OPTIONS section.
QStringList manOptions(const QString& page)
{
    QStringList entries;
    bool inOptions = false;
    bool expectNames = false;
    for (const QString& line : page.split('\n')) {
        if (line.startsWith(QLatin1String(".SH"))) {
            inOptions = line == QLatin1String(".SH OPTIONS");
            continue;
        }
        if (!inOptions)
            continue;
        if (line == QLatin1String(".TP")) {
            expectNames = true;
        } else if (expectNames && line.startsWith(QLatin1String(".B "))) {
            entries << unescapeTroff(line.mid(3)).simplified() + ":";
            expectNames = false;
        } else if (!line.startsWith('.') && !entries.isEmpty()) {
            entries.last() += " " + unescapeTroff(line);
        }
    }
    for (QString& entry : entries)
        entry = entry.simplified();
    return entries;
}

QString run(const QString& program, const QStringList& arguments, QString* errors = nullptr)
{
    QProcess process;
    process.start(program, arguments);
    process.waitForFinished(10000);
    if (errors)
        *errors = QString::fromUtf8(process.readAllStandardError());
    return QString::fromUtf8(process.readAllStandardOutput());
}

} // namespace

class TestManualPages : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void options_sameAsHelp_data();
    void options_sameAsHelp();
};

void TestManualPages::options_sameAsHelp_data()
{
    QTest::addColumn<QString>("program");
    QTest::addColumn<QString>("page");
    QTest::newRow("server-ccid") << VSCARD_SERVER_BIN << VSCARD_MAN_DIR "/server-ccid.1";
    QTest::newRow("vscclient") << VSCARD_CLIENT_BIN << VSCARD_MAN_DIR "/vscclient.1";
}

void TestManualPages::options_sameAsHelp()
{
    QFETCH(QString, program);
    QFETCH(QString, page);
    QFile file(page);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QString source = QString::fromUtf8(file.readAll());
    const QStringList fromHelp = helpOptions(run(program, {"--help"}));
    QVERIFY2(fromHelp.size() > 10, qPrintable(fromHelp.join('\n')));
    const QStringList fromPage = manOptions(source);
    for (qsizetype i = 0; i < std::max(fromHelp.size(), fromPage.size()); ++i)
        QVERIFY2(fromHelp.value(i) == fromPage.value(i),
                 qPrintable(QStringLiteral("option %1 differs:\n --help: %2\n    man: %3")
                                .arg(i)
                                .arg(fromHelp.value(i), fromPage.value(i))));

    // groff, as man(1) would run it, with every warning on.
    QString warnings;
    const QString rendered =
        run("groff", {"-man", "-Tutf8", "-ww", "-rLL=100n", "-P-cbou", page}, &warnings);
    QVERIFY2(warnings.isEmpty(), qPrintable(warnings));
    QVERIFY(rendered.contains("OPTIONS"));
}

QTEST_GUILESS_MAIN(TestManualPages)
#include "tst_manual_pages.moc"
