// isoflop fit: parse flags, call isoflop::Fit, print a table or fit.json. No logic lives here.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "isoflop/file_util.h"
#include "isoflop/fitter.h"

namespace isoflop::cli {
namespace {

struct FitFlags {
  std::string runs;
  std::string method = "calibrated";
  std::string law = "chinchilla";
  double huber_delta = 1e-3;
  int drop_highest_loss = 0;
  std::string grid = "hoffmann";
  int bootstrap = 0;
  uint64_t seed = 0;
  int threads = 0;
  bool json = false;
  std::string out;
  std::string columns;
  std::vector<std::string> where;
  int64_t max_runs = CsvOptions::kDefaultMaxRuns;
  std::vector<double> ci_budgets;
  std::string params_convention;
  int vocab = 0;
  double budget_gap = 0.1;
  std::vector<std::string> fix;
  std::string prior;
};

int RunFit(const FitFlags& flags) {
  CsvOptions csv;
  if (!flags.columns.empty()) {
    Status s = csv.ParseColumns(flags.columns);
    if (!s.ok()) return ReportError("fit", s);
  }
  for (const auto& w : flags.where) {
    Status s = csv.ParseWhere(w);
    if (!s.ok()) return ReportError("fit", s);
  }
  csv.max_runs = flags.max_runs;
  // Progress on stderr (stdout stays the table or fit.json), at most one line every 2 s.
  auto last = std::chrono::steady_clock::now();
  auto due = [&last] {
    const auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::seconds(2)) return false;
    last = now;
    return true;
  };
  csv.progress = [&](int64_t records, int64_t bytes_read, int64_t bytes_total) {
    if (!due()) return;
    std::fprintf(stderr, "isoflop fit: read %lld rows (%.1f of %.1f MB) of %s\n",
                 static_cast<long long>(records), bytes_read / 1e6, bytes_total / 1e6, flags.runs.c_str());
  };
  auto runs = LoadRunsCsv(flags.runs, csv);
  if (!runs.ok()) return ReportError("fit", runs.status());

  FitOptions options;
  auto method = ParseFitMethod(flags.method);
  if (!method.ok()) return ReportError("fit", method.status().WithContext("--method"));
  options.method = *method;
  auto law = ParseLawForm(flags.law);
  if (!law.ok()) return ReportError("fit", law.status().WithContext("--law"));
  options.law = *law;
  options.huber_delta = flags.huber_delta;
  options.drop_highest_loss = flags.drop_highest_loss;
  if (flags.grid != "hoffmann") {
    auto starts = LoadStartGrid(flags.grid);
    if (!starts.ok()) return ReportError("fit", starts.status().WithContext("--grid"));
    options.starts = *starts;
  }
  options.bootstrap_resamples = flags.bootstrap;
  options.seed = flags.seed;
  options.threads = flags.threads;
  options.ci_budgets_flops = flags.ci_budgets;
  if (!flags.params_convention.empty()) {
    auto convention = ParseParamsConvention(flags.params_convention);
    if (!convention.ok()) return ReportError("fit", convention.status().WithContext("--params-convention"));
    options.params_convention = *convention;
  }
  options.vocab = flags.vocab;
  options.budget_gap_decades = flags.budget_gap;
  for (const auto& f : flags.fix) {
    Status s = ParseFixedParameters(f, &options.fixed);
    if (!s.ok()) return ReportError("fit", s);
  }
  if (!flags.prior.empty()) {
    auto prior = ParseLawPrior(flags.prior);
    if (!prior.ok()) return ReportError("fit", prior.status());
    options.prior = *prior;
  }
  std::string error;
  if (!options.IsValid(&error)) return ReportError("fit", Status::InvalidArgument(error));

  const bool loss_law = options.method == FitMethod::kApproach3 || options.method == FitMethod::kAll ||
                        options.method == FitMethod::kCalibrated;
  std::fprintf(stderr, "isoflop fit: %zu runs from %s (%s%s%s); fitting...\n", runs->size(),
               flags.runs.c_str(), FitMethodName(options.method), loss_law ? ", " : "",
               loss_law ? LawFormName(options.law) : "");
  options.progress = [&](const std::string& stage, int64_t done, int64_t total) {
    if (!due()) return;
    std::fprintf(stderr, "isoflop fit: %s %lld/%lld\n", stage.c_str(), static_cast<long long>(done),
                 static_cast<long long>(total));
  };
  FitSummary summary;
  Status s = Fit(*runs, options, &summary);
  if (!s.ok()) return ReportError("fit", s.WithContext(flags.runs));
  std::fprintf(stderr, "isoflop fit: done in %.2f s\n", summary.wall_time_s);

  const std::string json = summary.ToJson();
  if (!flags.out.empty()) {
    Status w = WriteFileAtomically(flags.out, json);
    if (!w.ok()) return ReportError("fit", w);
    std::fprintf(stderr, "isoflop fit: wrote %s\n", flags.out.c_str());
  }
  std::fputs(flags.json ? json.c_str() : summary.FullReport().c_str(), stdout);
  return kExitOk;
}

}  // namespace

