#include "analysis.h"

#include "svg_plot.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>

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

StatusOr<RunState> ParseRunState(const std::string& text) {
  std::string t;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c)))
      t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
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

bool Law::IsSet() const {
  return std::isfinite(E) && std::isfinite(A) && std::isfinite(B) && std::isfinite(alpha) &&
         std::isfinite(beta) && A > 0 && B > 0 && alpha > 0 && beta > 0;
}

// Hoffmann et al. 2022, Eq. 2.
double Law::Loss(double params, double tokens) const {
  return E + A / std::pow(params, alpha) + B / std::pow(tokens, beta);
}

// Hoffmann et al. 2022, Eq. 4 (C = 6ND).
double Law::NOpt(double flops) const {
  const double G = std::pow(alpha * A / (beta * B), 1.0 / (alpha + beta));
  return G * std::pow(flops / 6.0, beta / (alpha + beta));
}
double Law::DOpt(double flops) const {
  const double G = std::pow(alpha * A / (beta * B), 1.0 / (alpha + beta));
  return std::pow(flops / 6.0, alpha / (alpha + beta)) / G;
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

namespace {
double RunFlops(const RunRecord& r) {
  if (std::isfinite(r.flops) && r.flops > 0) return r.flops;
  return 6.0 * r.params * r.tokens;  // Kaplan et al. 2020, Eq. 2.1: C ≈ 6·N·D
}
}  // namespace

std::vector<double> GroupBudgets(const std::vector<RunRecord>& runs, double factor) {
  std::vector<double> c;
  for (const RunRecord& r : runs) {
    const double f = RunFlops(r);
    if (std::isfinite(f) && f > 0) c.push_back(f);
  }
  std::sort(c.begin(), c.end());
  // Each group is represented by the geometric mean of its members.
  std::vector<double> budgets;
  size_t i = 0;
  while (i < c.size()) {
    size_t j = i;
    double log_sum = 0;
    while (j < c.size() && c[j] <= c[i] * factor) log_sum += std::log(c[j++]);
    budgets.push_back(std::exp(log_sum / static_cast<double>(j - i)));
    i = j;
  }
  return budgets;
}

std::optional<BudgetParabola> FitBudgetParabola(const std::vector<RunRecord>& runs, double flops) {
  // Ordinary least squares of loss on (1, x, x²), x = ln N, over done runs of this budget
  // (Hoffmann et al. 2022, Sec. 3.2, Approach 2). x is centred for a well-conditioned solve.
  std::vector<double> xs, ys;
  std::set<double> distinct;
  for (const RunRecord& r : runs) {
    if (r.state != RunState::kDone || !std::isfinite(r.loss) || !(r.params > 0)) continue;
    xs.push_back(std::log(r.params));
    ys.push_back(r.loss);
    distinct.insert(r.params);
  }
  if (distinct.size() < 3) return std::nullopt;
  double mean = 0;
  for (double x : xs) mean += x;
  mean /= static_cast<double>(xs.size());
  double S[5] = {0, 0, 0, 0, 0}, T[3] = {0, 0, 0};
  for (size_t i = 0; i < xs.size(); ++i) {
    const double u = xs[i] - mean;
    double p = 1;
    for (int k = 0; k < 5; ++k) {
      S[k] += p;
      if (k < 3) T[k] += p * ys[i];
      p *= u;
    }
  }
  // Normal equations M·q = T with M[i][j] = S[i+j]; Cramer's rule on the 3×3 system.
  auto det3 = [](double m[3][3]) {
    return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
           m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
           m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  };
  double M[3][3];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) M[i][j] = S[i + j];
  const double D = det3(M);
  if (!(std::fabs(D) > 1e-300)) return std::nullopt;
  double q[3];
  for (int col = 0; col < 3; ++col) {
    double Mc[3][3];
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) Mc[i][j] = (j == col) ? T[i] : M[i][j];
    q[col] = det3(Mc) / D;
  }
  if (!(q[2] > 0)) return std::nullopt;  // no minimum: the budget's curve is not convex
  // Back to x = ln N: loss = q0 + q1(x − m) + q2(x − m)².
  BudgetParabola p;
  p.flops = flops;
  p.c2 = q[2];
  p.c1 = q[1] - 2 * q[2] * mean;
  p.c0 = q[0] - q[1] * mean + q[2] * mean * mean;
  const double u_min = -q[1] / (2 * q[2]);
  p.n_opt = std::exp(mean + u_min);
  p.loss_min = q[0] + q[1] * u_min + q[2] * u_min * u_min;
  p.n_points = static_cast<int>(xs.size());
  return p;
}

}  // namespace isoflop::report

