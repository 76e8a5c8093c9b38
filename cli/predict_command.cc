// isoflop predict: the law as a calculator, with 95% intervals. Parses flags, calls
// isoflop::PredictAtBudget / PredictAtPoint (the code path the planner and the daemon use), prints.
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "isoflop/fit_record.h"
#include "isoflop/prediction.h"

namespace isoflop::cli {
namespace {

struct PredictFlags {
  std::string law;
  double flops = 0, params = 0, tokens = 0, unique_tokens = 0;
  bool json = false;
};

nlohmann::ordered_json Number(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nullptr;
}
nlohmann::ordered_json Pair(const std::optional<Interval>& iv) {
  if (!iv) return nullptr;
  return nlohmann::ordered_json::array({iv->lo, iv->hi});
}
std::string Text(const std::optional<Interval>& iv, const char* fmt) {
  if (!iv) return "  (no interval: the law has no replicates; fit with --bootstrap)";
  char lo[32], hi[32];
  std::snprintf(lo, sizeof lo, fmt, iv->lo);
  std::snprintf(hi, sizeof hi, fmt, iv->hi);
  return std::string("  95% interval [") + lo + ", " + hi + "]";
}

int RunPredict(const PredictFlags& f) {
  const bool by_budget = f.flops > 0;
  const bool by_point = f.params > 0 || f.tokens > 0;
  if (by_budget == by_point)
    return ReportError("predict",
                       Status::InvalidArgument("give either --flops C, or --params N and --tokens D"));
  if (by_point && !(f.params > 0 && f.tokens > 0))
    return ReportError("predict",
                       Status::InvalidArgument("--params and --tokens go together (both positive)"));
  auto record = LoadLaw(f.law);
  if (!record.ok()) return ReportError("predict", record.status());
  nlohmann::ordered_json j;
  j["law"] = DescribeProvenance(*record);
  if (by_budget) {
    auto p = PredictAtBudget(*record, f.flops, f.unique_tokens);
    if (!p.ok()) return ReportError("predict", p.status());
    const EvidenceSummary evidence = CheckEvidence(*record, *p);
    if (f.json) {
      j["flops"] = f.flops;
      j["params_opt"] = p->params_opt;
      j["params_opt_interval"] = Pair(p->params_opt_interval);
      j["tokens_opt"] = p->tokens_opt;
      j["tokens_opt_interval"] = Pair(p->tokens_opt_interval);
      j["loss"] = Number(p->loss);
      j["loss_interval"] = Pair(p->loss_interval);
      j["extrapolation"] = Number(p->extrapolation);
      if (f.unique_tokens > 0) j["epochs"] = p->epochs;
      j["params_convention"] = ParamsConventionName(record->provenance.params_convention);
      j["interval_source"] = p->interval_source;
      j["within_evidence"] = evidence.supported;
      if (!evidence.supported) j["evidence"] = evidence.reason;
      std::printf("%s\n", j.dump(2).c_str());
      return kExitOk;
    }
    std::printf("law: %s\n", j["law"].get<std::string>().c_str());
    std::printf("budget: %.4g FLOPs", f.flops);
    if (std::isfinite(p->extrapolation)) std::printf(" (%.3gx the largest fitted budget)", p->extrapolation);
    std::printf("\nN_opt  %.4g%s\nD_opt  %.4g%s\n", p->params_opt,
                Text(p->params_opt_interval, "%.4g").c_str(), p->tokens_opt,
                Text(p->tokens_opt_interval, "%.4g").c_str());
    if (std::isfinite(p->loss))
      std::printf("loss   %.4f%s\n", p->loss, Text(p->loss_interval, "%.4f").c_str());
    else
      std::printf("loss   (none: an allocation-only law predicts N_opt and D_opt, not a loss)\n");
    if (f.unique_tokens > 0) std::printf("epochs %.3g over %.4g unique tokens\n", p->epochs, f.unique_tokens);
    if (!p->interval_source.empty()) std::printf("intervals: %s\n", p->interval_source.c_str());
    if (!evidence.supported) std::printf("WARNING: %s\n", evidence.BriefReport().c_str());
    return kExitOk;
  }
  auto p = PredictAtPoint(*record, f.params, f.tokens, f.unique_tokens);
  if (!p.ok()) return ReportError("predict", p.status());
  if (f.json) {
    j["params"] = f.params;
    j["tokens"] = f.tokens;
    if (f.unique_tokens > 0) j["unique_tokens"] = f.unique_tokens;
    j["loss"] = Number(p->loss);
    j["loss_interval"] = Pair(p->loss_interval);
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("law: %s\nN %.4g, D %.4g -> loss %.4f%s\n", j["law"].get<std::string>().c_str(), f.params,
              f.tokens, p->loss, Text(p->loss_interval, "%.4f").c_str());
  return kExitOk;
}

}  // namespace

void RegisterPredictCommand(CLI::App& app, CommandContext& ctx) {
  auto flags = std::make_shared<PredictFlags>();
  auto* cmd = app.add_subcommand(
      "predict",
      "The scaling law as a calculator: compute-optimal N, D and loss at a budget, or the loss of a given\n"
      "N and D, with 95% intervals ([2.5th, 97.5th] percentiles of the law's replicates; docs/fit.md).\n"
      "Examples:\n"
      "  isoflop predict --law epoch --flops 5.76e23\n"
      "  isoflop predict --law hoffmann --params 7e10 --tokens 1.4e12 --json\n"
      "  isoflop fit --runs tests/data/chinchilla_epoch.csv --drop-highest-loss 5 --bootstrap 200 --out "
      "fit.json\n"
      "  isoflop predict --law fit.json --flops 1e24 --json");
  cmd->add_option("--law", flags->law, "fit.json from `isoflop fit`, or hoffmann | epoch")->required();
  cmd->add_option("--flops", flags->flops, "compute budget C: print N_opt, D_opt and the loss there");
  cmd->add_option("--params", flags->params, "parameters N (with --tokens): print the loss");
  cmd->add_option("--tokens", flags->tokens, "training tokens D (with --params)");
  cmd->add_option("--unique-tokens", flags->unique_tokens,
                  "unique tokens available (data-constrained laws: repetition is priced)");
  cmd->add_flag("--json", flags->json, "print JSON");
  cmd->callback([flags, &ctx] { ctx.exit_code = RunPredict(*flags); });
}

}  // namespace isoflop::cli
