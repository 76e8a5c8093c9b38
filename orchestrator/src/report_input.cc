// GetStatus() -> report::ReportInput (see isoflop/orchestrator_report.h).
#include "isoflop/fit_record.h"
#include "isoflop/orchestrator.h"
#include "isoflop/orchestrator_report.h"

namespace isoflop::orchestrator {

Status FillReportInputFromDb(const std::string& db_path, report::ReportInput* input,
                             std::vector<std::string>* notes) {
  auto status = GetStatus(db_path);
  if (!status.ok()) return status.status();
  for (const RunStatus& r : status->runs) {
    report::RunRecord rec;
    rec.id = r.sweep.empty() ? r.name : r.sweep + "/" + r.name;
    rec.params = r.params;
    rec.tokens = r.tokens;
    rec.flops = r.budget_flops > 0 ? r.budget_flops : report::kUnknown;
    auto state = report::ParseRunState(r.state);
    if (!state.ok()) return state.status().WithContext(db_path + ": run " + rec.id);
    rec.state = *state;
    rec.loss = r.final_eval_loss ? *r.final_eval_loss : report::kUnknown;
    // A live run is drawn at its latest training loss (hollow marker) until it has an eval loss.
    if (rec.state == report::RunState::kRunning && !r.final_eval_loss && r.last_train_loss)
      rec.loss = *r.last_train_loss;
    rec.attempts = r.attempt;
    if (!r.run_dir.empty()) {
      const Status filled = report::FillFromRunDir(r.run_dir, &rec);
      if (!filled.ok() && notes != nullptr) notes->push_back(filled.message() + " (skipped)");
    }
    input->runs.push_back(rec);
  }
  if (input->runs.empty()) return Status::FailedPrecondition(db_path + ": no runs in the database yet");
  if (!input->fit && status->fit_json != "null" && !status->fit_json.empty()) {
    // The core's one fit.json reader: the same FitRecord `isoflop report --fit` and the planner read.
    auto fit = ParseFitJson(status->fit_json, db_path + " (latest fit)");
    if (fit.ok())
      input->fit = *fit;
    else if (notes != nullptr)
      notes->push_back(fit.status().message() + " (the stored fit is not drawn)");
  }
  if (!input->plan && status->plan_json != "null" && !status->plan_json.empty()) {
    auto plan = report::ParsePlanJson(status->plan_json, db_path + " (latest plan)");
    if (plan.ok()) input->plan = *plan;
  }
  return Status::OK();
}

}  // namespace isoflop::orchestrator
