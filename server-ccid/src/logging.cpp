#include "logging.h"

#include "vscard/trace.h"

#include <cstring>

Q_LOGGING_CATEGORY(lcServer, "vscard.server")
Q_LOGGING_CATEGORY(lcWire, "vscard.wire", QtInfoMsg)
Q_LOGGING_CATEGORY(lcCcid, "vscard.ccid", QtInfoMsg)
Q_LOGGING_CATEGORY(lcPcsc, "vscard.pcsc", QtInfoMsg)

namespace vscard::server {

namespace {

vscard::trace::TraceFilter traceFilter;
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
    traceFilter = vscard::trace::TraceFilter(globs.toStdString());
    previousFilter = QLoggingCategory::installFilter(applyTraceFilter);
}

} // namespace vscard::server