namespace isoflop::report::internal {

double ReferenceLaw::NOpt(double flops) const {
  if (law) return law->NOpt(flops);
  return n_coef * std::pow(flops, a_exp);
}
double ReferenceLaw::DOpt(double flops) const {
  if (law) return law->DOpt(flops);
  return flops / (6.0 * NOpt(flops));
}

const std::vector<ReferenceLaw>& ReferenceLaws() {
  static const std::vector<ReferenceLaw> refs = [] {
    std::vector<ReferenceLaw> v;
    ReferenceLaw hoffmann;
    hoffmann.name = "Chinchilla (Hoffmann et al. 2022, Approach 3)";
    hoffmann.citation =
        "Hoffmann et al. 2022, Eq. 10: E=1.69, A=406.4, B=410.7, α=0.34, β=0.28; allocation by Eq. 4";
    hoffmann.law = Law{1.69, 406.4, 410.7, 0.34, 0.28};
    v.push_back(hoffmann);
    ReferenceLaw epoch;
    epoch.name = "Epoch (Besiroglu et al. 2024)";
    epoch.citation =
        "Besiroglu et al. 2024, Chinchilla Scaling: A replication attempt (refit of Hoffmann's Approach 3): "
        "E=1.82, A=482.01, "
        "B=2085.43, α=0.3478, β=0.3658; allocation by Hoffmann's Eq. 4";
    epoch.law = Law{1.82, 482.01, 2085.43, 0.3478, 0.3658};
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

double Quantile(std::vector<double> values, double q) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }),
               values.end());
  if (values.empty()) return kUnknown;
  std::sort(values.begin(), values.end());
  const double pos = q * static_cast<double>(values.size() - 1);
  const size_t i = static_cast<size_t>(std::floor(pos));
  const double frac = pos - static_cast<double>(i);
  if (i + 1 >= values.size()) return values.back();
  return values[i] * (1 - frac) + values[i + 1] * frac;
}

