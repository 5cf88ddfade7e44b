#include "vscard/qt/trace_filter.h"

#include "vscard/trace.h"

#include <QLoggingCategory>

#include <cstring>

namespace vscard {

namespace {

trace::TraceFilter traceFilter;
QLoggingCategory::CategoryFilter previousFilter = nullptr;

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
    previousFilter = QLoggingCategory::installFilter(applyTraceFilter);
}

} // namespace vscard
