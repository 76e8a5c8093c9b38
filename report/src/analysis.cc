// Analyze(): the numbers both renderers show. Every law number comes from the scaling-law core
// (isoflop/scaling_law.h, prediction.h, isoflop_curves.h); this file only arranges them.
#include "analysis.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>

#include "isoflop/isoflop_curves.h"
#include "svg_plot.h"

namespace isoflop::report {

const char* RunStateName(RunState state) {
  switch (state) {
    case RunState::kPending:
      return "pending";
    case RunState::kRunning:
      return "running";
    case RunState::kDone:
      return "done";
    case RunState::kFailed:
      return "failed";
    case RunState::kDiverged:
      return "diverged";
  }
  return "unknown";
}

namespace {
std::string Normalized(const std::string& text) {
  std::string t;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c)))
      t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}
}  // namespace

StatusOr<RunState> ParseRunState(const std::string& text) {
  const std::string t = Normalized(text);
  if (t == "pending" || t == "queued" || t == "submitting" || t == "submitted" || t == "planned")
    return RunState::kPending;
  if (t == "running" || t == "requeued" || t == "preempted") return RunState::kRunning;
  if (t == "done" || t == "completed" || t == "finished" || t == "ok") return RunState::kDone;
  if (t == "failed" || t == "cancelled" || t == "canceled" || t == "timeout" || t == "bad_config")
    return RunState::kFailed;
  if (t == "diverged") return RunState::kDiverged;
  return Status::InvalidArgument("unknown run state '" + text +
                                 "' (expected pending, running, done, failed or diverged)");
}

const char* RunRoleName(RunRole role) {
  return role == RunRole::kValidation ? "validation" : "sweep";
}

StatusOr<RunRole> ParseRunRole(const std::string& text) {
  const std::string t = Normalized(text);
  if (t.empty() || t == "sweep") return RunRole::kSweep;
  if (t == "validation") return RunRole::kValidation;
  return Status::InvalidArgument("unknown run role '" + text + "' (expected sweep or validation)");
}

std::string XmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Control characters are not allowed in XML 1.0; drop them rather than break the SVG.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') continue;
        out += c;
    }
  }
  return out;
}

}  // namespace isoflop::report

