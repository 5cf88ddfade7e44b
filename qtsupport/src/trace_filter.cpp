#include "vscard/qt/trace_filter.h"

#include "vscard/trace.h"

#include <QLoggingCategory>

#include <cstring>

namespace vscard {

namespace {

trace::TraceFilter traceFilter;
QLoggingCategory::CategoryFilter previousFilter = nullptr;
bool installed = false;

void applyTraceFilter(QLoggingCategory* category)
{
    if (previousFilter)
        previousFilter(category);
    if (std::strncmp(category->categoryName(), "vscard.", 7) != 0)
        return;
    category->setEnabled(QtDebugMsg, traceFilter.enabled(category->categoryName()));
}

} // namespace

void installTraceFilter(const QString& globs)
{
    traceFilter = trace::TraceFilter(globs.toStdString());
    // Installing again makes Qt apply the new globs to every category; the filter we chain
    // to stays the one that was there before us.
    const auto previous = QLoggingCategory::installFilter(applyTraceFilter);
    if (!installed)
        previousFilter = previous;
    installed = true;
}

QCommandLineOption traceSecretsOption()
{
    return QCommandLineOption(
        "trace-secrets",
        "Show in --trace (and --pcap) what they mask otherwise: the data of VERIFY, CHANGE "
        "REFERENCE DATA and RESET RETRY COUNTER, CCID Secure PIN blocks, and answers to "
        "decipher commands. For debugging with test cards only.");
}

} // namespace vscard