StatusOr<Analysis> Analyze(const ReportInput& input, const ReportOptions& options) {
  std::string error;
  if (!options.IsValid(&error)) return Status::InvalidArgument("report options: " + error);
  Analysis an;
  ReportSummary& s = an.counts;
  s.n_runs = static_cast<int>(input.runs.size());
  std::set<std::string> dropped;
  if (input.fit) dropped.insert(input.fit->dropped_run_ids.begin(), input.fit->dropped_run_ids.end());

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
    v.excluded_from_fit = !r.id.empty() && dropped.count(r.id) > 0;
    an.runs.push_back(v);
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

  // Budgets and per-budget parabolas (the fitter's when it gave them, else our own).
  const std::vector<double> budgets = GroupBudgets(input.runs, options.budget_group_factor);
  for (double c : budgets) an.budgets.push_back({c, {}, std::nullopt, -1});
  for (size_t i = 0; i < an.runs.size(); ++i) {
    int best = -1;
    double best_dist = 1e300;
    for (size_t b = 0; b < an.budgets.size(); ++b) {
      const double d = std::fabs(std::log(an.runs[i].flops / an.budgets[b].flops));
      if (d < best_dist) best_dist = d, best = static_cast<int>(b);
    }
    an.runs[i].budget = best;
    if (best >= 0) an.budgets[best].runs.push_back(static_cast<int>(i));
  }
  for (BudgetView& b : an.budgets) {
    std::vector<RunRecord> members;
    for (int i : b.runs) {
      const RunView& v = an.runs[i];
      if (v.excluded_from_fit) continue;
      members.push_back(*v.run);
      if (v.run->state == RunState::kDone && (b.best_run < 0 || v.run->loss < an.runs[b.best_run].run->loss))
        b.best_run = i;
    }
    if (input.fit) {
      for (const BudgetParabola& p : input.fit->parabolas) {
        if (std::fabs(std::log(p.flops / b.flops)) <= std::log(options.budget_group_factor)) b.parabola = p;
      }
    }
    if (!b.parabola) b.parabola = FitBudgetParabola(members, b.flops);
    if (b.parabola) ++s.n_parabolas;
  }
  s.n_budgets = static_cast<int>(an.budgets.size());

  // Residuals against the law, in log space: r = ln L_obs − ln L_law(N, D).
  if (input.fit && input.fit->law.IsSet()) {
    s.has_fit = true;
    const Law& law = input.fit->law;
    std::vector<double> abs_res;
    for (RunView& v : an.runs) {
      v.predicted_loss = law.Loss(v.run->params, v.run->tokens);
      if (std::isfinite(v.run->loss) && v.run->loss > 0 && v.predicted_loss > 0) {
        v.residual = std::log(v.run->loss) - std::log(v.predicted_loss);
        if (v.run->state == RunState::kDone && !v.excluded_from_fit) abs_res.push_back(std::fabs(v.residual));
      }
    }
    // Robust scale: 1.4826 × median absolute residual estimates σ for normal errors.
    an.robust_sigma = 1.4826 * Quantile(abs_res, 0.5);
    an.outlier_threshold =
        std::max(options.outlier_sigmas * an.robust_sigma, options.outlier_min_abs_residual);
    for (RunView& v : an.runs) {
      v.outlier = v.run->state == RunState::kDiverged ||
                  (std::isfinite(v.residual) && std::fabs(v.residual) > an.outlier_threshold);
      if (v.outlier) ++s.n_outliers;
    }
    // Frontier of the law and its bootstrap band.
    const double alpha = law.alpha, beta = law.beta;
    an.a = beta / (alpha + beta);
    an.b = alpha / (alpha + beta);
    const auto& ci = input.fit->ci;
    if (ci.count("a")) an.a_ci = ci.at("a");
    if (ci.count("b")) an.b_ci = ci.at("b");
    for (const auto& [key, interval] : ci) {
      for (const char* prefix : {"N_opt@", "D_opt@"}) {
        if (key.rfind(prefix, 0) != 0) continue;
        char* end = nullptr;
        const std::string number = key.substr(6);
        const double c = std::strtod(number.c_str(), &end);
        if (end == number.c_str() || !(c > 0)) continue;
        (prefix[0] == 'N' ? an.n_opt_ci : an.d_opt_ci).push_back({c, interval});
      }
    }
    double cmin = 1e300;
    for (const RunView& v : an.runs) cmin = std::min(cmin, v.flops);
    if (!(cmin < 1e300)) cmin = 1e18;
    double cmax = options.frontier_max_flops;
    if (input.plan && std::isfinite(input.plan->budget_flops))
      cmax = std::max(cmax, input.plan->budget_flops * 3);
    cmin = std::min(cmin / 3, cmax / 100);
    std::vector<Law> boots;
    for (const Law& l : input.fit->bootstrap_laws)
      if (l.IsSet()) boots.push_back(l);
    an.has_band = boots.size() >= 10;
    if (!an.has_band)
      s.notes.push_back(input.fit->bootstrap_laws.empty()
                            ? "fit has no bootstrap refits: the frontier is drawn without its band"
                            : "fewer than 10 usable bootstrap refits: no band drawn");
    if (an.has_band && !(std::isfinite(an.a_ci.lo))) {
      std::vector<double> as, bs;
      for (const Law& l : boots)
        as.push_back(l.beta / (l.alpha + l.beta)), bs.push_back(l.alpha / (l.alpha + l.beta));
      an.a_ci = {Quantile(as, 0.025), Quantile(as, 0.975)};
      an.b_ci = {Quantile(bs, 0.025), Quantile(bs, 0.975)};
    }
    an.param_ci = input.fit->ci;
    if (an.has_band) {
      auto fill = [&](const char* key, auto get) {
        if (an.param_ci.count(key)) return;
        std::vector<double> v;
        for (const Law& l : boots) v.push_back(get(l));
        an.param_ci[key] = {Quantile(v, 0.025), Quantile(v, 0.975)};
      };
      fill("E", [](const Law& l) { return l.E; });
      fill("A", [](const Law& l) { return l.A; });
      fill("B", [](const Law& l) { return l.B; });
      fill("alpha", [](const Law& l) { return l.alpha; });
      fill("beta", [](const Law& l) { return l.beta; });
    }
    constexpr int kSteps = 64;
    for (int k = 0; k <= kSteps; ++k) {
      const double c = cmin * std::pow(cmax / cmin, static_cast<double>(k) / kSteps);
      FrontierPoint f{};
      f.flops = c;
      f.n_opt = law.NOpt(c);
      f.d_opt = law.DOpt(c);
      f.loss = law.Loss(f.n_opt, f.d_opt);
      f.tpp = f.d_opt / f.n_opt;
      f.loss_lo = f.loss_hi = f.n_lo = f.n_hi = f.d_lo = f.d_hi = f.tpp_lo = f.tpp_hi = kUnknown;
      if (an.has_band) {
        std::vector<double> ls, ns, ds, ts;
        for (const Law& l : boots) {
          const double n = l.NOpt(c), d = l.DOpt(c);
          ns.push_back(n), ds.push_back(d), ls.push_back(l.Loss(n, d)), ts.push_back(d / n);
        }
        f.loss_lo = Quantile(ls, 0.025), f.loss_hi = Quantile(ls, 0.975);
        f.n_lo = Quantile(ns, 0.025), f.n_hi = Quantile(ns, 0.975);
        f.d_lo = Quantile(ds, 0.025), f.d_hi = Quantile(ds, 0.975);
        f.tpp_lo = Quantile(ts, 0.025), f.tpp_hi = Quantile(ts, 0.975);
      }
      an.frontier.push_back(f);
    }
    s.has_band = an.has_band;
  } else {
    s.notes.push_back(input.fit
                          ? "fit.json has no complete law (E, A, B, alpha, beta): no residuals or frontier"
                          : "no fit given (--fit): residuals and the fitted frontier are not drawn");
  }
  s.has_plan = input.plan.has_value();
  if (!s.has_plan) s.notes.push_back("no plan given (--plan): no plan table");
  if (s.n_done == 0) s.notes.push_back("no finished runs yet");
  return an;
}

}  // namespace isoflop::report::internal

