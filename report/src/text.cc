// RenderText: the report's findings for a terminal.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "analysis.h"
#include "isoflop/scaling_law.h"
#include "svg_plot.h"

namespace isoflop::report {
namespace {
using internal::FormatNumber;
using internal::IntervalText;

std::string Pad(const std::string& s, size_t width) {
  // Pads by glyphs, so the few non-ASCII labels (α, β) line up.
  size_t glyphs = 0;
  for (unsigned char c : s) glyphs += (c & 0xC0) != 0x80;
  return s + std::string(width > glyphs ? width - glyphs : 1, ' ');
}

// The budgets of the compute-optimal table: the decades within the frontier's compute axis, and
// the plan's budget.
std::vector<double> TableBudgets(const internal::Analysis& an, const ReportInput& input) {
  std::vector<double> cs;
  for (int k = static_cast<int>(std::ceil(std::log10(an.cmin) - 1e-9));
       k <= static_cast<int>(std::floor(std::log10(an.cmax) + 1e-9)); ++k)
    cs.push_back(std::pow(10.0, k));
  if (cs.empty()) cs.push_back(an.cmin);
  if (input.plan && std::isfinite(input.plan->budget_flops) && input.plan->budget_flops > 0) {
    bool present = false;
    for (double c : cs) present |= std::fabs(c / input.plan->budget_flops - 1) < 1e-9;
    if (!present) cs.push_back(input.plan->budget_flops);
  }
  std::sort(cs.begin(), cs.end());
  return cs;
}
}  // namespace

StatusOr<std::string> RenderText(const ReportInput& input, const ReportOptions& options,
                                 ReportSummary* summary) {
  auto analysis = internal::Analyze(input, options);
  if (!analysis.ok()) return analysis.status();
  const internal::Analysis& an = *analysis;
  const ReportSummary& s = an.counts;
  std::ostringstream o;
  o << options.title << "\n";
  if (input.plan && input.plan->extrapolated) {
    const std::string bar(78, '!');
    o << bar << "\n!! EXTRAPOLATED PLAN: "
      << (input.plan->warning.empty() ? "the budget lies outside the evidence of the law; planned with "
                                        "--allow-extrapolation"
                                      : input.plan->warning)
      << "\n"
      << bar << "\n";
  }
  o << "runs: " << s.n_runs << " (" << s.n_done << " done, " << s.n_running << " running, " << s.n_pending
    << " pending, " << s.n_failed << " failed, " << s.n_diverged << " diverged";
  if (s.n_validation > 0) o << "; " << s.n_validation << " validation";
  o << ") in " << s.n_budgets << " compute budgets" << (input.source.empty() ? "" : " from " + input.source)
    << "\n\n";

  o << "IsoFLOP minima (parabola in ln N per budget; Hoffmann et al. 2022, Approach 2)\n";
  o << "  " << Pad("C [FLOP]", 12) << Pad("runs", 6) << Pad("N_opt", 11) << Pad("loss_min", 10)
    << Pad("best run", 18) << Pad("best loss", 11) << "parabola\n";
  for (const auto& b : an.budgets) {
    o << "  " << Pad(FormatNumber(b.flops), 12) << Pad(std::to_string(b.runs.size()), 6)
      << Pad(b.parabola ? FormatNumber(b.parabola->params_opt) : "–", 11)
      << Pad(b.parabola ? FormatNumber(b.parabola->loss_at_min, 4) : "–", 10)
      << Pad(b.best_run >= 0 ? an.runs[b.best_run].run->id : "–", 18)
      << Pad(b.best_run >= 0 ? FormatNumber(an.runs[b.best_run].run->loss, 4) : "–", 11)
      << (b.parabola ? (b.parabola_from_fit ? "fit.json" : "fitted here") : "–") << "\n";
  }
  o << "\n";

  if (s.has_fit) {
    const FitRecord& fit = *input.fit;
    o << "Fit: " << an.provenance << "\n";
    if (fit.law.form == LawForm::kPowerLaw)
      o << "Law: allocation-only power law N_opt = k_N C^a, D_opt = k_D C^b (Hoffmann et al. 2022, "
           "Approaches 1/2)"
        << (fit.law.HasLoss() ? ", with a loss law of its own" : "; it predicts no loss")
        << (fit.law.no_floor.used() ? " (losses: geometric mean with the same runs' fit without E, "
                                      "docs/fit.md \"The loss law\")"
                                    : "")
        << "\n";
    else
      o << "Law: L = E + A/N^α + B/D^β (Hoffmann et al. 2022, Eq. 2"
        << (fit.law.form == LawForm::kDataConstrained ? "; data-constrained: effective N', D', Muennighoff "
                                                        "et al. 2023, Eq. 5-7"
                                                      : "")
        << "), " << fit.n_points << " points, objective " << FormatNumber(fit.objective, 8) << "\n";
    o << "  " << Pad("", 8) << Pad("this fit", 11) << Pad("95% interval", 22) << Pad("Epoch 2024", 12)
      << Pad("Hoffmann 2022", 15) << "Kaplan 2020\n";
    for (const auto& p : an.params)
      o << "  " << Pad(p.text_label, 8) << Pad(FormatNumber(p.value, 4), 11)
        << Pad(IntervalText(p.interval, 4), 22) << Pad(FormatNumber(p.epoch, 4), 12)
        << Pad(FormatNumber(p.hoffmann, 4), 15) << p.kaplan << "\n";
    o << "  (a: N_opt ∝ C^a; b: D_opt ∝ C^b. Intervals: fit.json ci, else 2.5th-97.5th percentiles over "
      << fit.bootstrap_laws.size() << " replicate laws)\n\n";

    o << "Compute-optimal allocation of this fit (isoflop::PredictAtBudget; 95% intervals over "
      << an.replicates << " replicate laws, or fit.json ci at that budget)\n";
    o << "  " << Pad("C [FLOP]", 12) << Pad("N_opt", 32) << Pad("D_opt", 32) << Pad("D/N", 8)
      << (s.has_loss_law ? "loss" : "") << "\n";
    for (double c : TableBudgets(an, input)) {
      const auto p = internal::PredictFrontier(fit, c);
      if (!p) continue;
      o << "  " << Pad(FormatNumber(c), 12)
        << Pad(FormatNumber(p->params_opt) +
                   (p->params_opt_interval ? " " + IntervalText(p->params_opt_interval) : ""),
               32)
        << Pad(FormatNumber(p->tokens_opt) +
                   (p->tokens_opt_interval ? " " + IntervalText(p->tokens_opt_interval) : ""),
               32)
        << Pad(FormatNumber(p->tokens_opt / p->params_opt), 8);
      if (s.has_loss_law)
        o << FormatNumber(p->loss, 4) << (p->loss_interval ? " " + IntervalText(p->loss_interval, 4) : "");
      o << "\n";
    }
    o << "\n";
    if (s.has_loss_law) {
      int flagged = 0;
      for (const auto& v : an.runs) {
        if (!v.outlier) continue;
        if (flagged++ == 0)
          o << "Flagged runs (|ln residual| > " << FormatNumber(an.outlier_threshold, 3)
            << ", or diverged)\n";
        o << "  " << Pad(v.run->id.empty() ? "?" : v.run->id, 18) << Pad(RunStateName(v.run->state), 10)
          << "N=" << Pad(FormatNumber(v.run->params), 10) << "C=" << Pad(FormatNumber(v.flops), 10)
          << "residual " << FormatNumber(v.residual, 3) << "\n";
      }
      if (flagged == 0) o << "No flagged runs (threshold " << FormatNumber(an.outlier_threshold, 3) << ").\n";
      o << "\n";
    }
  }

  if (!an.checks.empty()) {
    o << "Prediction check (validation runs, not in the fit; predicted = the law at the run's N, D)\n";
    o << "  " << Pad("run", 18) << Pad("C [FLOP]", 10) << Pad("C/fitted", 10) << Pad("N", 10) << Pad("D", 10)
      << Pad("predicted [95% interval]", 30) << Pad("observed", 10) << "error\n";
    for (const auto& c : an.checks) {
      const RunRecord& r = *an.runs[c.run].run;
      o << "  " << Pad(r.id.empty() ? "?" : r.id, 18) << Pad(FormatNumber(an.runs[c.run].flops), 10)
        << Pad(FormatNumber(c.extrapolation), 10) << Pad(FormatNumber(r.params), 10)
        << Pad(FormatNumber(r.tokens), 10)
        << Pad(FormatNumber(c.predicted, 4) + (c.interval ? " " + IntervalText(c.interval, 4) : ""), 30)
        << Pad(r.state == RunState::kDone ? FormatNumber(r.loss, 4) : std::string(RunStateName(r.state)), 10)
        << (std::isfinite(c.error_pct) ? (c.error_pct > 0 ? "+" : "") + FormatNumber(c.error_pct, 3) + "%"
                                       : std::string("–"))
        << (c.inside ? (*c.inside ? " (inside the interval)" : " (OUTSIDE the interval)") : "") << "\n";
    }
    o << "\n";
  }

  if (input.plan) {
    const PlanInfo& p = *input.plan;
    o << "Plan: C = " << FormatNumber(p.budget_flops) << " FLOP → N = " << FormatNumber(p.params)
      << ", D = " << FormatNumber(p.tokens) << (p.extrapolated ? "   [EXTRAPOLATED]" : "") << "\n";
    if (!p.provenance.empty()) o << "  law: " << p.provenance << "\n";
    const auto headlines = internal::PlanHeadlines(p);
    for (const auto& h : headlines)
      o << "  " << Pad(h.label, 36) << h.value << (h.interval.empty() ? "" : "  " + h.interval) << "\n";
    if (headlines.empty())
      for (const auto& r : p.rows) o << "  " << Pad(r.section, 14) << Pad(r.name, 28) << r.value << "\n";
    else
      o << "  (" << p.rows.size() << " fields in plan.json)\n";
    o << "\n";
  }
  for (const auto& n : s.notes) o << "note: " << n << "\n";
  if (summary) *summary = s;
  return o.str();
}

}  // namespace isoflop::report
