// RenderText: the report's findings for a terminal.
#include <cmath>
#include <cstdio>
#include <sstream>

#include "analysis.h"
#include "svg_plot.h"

namespace isoflop::report {
namespace {
using internal::FormatNumber;

std::string Pad(const std::string& s, size_t width) {
  // Pads by bytes; the few non-ASCII labels (α, β) are counted once per glyph below.
  size_t glyphs = 0;
  for (unsigned char c : s) glyphs += (c & 0xC0) != 0x80;
  return s + std::string(width > glyphs ? width - glyphs : 1, ' ');
}

std::string Ci(const Interval& i) {
  return std::isfinite(i.lo) ? "[" + FormatNumber(i.lo, 4) + ", " + FormatNumber(i.hi, 4) + "]" : "–";
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
  o << "runs: " << s.n_runs << " (" << s.n_done << " done, " << s.n_running << " running, " << s.n_pending
    << " pending, " << s.n_failed << " failed, " << s.n_diverged << " diverged) in " << s.n_budgets
    << " compute budgets" << (input.source.empty() ? "" : " from " + input.source) << "\n\n";

  o << "IsoFLOP minima (parabola in ln N per budget; Hoffmann et al. 2022, Approach 2)\n";
  o << "  " << Pad("C [FLOP]", 12) << Pad("runs", 6) << Pad("N_opt", 11) << Pad("loss_min", 10)
    << Pad("best run", 18) << "best loss\n";
  for (const auto& b : an.budgets) {
    o << "  " << Pad(FormatNumber(b.flops), 12) << Pad(std::to_string(b.runs.size()), 6)
      << Pad(b.parabola ? FormatNumber(b.parabola->n_opt) : "–", 11)
      << Pad(b.parabola ? FormatNumber(b.parabola->loss_min, 4) : "–", 10)
      << Pad(b.best_run >= 0 ? an.runs[b.best_run].run->id : "–", 18)
      << (b.best_run >= 0 ? FormatNumber(an.runs[b.best_run].run->loss, 4) : "–") << "\n";
  }
  o << "\n";

  if (s.has_fit) {
    const FitInfo& fit = *input.fit;
    const auto& refs = internal::ReferenceLaws();
    const Law& h = *refs[0].law;
    const Law& e = *refs[1].law;
    o << "Law L = E + A/N^α + B/D^β (Hoffmann et al. 2022, Eq. 2), method "
      << (fit.method.empty() ? "?" : fit.method) << ", " << fit.n_points << " points, objective "
      << FormatNumber(fit.objective, 8) << "\n";
    o << "  " << Pad("", 8) << Pad("this fit", 11) << Pad("95% interval", 22) << Pad("Epoch 2024", 12)
      << "Hoffmann 2022\n";
    auto row = [&](const char* name, double v, const std::string& key, double ep, double ho) {
      auto it = an.param_ci.find(key);
      o << "  " << Pad(name, 8) << Pad(FormatNumber(v, 4), 11)
        << Pad(it != an.param_ci.end() ? Ci(it->second) : "–", 22) << Pad(FormatNumber(ep, 4), 12)
        << FormatNumber(ho, 4) << "\n";
    };
    row("E", fit.law.E, "E", e.E, h.E);
    row("A", fit.law.A, "A", e.A, h.A);
    row("B", fit.law.B, "B", e.B, h.B);
    row("α", fit.law.alpha, "alpha", e.alpha, h.alpha);
    row("β", fit.law.beta, "beta", e.beta, h.beta);
    o << "  " << Pad("a", 8) << Pad(FormatNumber(an.a, 4), 11) << Pad(Ci(an.a_ci), 22)
      << Pad(FormatNumber(e.beta / (e.alpha + e.beta), 4), 12) << FormatNumber(h.beta / (h.alpha + h.beta), 4)
      << "   (N_opt ∝ C^a; Kaplan 2020: 0.73)\n";
    o << "  " << Pad("b", 8) << Pad(FormatNumber(an.b, 4), 11) << Pad(Ci(an.b_ci), 22)
      << Pad(FormatNumber(e.alpha / (e.alpha + e.beta), 4), 12)
      << FormatNumber(h.alpha / (h.alpha + h.beta), 4) << "   (D_opt ∝ C^b)\n\n";
    o << "Compute-optimal allocation of this fit (Eq. 4)\n";
    o << "  " << Pad("C [FLOP]", 12) << Pad("N_opt", 22) << Pad("D_opt", 22) << "D/N\n";
    for (double c : {1e18, 1e20, 1e22, 1e24}) {
      // Nearest frontier point for its band; the centre value is exact at c.
      const internal::FrontierPoint* best = nullptr;
      for (const auto& f : an.frontier)
        if (!best || std::fabs(std::log(f.flops / c)) < std::fabs(std::log(best->flops / c))) best = &f;
      const bool band = an.has_band && best && std::fabs(std::log(best->flops / c)) < 1e-6;
      const double n = fit.law.NOpt(c), d = fit.law.DOpt(c);
      o << "  " << Pad(FormatNumber(c), 12)
        << Pad(FormatNumber(n) + (band ? " " + Ci({best->n_lo, best->n_hi}) : ""), 22)
        << Pad(FormatNumber(d) + (band ? " " + Ci({best->d_lo, best->d_hi}) : ""), 22) << FormatNumber(d / n)
        << "\n";
    }
    o << "\n";
    int flagged = 0;
    for (const auto& v : an.runs) {
      if (!v.outlier) continue;
      if (flagged++ == 0)
        o << "Flagged runs (|ln residual| > " << FormatNumber(an.outlier_threshold, 3) << ", or diverged)\n";
      o << "  " << Pad(v.run->id.empty() ? "?" : v.run->id, 18) << Pad(RunStateName(v.run->state), 10)
        << "N=" << Pad(FormatNumber(v.run->params), 10) << "C=" << Pad(FormatNumber(v.flops), 10)
        << "residual " << FormatNumber(v.residual, 3) << "\n";
    }
    if (flagged == 0) o << "No flagged runs (threshold " << FormatNumber(an.outlier_threshold, 3) << ").\n";
    o << "\n";
  }

  if (input.plan) {
    const PlanInfo& p = *input.plan;
    o << "Plan: C = " << FormatNumber(p.budget_flops) << " FLOP → N = " << FormatNumber(p.params)
      << ", D = " << FormatNumber(p.tokens) << "\n";
    const auto headlines = internal::PlanHeadlines(p);
    for (const auto& h : headlines) o << "  " << Pad(h.label, 36) << h.value << "\n";
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