namespace isoflop::report::internal {

std::vector<PlanHeadline> PlanHeadlines(const PlanInfo& plan) {
  std::map<std::string, std::string> by_key;
  for (const auto& r : plan.rows) by_key[r.section + "/" + r.name] = r.value;
  struct Headline {
    const char* key;
    const char* label;
    double scale;  // multiply a numeric value by this for display (e.g. s -> h)
  };
  static const Headline kHeadlines[] = {
      {"plan/budget_flops", "training budget [FLOP]", 1},
      {"plan/shape_params", "parameters of the chosen shape N", 1},
      {"plan/train_tokens", "training tokens D", 1},
      {"plan/loss_pred", "predicted final loss [nats/token]", 1},
      {"law/source", "law used for the plan", 1},
      {"shape/layers", "layers", 1},
      {"shape/d_model", "d_model", 1},
      {"shape/heads", "heads", 1},
      {"shape/kv_heads", "kv heads", 1},
      {"shape/ffn", "ffn width", 1},
      {"cluster/gpu_model", "GPU", 1},
      {"layouts/layouts[0].config.gpus", "GPUs used", 1},
      {"layouts/layouts[0].config.tp", "tensor parallel", 1},
      {"layouts/layouts[0].config.pp", "pipeline stages", 1},
      {"layouts/layouts[0].config.dp", "data parallel", 1},
      {"layouts/layouts[0].config.cp", "context parallel", 1},
      {"layouts/layouts[0].config.global_batch", "global batch [sequences]", 1},
      {"layouts/layouts[0].mfu", "predicted MFU [%]", 100},
      {"plan/steps", "optimizer steps", 1},
      {"plan/wall_clock_s", "wall-clock [h]", 1.0 / 3600},
      {"plan/gpu_hours", "GPU-hours", 1},
      {"plan/cost_usd", "cost [USD]", 1},
      {"plan/energy_kwh", "energy [kWh]", 1},
      {"plan/co2_kg", "CO₂ [kg]", 1},
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
    out.push_back({h.label, value, key.substr(key.find('/') + 1)});
  }
  return out;
}

}  // namespace isoflop::report::internal