void RegisterFitCommand(CLI::App& app, CommandContext& ctx) {
  auto flags = std::make_shared<FitFlags>();
  auto* cmd = app.add_subcommand(
      "fit",
      "Fit a Chinchilla-style scaling law to finished runs (Hoffmann et al. 2022, Approaches 1-3; "
      "docs/fit.md).\n"
      "Examples:\n"
      "  isoflop fit --runs tests/data/llama3_isoflops_points_ericczech.csv \\\n"
      "      --columns flops=compute_budget,tokens=training_tokens,loss=validation_loss --ci-budget 3.8e25\n"
      "  isoflop fit --runs tests/data/chinchilla_epoch.csv --drop-highest-loss 5 --method approach3\n"
      "  isoflop fit --runs tests/data/chinchilla_epoch.csv --drop-highest-loss 5 --method approach3 \\\n"
      "      --bootstrap 4000 --seed 1 --ci-budget 5.76e23 --out fit.json\n"
      "  isoflop fit --runs tests/data/llama3_isoflops_points_ericczech.csv --method parabola \\\n"
      "      --columns flops=compute_budget,tokens=training_tokens,loss=validation_loss\n"
      "  isoflop fit --runs tests/data/misfitting2025_scaling_results_last_ckpt_only.csv \\\n"
      "      --columns 'params=N,tokens=D,loss=C4 Eval Loss,flops=C' --json\n"
      "  isoflop fit --runs tests/data/muennighoff2023_datablations_c4_runs_fitset182.csv --method approach3 "
      "\\\n"
      "      --law data-constrained\n"
      "  isoflop fit --runs tests/data/chinchilla_epoch.csv --drop-highest-loss 5 --method approach3 --fix "
      "E=1.69\n"
      "  isoflop fit --runs tests/data/llama3_isoflops_points_ericczech.csv \\\n"
      "      --columns flops=compute_budget,tokens=training_tokens,loss=validation_loss --prior "
      "hoffmann:0.5");
  cmd->add_option("--runs", flags->runs,
                  "CSV of runs with a header: params, tokens, loss [, flops, unique_tokens, run_id]")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option(
         "--method", flags->method,
         "calibrated (model average of Approaches 2 and 3 with intervals, docs/fit.md) | approach3 | "
         "envelope | parabola | all")
      ->capture_default_str();
  cmd->add_option("--law", flags->law, "chinchilla | data-constrained (needs unique_tokens)")
      ->capture_default_str();
  cmd->add_option("--huber-delta", flags->huber_delta, "Huber delta on log loss (Hoffmann et al.: 1e-3)")
      ->capture_default_str();
  cmd->add_option("--drop-highest-loss", flags->drop_highest_loss,
                  "drop the K highest-loss runs first (Epoch: 5)")
      ->capture_default_str();
  cmd->add_option("--grid", flags->grid,
                  "starts: 'hoffmann' (4,500-point grid) or a CSV with columns a,b,e,alpha,beta")
      ->capture_default_str();
  cmd->add_option(
         "--bootstrap", flags->bootstrap,
         "bootstrap resamples for 95% percentile intervals (0 = none; calibrated: replicates in all, "
         "0 = 400)")
      ->capture_default_str();
  cmd->add_option("--seed", flags->seed, "bootstrap seed (same seed, same output)")->capture_default_str();
  cmd->add_option("--threads", flags->threads, "threads (0 = all cores; results never depend on it)")
      ->capture_default_str();
  cmd->add_option("--ci-budget", flags->ci_budgets, "FLOP budget for N_opt/D_opt intervals (repeatable)");
  cmd->add_option("--params-convention", flags->params_convention,
                  "what N counts in these runs: total | non_embedding (default: total, recorded as assumed)");
  cmd->add_option("--vocab", flags->vocab,
                  "vocabulary the runs trained with (recorded; the planner's default)");
  cmd->add_option(
         "--budget-gap", flags->budget_gap,
         "runs whose log10(FLOPs) lie within this many decades of a neighbour share an IsoFLOP budget "
         "(Approaches 1-2, calibrated)")
      ->capture_default_str();
  cmd->add_option("--fix", flags->fix,
                  "hold a law parameter at a value instead of fitting it: NAME=VALUE, NAME one of E, A, B, "
                  "alpha, beta (repeatable; e.g. --fix E=1.69)");
  cmd->add_option("--prior", flags->prior,
                  "maximum a posteriori fit with Gaussian priors in log space centred on a published law: "
                  "hoffmann|epoch[:WIDTH], WIDTH the standard deviation of each ln(parameter) (default 0.5)");
  cmd->add_option("--columns", flags->columns, "map columns: params=N,tokens=D,loss=C4 Eval Loss,flops=C");
  cmd->add_option("--where", flags->where, "keep rows where column=value (repeatable)");
  cmd->add_option("--max-runs", flags->max_runs,
                  "refuse (exit 2) a file with more runs than this, before reading the rest; 0 = no limit "
                  "(fit time grows with the runs: docs/fit.md, Input)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", flags->json, "print fit.json to stdout instead of the table");
  cmd->add_option("--out", flags->out, "also write fit.json here (atomically)");
  cmd->callback([flags, &ctx] { ctx.exit_code = RunFit(*flags); });
}

}  // namespace isoflop::cli
