// The orchestrator's database as the report's input: the one place that turns GetStatus()
// into a report::ReportInput, used by `isoflop report --db` and by the daemon's live report
// at `/` (docs/orchestrator.md, "Status API"). The report library knows nothing of the
// orchestrator; this bridge lives on the orchestrator's side.
#ifndef ISOFLOP_ORCHESTRATOR_REPORT_H_
#define ISOFLOP_ORCHESTRATOR_REPORT_H_

#include <string>
#include <vector>

#include "isoflop/report.h"
#include "isoflop/status.h"

namespace isoflop::orchestrator {

// Adds every run in `db_path` to input->runs and, unless the caller already set them,
// the latest stored fit and plan. A run directory whose files cannot be read is skipped
// with a line in *notes (may be null). kFailedPrecondition when the database has no runs.
Status FillReportInputFromDb(const std::string& db_path, report::ReportInput* input,
                             std::vector<std::string>* notes = nullptr);

}  // namespace isoflop::orchestrator

#endif  // ISOFLOP_ORCHESTRATOR_REPORT_H_