namespace isoflop::report::internal {
namespace {

double RunFlops(const RunRecord& r) {
  if (std::isfinite(r.flops) && r.flops > 0) return r.flops;
  return 6.0 * r.params * r.tokens;  // Kaplan et al. 2020, Eq. 2.1: C ≈ 6·N·D
}

double UniqueTokens(const RunRecord& r) {
  return std::isfinite(r.unique_tokens) && r.unique_tokens > 0 ? r.unique_tokens : 0;  // 0: unlimited
}

// [2.5th, 97.5th] percentiles of the finite values (the core's Percentile); none below 2 values.
std::optional<Interval> PercentileInterval(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
  if (v.size() < 2) return std::nullopt;
  return Interval{Percentile(v, kIntervalLowQuantile), Percentile(v, kIntervalHighQuantile)};
}

std::optional<Interval> FitCi(const FitRecord& fit, const std::string& key) {
  for (const auto& [name, interval] : fit.ci)
    if (name == key) return interval;
  return std::nullopt;
}

// The exponent of N_opt (a) and D_opt (b) in C, whatever the form.
double ExponentA(const ScalingLaw& l) {
  if (l.form == LawForm::kPowerLaw) return l.params_opt.exponent;
  return l.HasLoss() ? ComputeAllocation(l).a : kUnknown;
}
double ExponentB(const ScalingLaw& l) {
  if (l.form == LawForm::kPowerLaw) return l.tokens_opt.exponent;
  return l.HasLoss() ? ComputeAllocation(l).b : kUnknown;
}

// The law table: this fit's parameters for its form, with their intervals (the fit's own `ci`,
// else percentiles over its replicate laws) and the published values.
std::vector<LawParam> LawParams(const FitRecord& fit) {
  const ScalingLaw& law = fit.law;
  const ScalingLaw hoffmann = HoffmannLaw(), epoch = EpochLaw();
  std::vector<LawParam> rows;
  using Getter = double (*)(const ScalingLaw&);
  auto add = [&](const std::string& key, const std::string& label, const std::string& text_label, Getter get,
                 const std::string& kaplan = "–") {
    LawParam p;
    p.key = key;
    p.label = label;
    p.text_label = text_label;
    p.value = get(law);
    p.interval = FitCi(fit, key);
    if (!p.interval) {
      std::vector<double> v;
      for (const ScalingLaw& l : fit.bootstrap_laws) v.push_back(get(l));
      p.interval = PercentileInterval(v);
    }
    p.epoch = get(epoch);
    p.hoffmann = get(hoffmann);
    p.kaplan = kaplan;
    rows.push_back(p);
  };
  auto loss_rows = [&] {
    add("E", "E (irreducible loss)", "E", [](const ScalingLaw& l) { return l.HasLoss() ? l.E : kUnknown; });
    add("A", "A", "A", [](const ScalingLaw& l) { return l.HasLoss() ? l.A : kUnknown; });
    add("B", "B", "B", [](const ScalingLaw& l) { return l.HasLoss() ? l.B : kUnknown; });
    add("alpha", "α (params exponent)", "α",
        [](const ScalingLaw& l) { return l.HasLoss() ? l.alpha : kUnknown; });
    add("beta", "β (tokens exponent)", "β",
        [](const ScalingLaw& l) { return l.HasLoss() ? l.beta : kUnknown; });
  };
  if (law.form != LawForm::kPowerLaw) loss_rows();
  if (law.form == LawForm::kDataConstrained) {
    add("r_d_star", "R<sub>D</sub>* (data repetition half-life)", "R_D*",
        [](const ScalingLaw& l) { return l.form == LawForm::kDataConstrained ? l.r_d_star : kUnknown; });
    add("r_n_star", "R<sub>N</sub>* (excess-parameter half-life)", "R_N*",
        [](const ScalingLaw& l) { return l.form == LawForm::kDataConstrained ? l.r_n_star : kUnknown; });
  }
  if (law.form == LawForm::kPowerLaw) {
    add("k_N", "k<sub>N</sub>: N_opt = k<sub>N</sub>·C<sup>a</sup>", "k_N",
        [](const ScalingLaw& l) { return OptimalParams(l, 1.0); });
  }
  add("a", "a: N_opt ∝ C<sup>a</sup>", "a", ExponentA, "0.73");
  if (law.form == LawForm::kPowerLaw) {
    add("k_D", "k<sub>D</sub>: D_opt = k<sub>D</sub>·C<sup>b</sup>", "k_D",
        [](const ScalingLaw& l) { return OptimalTokens(l, 1.0); });
  }
  add("b", "b: D_opt ∝ C<sup>b</sup>", "b", ExponentB, "0.27");
  if (law.form == LawForm::kPowerLaw && law.HasLoss()) loss_rows();
  return rows;
}

}  // namespace

double ReferenceLaw::NOpt(double flops) const {
  if (law) return OptimalParams(*law, flops);
  return n_coef * std::pow(flops, a_exp);
}
double ReferenceLaw::DOpt(double flops) const {
  if (law) return OptimalTokens(*law, flops);
  return flops / (6.0 * NOpt(flops));
}

const std::vector<ReferenceLaw>& ReferenceLaws() {
  static const std::vector<ReferenceLaw> refs = [] {
    std::vector<ReferenceLaw> v;
    ReferenceLaw hoffmann;
    hoffmann.name = "Chinchilla (Hoffmann et al. 2022, Approach 3)";
    hoffmann.citation =
        "Hoffmann et al. 2022, Eq. 10: E=1.69, A=406.4, B=410.7, α=0.34, β=0.28; allocation by Eq. 4";
    hoffmann.law = HoffmannLaw();
    v.push_back(hoffmann);
    ReferenceLaw epoch;
    epoch.name = "Epoch (Besiroglu et al. 2024)";
    epoch.citation =
        "Besiroglu et al. 2024, Chinchilla Scaling: A replication attempt (refit of Hoffmann's Approach 3): "
        "E=1.82, A=482.01, B=2085.43, α=0.3478, β=0.3658; allocation by Hoffmann's Eq. 4";
    epoch.law = EpochLaw();
    v.push_back(epoch);
    ReferenceLaw kaplan;
    kaplan.name = "Kaplan et al. 2020";
    kaplan.citation =
        "Kaplan et al. 2020, Sec. 6.1 and Fig. 14: N_opt = 1.3e9 · C_min^0.73, C_min in PF-days "
        "(8.64e19 FLOP), non-embedding N; D_opt = C / (6·N_opt)";
    // 1.3e9 · (C / 8.64e19)^0.73 = (1.3e9 / 8.64e19^0.73) · C^0.73.
    kaplan.a_exp = 0.73;
    kaplan.n_coef = 1.3e9 / std::pow(8.64e19, 0.73);
    v.push_back(kaplan);
    return v;
  }();
  return refs;
}

std::optional<BudgetPrediction> PredictFrontier(const FitRecord& fit, double flops) {
  auto p = PredictAtBudget(fit, flops);
  if (!p.ok()) return std::nullopt;
  return *p;
}

std::string IntervalText(const std::optional<Interval>& interval, int significant) {
  if (!interval || !std::isfinite(interval->lo) || !std::isfinite(interval->hi)) return "–";
  return "[" + FormatNumber(interval->lo, significant) + ", " + FormatNumber(interval->hi, significant) + "]";
}

StatusOr<Analysis> Analyze(const ReportInput& input, const ReportOptions& options) {
  std::string error;
  if (!options.IsValid(&error)) return Status::InvalidArgument("report options: " + error);
  Analysis an;
  ReportSummary& s = an.counts;
  s.n_runs = static_cast<int>(input.runs.size());

  for (size_t i = 0; i < input.runs.size(); ++i) {
    const RunRecord& r = input.runs[i];
    const std::string name = r.id.empty() ? "run #" + std::to_string(i + 1) : "run '" + r.id + "'";
    if (!(std::isfinite(r.params) && r.params > 0))
      return Status::InvalidArgument(name + ": params must be a finite positive number");
    if (!(std::isfinite(r.tokens) && r.tokens > 0))
      return Status::InvalidArgument(name + ": tokens must be a finite positive number");
    if (r.state == RunState::kDone && !(std::isfinite(r.loss) && r.loss > 0))
      return Status::InvalidArgument(name + ": a done run needs a finite positive loss");
    RunView v;
    v.run = &r;
    v.flops = RunFlops(r);
    v.validation = r.role == RunRole::kValidation;
    an.runs.push_back(v);
    if (v.validation) ++s.n_validation;
    switch (r.state) {
      case RunState::kDone:
        ++s.n_done;
        break;
      case RunState::kRunning:
        ++s.n_running;
        break;
      case RunState::kPending:
        ++s.n_pending;
        break;
      case RunState::kFailed:
        ++s.n_failed;
        break;
      case RunState::kDiverged:
        ++s.n_diverged;
        break;
    }
  }
  const FitRecord* fit = input.fit ? &*input.fit : nullptr;

  // Budgets: the core's grouping of the sweep runs' C (the fitter's Approaches 1-2 grouping).
  // Validation runs are not part of any IsoFLOP curve.
  std::vector<int> sweep;
  std::vector<double> sweep_flops;
  for (size_t i = 0; i < an.runs.size(); ++i) {
    if (an.runs[i].validation) continue;
    sweep.push_back(static_cast<int>(i));
    sweep_flops.push_back(an.runs[i].flops);
  }
  for (const BudgetGroup& g : GroupByBudget(sweep_flops, options.budget_gap_decades)) {
    BudgetView b;
    b.flops = g.budget_flops;
    for (int m : g.members) {
      const int i = sweep[m];
      b.runs.push_back(i);
      an.runs[i].budget = static_cast<int>(an.budgets.size());
    }
    an.budgets.push_back(std::move(b));
  }
  // Parabolas (Approach 2): the fitter's when fit.json has them, matched to the budget whose runs'
  // C span holds the parabola's budget; else the core's FitIsoflopParabola on the budget's done runs.
  if (fit) {
    const double widen = std::pow(10.0, options.budget_gap_decades);
    for (const IsoflopParabola& p : fit->parabolas) {
      int best = -1;
      double best_distance = 1e300;
      for (size_t b = 0; b < an.budgets.size(); ++b) {
        double lo = 1e300, hi = 0;
        for (int i : an.budgets[b].runs)
          lo = std::min(lo, an.runs[i].flops), hi = std::max(hi, an.runs[i].flops);
        if (!(p.budget_flops >= lo / widen && p.budget_flops <= hi * widen)) continue;
        const double distance = std::fabs(std::log(p.budget_flops / an.budgets[b].flops));
        if (distance < best_distance) best_distance = distance, best = static_cast<int>(b);
      }
      if (best >= 0 && !an.budgets[best].parabola) {
        an.budgets[best].parabola = p;
        an.budgets[best].parabola_from_fit = true;
      }
    }
  }
  for (BudgetView& b : an.budgets) {
    std::vector<double> params, losses;
    for (int i : b.runs) {
      const RunRecord& r = *an.runs[i].run;
      if (r.state != RunState::kDone) continue;
      params.push_back(r.params);
      losses.push_back(r.loss);
      if (b.best_run < 0 || r.loss < an.runs[b.best_run].run->loss) b.best_run = i;
    }
    if (!b.parabola) b.parabola = FitIsoflopParabola(params, losses, b.flops);
    if (b.parabola) ++s.n_parabolas;
  }
  s.n_budgets = static_cast<int>(an.budgets.size());

  // The compute axis of the frontier plots: from the smallest run budget to 3x the largest, or to
  // the plan's budget (x1.5, so its marker is not on the edge) when that is larger.
  double cmin = 1e300, cmax_runs = 0;
  for (const RunView& v : an.runs) cmin = std::min(cmin, v.flops), cmax_runs = std::max(cmax_runs, v.flops);
  if (!(cmin < 1e300)) cmin = cmax_runs = 1e18;
  double cmax = 3 * cmax_runs;
  if (input.plan && std::isfinite(input.plan->budget_flops) && input.plan->budget_flops > 0)
    cmax = std::max(cmax, 1.5 * input.plan->budget_flops);
  if (options.frontier_max_flops > 0) cmax = options.frontier_max_flops;
  if (!(cmax > cmin * 1.01)) cmax = cmin * 10;
  an.cmin = cmin, an.cmax = cmax;
  constexpr int kSteps = 64;
  for (int k = 0; k <= kSteps; ++k)
    an.frontier_flops.push_back(cmin * std::pow(cmax / cmin, static_cast<double>(k) / kSteps));

  s.has_fit = fit != nullptr && fit->has_law;
  s.has_loss_law = s.has_fit && fit->law.HasLoss();
  if (s.has_fit) {
    const ScalingLaw& law = fit->law;
    an.provenance = DescribeProvenance(*fit);
    // Residuals against the law, in log space: r = ln L_obs − ln L_law(N, D).
    if (s.has_loss_law) {
      std::vector<double> abs_res;
      for (RunView& v : an.runs) {
        v.predicted_loss = PredictLoss(law, v.run->params, v.run->tokens, UniqueTokens(*v.run));
        if (std::isfinite(v.run->loss) && v.run->loss > 0 && v.predicted_loss > 0) {
          v.residual = std::log(v.run->loss) - std::log(v.predicted_loss);
          if (v.run->state == RunState::kDone && !v.validation) abs_res.push_back(std::fabs(v.residual));
        }
      }
      // Robust scale: 1.4826 × median absolute residual estimates σ for normal errors.
      an.robust_sigma = abs_res.empty() ? kUnknown : 1.4826 * Percentile(abs_res, 0.5);
      an.outlier_threshold =
          std::isfinite(an.robust_sigma)
              ? std::max(options.outlier_sigmas * an.robust_sigma, options.outlier_min_abs_residual)
              : options.outlier_min_abs_residual;
    }
    for (RunView& v : an.runs) {
      if (v.validation) continue;
      v.outlier = v.run->state == RunState::kDiverged ||
                  (std::isfinite(v.residual) && std::fabs(v.residual) > an.outlier_threshold);
      if (v.outlier) ++s.n_outliers;
    }
    an.params = LawParams(*fit);
    for (const auto& [key, interval] : fit->ci) {
      for (const char* prefix : {"N_opt@", "D_opt@"}) {
        if (key.rfind(prefix, 0) != 0) continue;
        char* end = nullptr;
        const std::string number = key.substr(6);
        const double c = std::strtod(number.c_str(), &end);
        if (end == number.c_str() || !(c > 0)) continue;
        (prefix[0] == 'N' ? an.n_opt_ci : an.d_opt_ci).push_back({c, interval});
      }
    }
    // The law along its compute-optimal allocation, with the [2.5, 97.5] percentile band over the
    // fit's replicate laws: isoflop::PredictAtBudget, the code path of `predict` and `plan`.
    int replicates = 0;
    for (double c : an.frontier_flops) {
      const auto p = PredictFrontier(*fit, c);
      if (!p) continue;
      FrontierPoint f{};
      f.flops = c;
      f.n_opt = p->params_opt;
      f.d_opt = p->tokens_opt;
      f.loss = p->loss;
      f.tpp = f.d_opt / f.n_opt;
      f.loss_lo = f.loss_hi = f.n_lo = f.n_hi = f.d_lo = f.d_hi = f.tpp_lo = f.tpp_hi = kUnknown;
      const bool band = p->replicates >= 2 && p->params_opt_interval.has_value();
      if (band) {
        replicates = std::max(replicates, p->replicates);
        f.n_lo = p->params_opt_interval->lo, f.n_hi = p->params_opt_interval->hi;
        if (p->tokens_opt_interval) f.d_lo = p->tokens_opt_interval->lo, f.d_hi = p->tokens_opt_interval->hi;
        if (p->loss_interval) f.loss_lo = p->loss_interval->lo, f.loss_hi = p->loss_interval->hi;
        std::vector<double> tpp;
        for (const ScalingLaw& l : fit->bootstrap_laws)
          tpp.push_back(OptimalTokens(l, c) / OptimalParams(l, c));
        if (auto t = PercentileInterval(tpp)) f.tpp_lo = t->lo, f.tpp_hi = t->hi;
      }
      an.frontier.push_back(f);
    }
    an.replicates = replicates;
    an.has_band = replicates >= 2;
    s.has_band = an.has_band;
    if (!s.has_loss_law)
      s.notes.push_back(
          std::string("the fit's law is an allocation-only power law (") + FitMethodName(fit->method) +
          ": N_opt = k_N·C^a, D_opt = k_D·C^b, Hoffmann et al. 2022 Approaches 1/2): it predicts no "
          "loss, so the N_opt and D_opt frontiers are drawn but no loss frontier, no residuals and "
          "no predicted losses");
    if (!an.has_band)
      s.notes.push_back(
          fit->bootstrap_laws.empty()
              ? "the fit has no replicate laws (fit.json \"bootstrap\"; refit with --bootstrap N): "
                "the frontier is drawn without its band"
              : "fewer than 2 usable replicate laws: no band drawn");
    // Validation runs: the law's prediction at each run's (N, D) against what it observed.
    for (size_t i = 0; i < an.runs.size(); ++i) {
      const RunView& v = an.runs[i];
      if (!v.validation) continue;
      ValidationCheck check;
      check.run = static_cast<int>(i);
      if (auto at = PredictFrontier(*fit, v.flops)) check.extrapolation = at->extrapolation;
      if (s.has_loss_law) {
        auto p = PredictAtPoint(*fit, v.run->params, v.run->tokens, UniqueTokens(*v.run));
        if (p.ok()) {
          check.predicted = p->loss;
          check.interval = p->loss_interval;
          if (v.run->state == RunState::kDone) {
            check.error_pct = 100 * (check.predicted - v.run->loss) / v.run->loss;
            if (check.interval)
              check.inside = v.run->loss >= check.interval->lo && v.run->loss <= check.interval->hi;
          }
        }
      }
      an.checks.push_back(check);
    }
  } else if (fit) {
    s.notes.push_back("fit.json holds no law" +
                      (fit->approach3_error.empty() ? std::string() : " (" + fit->approach3_error + ")") +
                      ": its IsoFLOP parabolas are drawn, no frontier or residuals");
  } else {
    s.notes.push_back("no fit given (--fit): residuals and the fitted frontier are not drawn");
  }
  if (s.n_validation > 0 && !s.has_loss_law)
    s.notes.push_back(std::to_string(s.n_validation) +
                      " validation run(s) drawn with their observed loss only: no loss law to predict it");
  s.has_plan = input.plan.has_value();
  s.plan_extrapolated = s.has_plan && input.plan->extrapolated;
  if (!s.has_plan) s.notes.push_back("no plan given (--plan): no plan table");
  if (s.n_done == 0) s.notes.push_back("no finished runs yet");
  return an;
}

std::vector<PlanHeadline> PlanHeadlines(const PlanInfo& plan) {
  std::map<std::string, std::string> by_key;
  for (const auto& r : plan.rows) by_key[r.section + "/" + r.name] = r.value;
  struct Headline {
    const char* key;
    const char* label;
    double scale;  // multiply a numeric value by this for display (e.g. s -> h)
    const std::optional<Interval>* interval;
  };
  const Headline kHeadlines[] = {
      {"plan/budget_flops", "training budget [FLOP]", 1, nullptr},
      {"plan/params_opt", "compute-optimal N (law)", 1, &plan.params_opt_interval},
      {"plan/tokens_opt", "compute-optimal D (law) [tokens]", 1, &plan.tokens_opt_interval},
      {"plan/loss_pred", "predicted final loss [nats/token]", 1, &plan.loss_interval},
      {"plan/shape_params", "parameters of the chosen shape N", 1, nullptr},
      {"plan/train_tokens", "training tokens D", 1, nullptr},
      {"provenance/extrapolation", "budget / largest fitted budget", 1, nullptr},
      {"law/source", "law used for the plan", 1, nullptr},
      {"provenance/params_convention", "N counts", 1, nullptr},
      {"shape/layers", "layers", 1, nullptr},
      {"shape/d_model", "d_model", 1, nullptr},
      {"shape/heads", "heads", 1, nullptr},
      {"shape/kv_heads", "kv heads", 1, nullptr},
      {"shape/ffn", "ffn width", 1, nullptr},
      {"shape/vocab", "vocabulary", 1, nullptr},
      {"cluster/gpu_model", "GPU", 1, nullptr},
      {"layouts/layouts[0].config.gpus", "GPUs used", 1, nullptr},
      {"layouts/layouts[0].config.tp", "tensor parallel", 1, nullptr},
      {"layouts/layouts[0].config.pp", "pipeline stages", 1, nullptr},
      {"layouts/layouts[0].config.dp", "data parallel", 1, nullptr},
      {"layouts/layouts[0].config.cp", "context parallel", 1, nullptr},
      {"layouts/layouts[0].config.global_batch", "global batch [sequences]", 1, nullptr},
      {"layouts/layouts[0].mfu", "predicted MFU [%]", 100, nullptr},
      {"plan/steps", "optimizer steps", 1, nullptr},
      {"plan/wall_clock_s", "wall-clock [h]", 1.0 / 3600, nullptr},
      {"plan/gpu_hours", "GPU-hours", 1, nullptr},
      {"plan/cost_usd", "cost [USD]", 1, nullptr},
      {"plan/energy_kwh", "energy [kWh]", 1, nullptr},
      {"plan/co2_kg", "CO₂ [kg]", 1, nullptr},
  };
  std::vector<PlanHeadline> out;
  for (const Headline& h : kHeadlines) {
    auto it = by_key.find(h.key);
    if (it == by_key.end()) continue;
    std::string value = it->second;
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (end != value.c_str() && *end == '\0') {
      const double scaled = v * h.scale;
      // Counts (layers, GPUs, widths) print whole; measures get 4 significant digits.
      value = (scaled == std::floor(scaled) && std::fabs(scaled) < 1e7)
                  ? std::to_string(static_cast<long long>(scaled))
                  : FormatNumber(scaled, 4);
    }
    const std::string key = h.key;
    std::string interval;
    if (h.interval != nullptr)
      interval = *h.interval ? IntervalText(*h.interval, 4) : std::string("none (the law has no interval)");
    out.push_back({h.label, value, interval, key.substr(key.find('/') + 1)});
  }
  return out;
}

}  // namespace isoflop::report::internal
