// isoflop report: the scaling-curve report as one self-contained HTML file, or a terminal
// summary. Parses flags, loads the inputs (report library loaders, or the orchestrator's
// database), calls RenderHtml / RenderText, writes the result.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "isoflop/fit_record.h"
#include "isoflop/fitter.h"
#include "isoflop/file_util.h"
#include "isoflop/report.h"
#ifdef ISOFLOP_HAVE_ORCHESTRATOR
#include "isoflop/orchestrator_report.h"
#endif

namespace isoflop::cli {
namespace {

struct ReportFlags {
  std::string db, runs, fit, plan, out, title, columns;
  std::vector<std::string> where;
  bool text = false;
  bool json = false;
};

#ifdef ISOFLOP_HAVE_ORCHESTRATOR
// The daemon's runs, fit and plan, as the report's plain structs (the orchestrator's bridge,
// shared with the daemon's live report at `/`).
Status LoadFromDb(const std::string& db, report::ReportInput* input) {
  std::vector<std::string> notes;
  const Status s = orchestrator::FillReportInputFromDb(db, input, &notes);
  for (const auto& n : notes) std::fprintf(stderr, "isoflop report: %s\n", n.c_str());
  return s;
}
#endif

Status RunReport(const ReportFlags& f) {
  if (f.db.empty() == f.runs.empty()) return Status::InvalidArgument("give exactly one of --db or --runs");
  if (!f.db.empty() && (!f.columns.empty() || !f.where.empty()))
    return Status::InvalidArgument("--columns/--where apply to --runs CSV files");
  if (f.out.empty() && !f.text) return Status::InvalidArgument("give --out report.html, or --text");
  report::ReportInput input;
  if (!f.fit.empty()) {
    auto fit = LoadFitJson(f.fit);  // the scaling-law core's one fit.json reader
    if (!fit.ok()) return fit.status();
    input.fit = *fit;
  }
  if (!f.plan.empty()) {
    auto plan = report::LoadPlanJson(f.plan);
    if (!plan.ok()) return plan.status();
    input.plan = *plan;
  }
  if (!f.runs.empty()) {
    // --columns/--where: the fitter's syntax and parser (one parser, isoflop::CsvOptions).
    CsvOptions csv;
    if (!f.columns.empty()) ISOFLOP_RETURN_IF_ERROR(csv.ParseColumns(f.columns));
    for (const auto& w : f.where) ISOFLOP_RETURN_IF_ERROR(csv.ParseWhere(w));
    auto runs = report::LoadRunsCsv(f.runs, report::RunsCsvOptions{csv.columns, csv.where});
    if (!runs.ok()) return runs.status();
    input.runs = *runs;
    input.source = f.runs;
  } else {
#ifdef ISOFLOP_HAVE_ORCHESTRATOR
    ISOFLOP_RETURN_IF_ERROR(LoadFromDb(f.db, &input));
    input.source = f.db;
#else
    return Status::FailedPrecondition(
        "--db needs the orchestrator, which is not built into this binary; use --runs");
#endif
  }
  report::ReportOptions options;
  if (!f.title.empty()) options.title = f.title;
  report::ReportSummary summary;
  if (!f.out.empty()) {
    auto html = report::RenderHtml(input, options, &summary);
    if (!html.ok()) return html.status();
    // Atomically: a reader (or a browser refresh) never sees half a page.
    ISOFLOP_RETURN_IF_ERROR(WriteFileAtomically(f.out, *html));
  }
  if (f.text) {
    report::ReportSummary text_summary;
    auto text = report::RenderText(input, options, f.out.empty() ? &summary : &text_summary);
    if (!text.ok()) return text.status();
    std::cout << *text;
  }
  if (f.json) {
    nlohmann::json j{{"out", f.out},
                     {"runs", summary.n_runs},
                     {"done", summary.n_done},
                     {"running", summary.n_running},
                     {"pending", summary.n_pending},
                     {"failed", summary.n_failed},
                     {"diverged", summary.n_diverged},
                     {"validation", summary.n_validation},
                     {"budgets", summary.n_budgets},
                     {"parabolas", summary.n_parabolas},
                     {"flagged", summary.n_outliers},
                     {"plots", summary.n_plots},
                     {"has_fit", summary.has_fit},
                     {"has_band", summary.has_band},
                     {"has_loss_law", summary.has_loss_law},
                     {"has_plan", summary.has_plan},
                     {"plan_extrapolated", summary.plan_extrapolated},
                     {"notes", summary.notes}};
    std::cout << j.dump(2) << "\n";
  } else if (!f.out.empty()) {
    std::cerr << summary.BriefReport() << "\n";
    for (const auto& n : summary.notes) std::cerr << "  note: " << n << "\n";
    std::cerr << "report written to " << f.out << "\n";
  }
  return Status::OK();
}

}  // namespace

void RegisterReportCommand(CLI::App& app, CommandContext& ctx) {
  auto flags = std::make_shared<ReportFlags>();
  auto* cmd = app.add_subcommand("report", "Scaling-curve report: self-contained HTML (inline SVG), or text");
  cmd->footer(
      "Examples:\n"
      "  isoflop report --runs tests/data/chinchilla_epoch.csv --fit fit.json --out report.html\n"
      "  isoflop report --runs tests/data/chinchilla_epoch.csv --fit fit.json --plan plan.json --text\n"
      "  isoflop report --runs tests/data/llama3_isoflops_points_ericczech.csv --text \\\n"
      "      --columns flops=compute_budget,tokens=training_tokens,loss=validation_loss\n"
      "  isoflop report --db state.db --out live.html      # the daemon's runs, latest fit and plan\n"
      "(fit.json from `isoflop fit --out fit.json`, plan.json from `isoflop plan --out plan.json`)\n"
      "The runs CSV needs loss and two of params, tokens, flops; optional run_id, state, role\n"
      "(sweep | validation: validation runs are checked against the law's prediction, not fitted),\n"
      "unique_tokens, attempts, tokens_per_s, mfu, energy_kwh. See docs/report.md.");
  auto* db = cmd->add_option("--db", flags->db, "orchestrator state database (runs, latest fit and plan)");
  auto* runs = cmd->add_option("--runs", flags->runs, "runs CSV (header; params, tokens, loss, ...)");
  db->excludes(runs);
  cmd->add_option("--fit", flags->fit, "fit.json from `isoflop fit --out`");
  cmd->add_option("--plan", flags->plan, "plan.json from `isoflop plan --out plan.json`");
  cmd->add_option("--out", flags->out, "HTML file to write (self-contained; no network, no scripts)");
  cmd->add_option("--title", flags->title, "page title");
  cmd->add_option("--columns", flags->columns,
                  "map CSV columns as `fit --columns`: params=N,tokens=D,loss=C4 Eval Loss");
  cmd->add_option("--where", flags->where, "keep CSV rows where column=value (repeatable)");
  cmd->add_flag("--text", flags->text, "print the findings as text on stdout");
  cmd->add_flag("--json", flags->json, "print what was rendered as JSON on stdout");
  cmd->callback([flags, &ctx] {
    const Status s = RunReport(*flags);
    ctx.exit_code = s.ok() ? kExitOk : ReportError("report", s);
  });
}

}  // namespace isoflop::cli
