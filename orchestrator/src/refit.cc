// The refit loop: when a run finished since the last refit attempt, fit the law on every finished
// run (fitter, Hoffmann et al. 2022 Approach 3 with bootstrap intervals; non-embedding N at the
// sweep's vocabulary), re-plan the target budget through the planner's PlanModel (the code path of
// `isoflop plan`: N_opt, D_opt and loss with intervals, the evidence check, a shape counted in the
// law's convention), and store fit, plan and inputs in one transaction. A fit that fails or gives an
// unusable law is stored too, flagged (valid = 0, with the reason), and never becomes the current law.
// `auto_sizes` reads N_opt back from the latest valid fit.
#include <cmath>
#include <nlohmann/json.hpp>

#include "daemon_internal.h"
#include "isoflop/fitter.h"
#include "isoflop/planner.h"
#include "store.h"
#include "sweep_internal.h"

namespace isoflop::orchestrator {

using nlohmann::json;

namespace {

// Fewer finished runs than the law has parameters (E, A, B, alpha, beta) cannot be fitted.
constexpr int kMinRunsToFit = 5;
// Bootstrap resamples for the intervals, and every k-th start of Hoffmann's 4,500-point grid:
// a refit must take seconds on a 2-core machine, not minutes (docs/orchestrator.md).
constexpr int kBootstrapResamples = 20;
constexpr int kStartStride = 9;

double TargetBudget(const std::map<int64_t, SweepSpec>& sweeps) {
  double target = 0, largest = 0;
  for (const auto& [_, s] : sweeps) {
    target = std::max(target, s.target_budget_flops);
    for (double c : s.budgets_flops) largest = std::max(largest, c);
  }
  return target > 0 ? target : largest * 100;
}

// An integer trainer setting shared by every sweep (e.g. `train: {vocab: 512}`); 0 when a sweep does
// not set it or the sweeps disagree.
int SharedTrainInt(const std::map<int64_t, SweepSpec>& sweeps, const std::string& key) {
  int value = 0;
  for (const auto& [_, s] : sweeps) {
    auto it = s.train.find(key);
    if (it == s.train.end()) return 0;
    int v = 0;
    try {
      v = std::stoi(it->second);
    } catch (const std::exception&) {
      return 0;
    }
    if (value != 0 && v != value) return 0;
    value = v;
  }
  return value;
}

json ShapeJson(const planner::ModelShape& s) {
  return {{"layers", s.layers},
          {"d_model", s.d_model},
          {"heads", s.heads},
          {"kv_heads", s.kv_heads},
          {"ffn", s.ffn},
          {"vocab", s.vocab},
          {"seq_len", s.seq_len},
          {"mlp", planner::MlpName(s.mlp)},
          {"params_non_embedding", s.ParamsNonEmbedding()},
          {"params_total", s.ParamsTotal()}};
}

json Pair(const std::optional<Interval>& iv) {
  return iv ? json::array({iv->lo, iv->hi}) : json(nullptr);
}

// The re-plan of the target budget with the planner's PlanModel. A budget outside the evidence is
// still planned (the daemon reports, it does not refuse) and flagged.
json Replan(const FitRecord& record, double target, int vocab, int seq_len) {
  planner::ModelPlanOptions options;
  options.vocab = vocab;
  if (seq_len > 0) options.seq_len = seq_len;
  options.allow_extrapolation = true;
  json plan = {{"target_budget_flops", target}};
  auto model = planner::PlanModel(record, target, options);
  if (!model.ok()) {
    plan["error"] = model.status().message();
    return plan;
  }
  const BudgetPrediction& p = model->prediction;
  plan["params_opt"] = p.params_opt;
  plan["params_opt_interval"] = Pair(p.params_opt_interval);
  plan["tokens_opt"] = p.tokens_opt;
  plan["tokens_opt_interval"] = Pair(p.tokens_opt_interval);
  plan["loss_pred"] = std::isfinite(p.loss) ? json(p.loss) : json(nullptr);
  plan["loss_interval"] = Pair(p.loss_interval);
  plan["extrapolation"] = std::isfinite(p.extrapolation) ? json(p.extrapolation) : json(nullptr);
  plan["within_evidence"] = model->evidence.supported;
  if (!model->evidence.supported) plan["evidence"] = model->evidence.reason;
  plan["params_convention"] = ParamsConventionName(model->convention);
  plan["law"] = DescribeProvenance(record);
  plan["shape"] = ShapeJson(model->shape);
  return plan;
}

}  // namespace

StatusOr<bool> RefitAndStore(Database& db, const std::map<int64_t, SweepSpec>& sweeps) {
  // Up to date when the latest refit attempt (valid or not) saw as many finished runs as there are
  // now: runs only ever become 'done', never stop being it, so a degenerate fit is not retried on
  // every poll, only when another run finishes. Checked every tick, so a refit lost to a crash
  // between a completion and its refit happens after the restart.
  {
    auto q = db.Prepare(
        "SELECT (SELECT COUNT(*) FROM runs WHERE state = 'done' AND final_eval_loss IS NOT NULL), "
        "(SELECT n_runs FROM fits ORDER BY id DESC LIMIT 1)");
    if (!q.ok()) return q.status();
    if (!(*q)->Step()) return (*q)->status();
    int64_t done = (*q)->Int(0);
    bool have_fit = !(*q)->IsNull(1);
    int64_t fitted = (*q)->Int(1);
    (*q)->Reset();
    if (done < kMinRunsToFit || (have_fit && fitted == done)) return false;
  }
  std::vector<RunPoint> points;
  json inputs = json::array();
  {
    auto q = db.Prepare(
        "SELECT s.name || '/' || r.name, r.params, r.tokens, r.final_eval_loss FROM runs r "
        "JOIN sweeps s ON s.id = r.sweep_id WHERE r.state = 'done' AND r.final_eval_loss IS NOT NULL ORDER "
        "BY r.id");
    if (!q.ok()) return q.status();
    while ((*q)->Step()) {
      RunPoint p;
      p.run_id = (*q)->Text(0);
      p.params = (*q)->Double(1);
      p.tokens = (*q)->Double(2);
      p.loss = (*q)->Double(3);
      inputs.push_back({{"run", p.run_id}, {"params", p.params}, {"tokens", p.tokens}, {"loss", p.loss}});
      points.push_back(std::move(p));
    }
    ISOFLOP_RETURN_IF_ERROR((*q)->status());
  }
  if (static_cast<int>(points.size()) < kMinRunsToFit) return false;

  double target = TargetBudget(sweeps);
  if (!(target > 0)) {
    // Only imported runs (run_import.h), no sweep budgets: 100 x the largest run's 6ND, as above.
    for (const RunPoint& p : points) target = std::max(target, 100 * p.ComputeFlops());
  }
  const int vocab = SharedTrainInt(sweeps, "vocab");
  FitOptions options;
  options.method = FitMethod::kApproach3;
  options.bootstrap_resamples = kBootstrapResamples;
  options.seed = 1;
  options.threads = 1;  // the daemon shares the machine with the runs it watches
  options.ci_budgets_flops = {target};
  // The sweep records the trainer's non-embedding N (Kaplan et al. 2020, eq. 2.1) at its vocabulary.
  options.params_convention = ParamsConvention::kNonEmbedding;
  options.vocab = vocab;
  auto grid = HoffmannGrid();
  for (size_t i = 0; i < grid.size(); i += kStartStride) options.starts.push_back(grid[i]);
  FitSummary fit;
  // At one compute budget N and D move together (D = C / 6N): no fit can separate the N and D terms
  // of eq. 2, whatever its objective says. Such a refit is recorded, flagged, without fitting.
  std::vector<double> flops;
  for (const RunPoint& p : points) flops.push_back(p.ComputeFlops());
  const size_t budgets = GroupByBudget(flops).size();
  const Status fitted =
      budgets < 2
          ? Status::FailedPrecondition("the finished runs span " + std::to_string(budgets) +
                                       " compute budget; the law needs runs at 2 or more (at one budget "
                                       "N and D move together)")
          : Fit(points, options, &fit);
  std::string error;
  if (!fitted.ok()) {
    error = "refit on " + std::to_string(points.size()) + " runs: " + fitted.message();
  } else if (!fit.has_law || !fit.law.IsValid(&error)) {
    // E.g. a non-positive exponent: eq. 4 has no answer and nothing downstream may use the law.
    error = "refit on " + std::to_string(points.size()) +
            " runs gave an unusable law: " + (error.empty() ? std::string("no law") : error);
  }
  json plan;
  if (error.empty()) plan = Replan(fit, target, vocab, SharedTrainInt(sweeps, "seq_len"));

  Transaction txn(db);
  ISOFLOP_RETURN_IF_ERROR(txn.status());
  auto ins = db.Prepare(
      "INSERT INTO fits(created_at, n_runs, inputs_json, fit_json, plan_json, valid, error) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!ins.ok()) return ins.status();
  ISOFLOP_RETURN_IF_ERROR((*ins)
                              ->Bind(1, NowSeconds())
                              .Bind(2, static_cast<int64_t>(points.size()))
                              .Bind(3, inputs.dump())
                              .Bind(4, error.empty() ? fit.ToJson() : std::string("null"))
                              .Bind(5, plan.is_null() ? std::string("null") : plan.dump())
                              .Bind(6, static_cast<int64_t>(error.empty() ? 1 : 0))
                              .Bind(7, error)
                              .Run());
  ISOFLOP_RETURN_IF_ERROR(txn.Commit());
  return true;
}

std::string LatestFitJson(Database& db) {
  auto q = db.Prepare("SELECT fit_json FROM fits WHERE valid = 1 ORDER BY id DESC LIMIT 1");
  if (!q.ok() || !(*q)->Step()) return "";
  return (*q)->Text(0);
}

std::string IntervalNarrowing(const std::string& previous_fit_json, const std::string& current_fit_json) {
  json prev = json::parse(previous_fit_json, nullptr, false);
  json cur = json::parse(current_fit_json, nullptr, false);
  if (prev.is_discarded() || cur.is_discarded() || !prev.contains("ci") || !cur.contains("ci")) return "null";
  json out = json::object();
  auto is_interval = [](const json& v) {
    return v.is_array() && v.size() == 2 && v[0].is_number() && v[1].is_number();
  };
  for (const auto& [name, iv] : cur["ci"].items()) {
    if (!prev["ci"].contains(name)) continue;
    const json& p = prev["ci"][name];
    // A degenerate fit has null (non-finite) bounds: nothing to compare.
    if (!is_interval(iv) || !is_interval(p)) continue;
    double w_now = iv[1].get<double>() - iv[0].get<double>();
    double w_prev = p[1].get<double>() - p[0].get<double>();
    json o = {{"width_prev", w_prev}, {"width_now", w_now}};
    // Narrowing as a fraction of the previous width: 0.25 means the interval is 25% narrower.
    o["narrowed_fraction"] = w_prev > 0 ? json(1.0 - w_now / w_prev) : json(nullptr);
    out[name] = o;
  }
  out["n_points_prev"] = prev.value("n_points", 0);
  out["n_points_now"] = cur.value("n_points", 0);
  return out.dump();
}

StatusOr<std::vector<ModelShape>> AutoShapes(const SweepSpec& spec, double budget,
                                             const std::string& latest_fit_json) {
  // Without a fit: Hoffmann et al. 2022's rule of thumb D ~ 20 N (Table 3), C = 6ND = 120 N^2.
  double n_opt = std::sqrt(budget / 120.0);
  if (!latest_fit_json.empty()) {
    auto fit = FitSummary::FromJson(latest_fit_json);
    if (fit.ok() && fit->has_law) n_opt = OptimalParams(fit->law, budget);
  }
  std::vector<ModelShape> shapes;
  const int n = spec.auto_sizes.count;
  for (int i = 0; i < n; ++i) {
    // Log-spaced over [N_opt / factor, N_opt * factor].
    double t = n == 1 ? 0.5 : static_cast<double>(i) / (n - 1);
    double target = n_opt * std::pow(spec.auto_sizes.factor, 2 * t - 1);
    // The planner's ShapesForParams matches total parameters (with embeddings); the sweep and the
    // fit count non-embedding N (Kaplan et al. 2020, eq. 2.1), so search that directly: head_dim 16,
    // d_model a multiple of 16, aspect d_model / layers in [8, 128] (Kaplan et al. 2020, Fig. 5:
    // loss is flat over a wide range of aspect ratios), closest N wins.
    ModelShape best;
    double best_err = 1e300;
    for (int layers = 1; layers <= 64; ++layers) {
      double d_exact = std::sqrt(target / (12.0 * layers));
      for (int d : {static_cast<int>(std::floor(d_exact / 16)) * 16,
                    static_cast<int>(std::ceil(d_exact / 16)) * 16}) {
        if (d < 16) continue;
        double aspect = static_cast<double>(d) / layers;
        if (aspect < 8 || aspect > 128) continue;
        ModelShape s;
        s.layers = layers;
        s.d_model = d;
        s.heads = d / 16;
        double err = std::abs(std::log(NonEmbeddingParams(s) / target));
        if (err < best_err) {
          best_err = err;
          best = s;
        }
      }
    }
    if (best.layers == 0) {
      return Status::InvalidArgument(spec.path + ": auto_sizes: no shape near N = " + FormatNumber(target) +
                                     " for budget " + FormatNumber(budget));
    }
    best.name = "L" + std::to_string(best.layers) + "-d" + std::to_string(best.d_model);
    bool dup = false;
    for (const auto& x : shapes) dup |= x.name == best.name;
    if (!dup) shapes.push_back(best);
  }
  return shapes;
}

}  // namespace isoflop::orchestrator
