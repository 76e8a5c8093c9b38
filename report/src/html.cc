// RenderHtml: the self-contained report page (inline CSS and SVG; no scripts, no network).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>

#include "analysis.h"
#include "isoflop/scaling_law.h"
#include "svg_plot.h"

namespace isoflop::report {

bool ReportOptions::IsValid(std::string* error) const {
  auto fail = [error](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (!(budget_gap_decades > 0 && budget_gap_decades <= 2))
    return fail("budget_gap_decades must be in (0, 2]");
  if (!(outlier_sigmas > 0)) return fail("outlier_sigmas must be > 0");
  if (!(outlier_min_abs_residual >= 0)) return fail("outlier_min_abs_residual must be >= 0");
  if (plot_width_px < 360 || plot_width_px > 4000) return fail("plot_width_px must be in [360, 4000]");
  if (plot_height_px < 200 || plot_height_px > 4000) return fail("plot_height_px must be in [200, 4000]");
  if (!(frontier_max_flops >= 0 && std::isfinite(frontier_max_flops)))
    return fail("frontier_max_flops must be >= 0 (0 = automatic)");
  if (max_table_rows < 1) return fail("max_table_rows must be >= 1");
  return true;
}

std::string ReportSummary::BriefReport() const {
  std::ostringstream o;
  o << "report: " << n_runs << " runs (" << n_done << " done, " << n_running << " running, " << n_pending
    << " pending, " << n_failed << " failed, " << n_diverged << " diverged; " << n_validation
    << " validation), " << n_budgets << " budgets, " << n_parabolas << " parabolas, " << n_outliers
    << " flagged, " << n_plots << " plots; fit: " << (has_fit ? "yes" : "no")
    << ", band: " << (has_band ? "yes" : "no")
    << ", plan: " << (has_plan ? (plan_extrapolated ? "yes (EXTRAPOLATED)" : "yes") : "no");
  return o.str();
}

std::string ReportSummary::FullReport() const {
  std::string s = BriefReport() + "\n";
  for (const std::string& n : notes) s += "  note: " + n + "\n";
  return s;
}

namespace {
using internal::Analysis;
using internal::Axis;
using internal::FormatNumber;
using internal::FormatNumberSvg;
using internal::IntervalText;
using internal::Marker;
using internal::RunView;
using internal::Scale;
using internal::Style;
using internal::SvgPlot;

// Ten budget styles: marker shape and fill, dash pattern and colour all differ, so budgets
// stay apart in greyscale. (Stars are the minima; crosses and hollow circles/triangles-up are
// failed/running/diverged runs.)
const char* kBudgetColors[] = {"#1f2a6b", "#2b7bb9", "#1a8a4a", "#b35806", "#7b3294",
                               "#555555", "#a6192e", "#0b6e6e", "#8c6d1f", "#c2185b"};
const char* kBudgetDashes[] = {"",         "7 4", "2 3",         "9 3 2 3", "4 2",
                               "12 3 3 3", "1 2", "6 2 1 2 1 2", "14 4",    "3 5"};
const Marker kBudgetMarkers[] = {Marker::kCircle,       Marker::kSquare, Marker::kTriangle, Marker::kDiamond,
                                 Marker::kTriangleDown, Marker::kPlus,   Marker::kSquare,   Marker::kDiamond,
                                 Marker::kTriangleDown, Marker::kCircle};
const bool kBudgetHollow[] = {false, false, false, false, false, false, true, true, true, false};
constexpr int kBudgetStyles = 10;

const char* kFitColor = "#000000";
const char* kBandColor = "#6f8fbf";
struct RefStyle {
  const char* color;
  const char* dash;
};
const RefStyle kRefStyles[] = {{"#d95f02", "8 4"}, {"#6a51a3", "2 3"}, {"#1b9e77", "10 3 2 3"}};

std::string Esc(const std::string& s) {
  return XmlEscape(s);
}

std::string BudgetLabel(double c) {
  return "C = " + FormatNumberSvg(c) + " FLOP";
}

std::string Figure(const std::string& id, const std::string& title, const std::string& svg,
                   const std::string& caption) {
  return "<figure id=\"" + id + "\"><h3>" + Esc(title) + "</h3>" + svg + "<figcaption>" + caption +
         "</figcaption></figure>\n";
}

std::string IsoflopPlot(const ReportInput& in, const Analysis& an, const ReportOptions& opt) {
  SvgPlot plot("plot-isoflop", Axis{"parameters N", Scale::kLog},
               Axis{"final eval loss [nats/token]", Scale::kLog}, opt.plot_width_px, opt.plot_height_px);
  double lo = 1e300, hi = 0;
  for (const auto& v : an.runs)
    if (v.run->state == RunState::kDone) lo = std::min(lo, v.run->loss), hi = std::max(hi, v.run->loss);
  const double rug_bottom = lo < 1e300 ? lo * 0.97 : 1.0;
  const double rug_top = hi > 0 ? hi * 1.04 : 10.0;
  std::vector<double> px, py, fx, fy, dx, dy;
  std::vector<std::string> ptip, ftip, dtip;
  // Up to kBudgetStyles budgets with at least 3 runs get their own marker, dash and colour (the
  // most populated ones); the rest share one grey style so the legend stays readable.
  std::vector<size_t> order(an.budgets.size());
  for (size_t b = 0; b < order.size(); ++b) order[b] = b;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return an.budgets[a].runs.size() > an.budgets[b].runs.size(); });
  std::vector<int> style_of(an.budgets.size(), -1);
  for (size_t k = 0; k < order.size() && k < kBudgetStyles; ++k)
    if (an.budgets[order[k]].runs.size() >= 3) style_of[order[k]] = 0;
  int next_style = 0;
  for (size_t b = 0; b < style_of.size(); ++b)
    if (style_of[b] == 0) style_of[b] = next_style++;  // in budget order, so styles follow C
  std::vector<double> ox, oy;
  std::vector<std::string> otip;
  for (size_t b = 0; b < an.budgets.size(); ++b) {
    const auto& bv = an.budgets[b];
    const bool styled = style_of[b] >= 0;
    Style st;
    st.color = styled ? kBudgetColors[style_of[b]] : "#9a9a9a";
    st.dash = styled ? kBudgetDashes[style_of[b]] : "";
    st.marker = styled ? kBudgetMarkers[style_of[b]] : Marker::kCircle;
    st.hollow = styled && kBudgetHollow[style_of[b]];
    if (styled && style_of[b] == 9) st.marker_size = 3;  // small dots, apart from the big circles
    if (!styled) st.marker_size = 2.6;
    st.legend_with_line = bv.parabola.has_value();
    std::vector<double> x, y;
    std::vector<std::string> tips;
    double nmin = 1e300, nmax = 0;
    for (int i : bv.runs) {
      const auto& v = an.runs[i];
      const RunRecord& r = *v.run;
      nmin = std::min(nmin, r.params), nmax = std::max(nmax, r.params);
      const std::string tip = (r.id.empty() ? std::string("run") : r.id) + ": N=" + FormatNumber(r.params) +
                              ", D=" + FormatNumber(r.tokens) + ", loss=" + FormatNumber(r.loss, 4) + " (" +
                              RunStateName(r.state) + ")";
      switch (r.state) {
        case RunState::kDone:
          x.push_back(r.params), y.push_back(r.loss), tips.push_back(tip);
          break;
        case RunState::kRunning:
        case RunState::kPending:
          px.push_back(r.params), py.push_back(std::isfinite(r.loss) ? r.loss : rug_bottom),
              ptip.push_back(tip);
          break;
        case RunState::kFailed:
          fx.push_back(r.params), fy.push_back(std::isfinite(r.loss) && r.loss < rug_top ? r.loss : rug_top),
              ftip.push_back(tip);
          break;
        case RunState::kDiverged:
          dx.push_back(r.params), dy.push_back(std::isfinite(r.loss) && r.loss < rug_top ? r.loss : rug_top),
              dtip.push_back(tip);
          break;
      }
    }
    if (!styled) {
      ox.insert(ox.end(), x.begin(), x.end()), oy.insert(oy.end(), y.begin(), y.end());
      otip.insert(otip.end(), tips.begin(), tips.end());
      continue;
    }
    if (bv.parabola) {
      const auto& p = *bv.parabola;
      std::vector<double> cx, cy;
      const double a = std::log(std::min(nmin, p.params_opt)) - 0.1,
                   z = std::log(std::max(nmax, p.params_opt)) + 0.1;
      for (int k = 0; k <= 48; ++k) {
        const double xl = a + (z - a) * k / 48.0;
        cx.push_back(std::exp(xl)), cy.push_back(p.c0 + p.c1 * xl + p.c2 * xl * xl);
      }
      Style ls = st;
      ls.marker = Marker::kNone;
      plot.AddLine("", cx, cy, ls);
    }
    plot.AddPoints(BudgetLabel(bv.flops), x, y, st, tips);
  }
  Style other;
  other.color = "#9a9a9a", other.marker = Marker::kCircle, other.marker_size = 2.6;
  if (!ox.empty()) plot.AddPoints("other budgets", ox, oy, other, otip);
  // Minima on top of everything, one legend entry.
  std::vector<double> mx, my;
  std::vector<std::string> mtip;
  for (size_t b = 0; b < an.budgets.size(); ++b) {
    const auto& bv = an.budgets[b];
    if (!bv.parabola || style_of[b] < 0) continue;
    mx.push_back(bv.parabola->params_opt), my.push_back(bv.parabola->loss_at_min);
    mtip.push_back("minimum at " + BudgetLabel(bv.flops) +
                   ": N_opt=" + FormatNumber(bv.parabola->params_opt) +
                   ", loss=" + FormatNumber(bv.parabola->loss_at_min, 4) +
                   (bv.parabola_from_fit ? " (the fitter's parabola)" : " (fitted here)"));
  }
  Style ms;
  ms.color = "#000000", ms.marker = Marker::kStar, ms.marker_size = 5.5;
  if (!mx.empty()) plot.AddPoints("parabola minimum (Approach 2)", mx, my, ms, mtip);
  Style rs;
  rs.color = "#333333", rs.marker = Marker::kCircle, rs.hollow = true, rs.marker_size = 5;
  if (!px.empty()) plot.AddPoints("running/pending (no loss: at bottom)", px, py, rs, ptip);
  Style fs;
  fs.color = "#a6192e", fs.marker = Marker::kCross, fs.marker_size = 5;
  if (!fx.empty()) plot.AddPoints("failed (no loss: at top)", fx, fy, fs, ftip);
  Style ds;
  ds.color = "#a6192e", ds.marker = Marker::kTriangle, ds.hollow = true, ds.marker_size = 5.5;
  if (!dx.empty()) plot.AddPoints("diverged (off-scale: at top)", dx, dy, ds, dtip);
  return plot.Render();
}

void AddReferenceLines(SvgPlot& plot, const std::vector<double>& cs, int which /*0 N, 1 D, 2 D/N*/) {
  const auto& refs = internal::ReferenceLaws();
  for (size_t i = 0; i < refs.size(); ++i) {
    std::vector<double> y;
    for (double c : cs) {
      const double n = refs[i].NOpt(c), d = refs[i].DOpt(c);
      y.push_back(which == 0 ? n : which == 1 ? d : d / n);
    }
    Style st;
    st.color = kRefStyles[i].color, st.dash = kRefStyles[i].dash, st.line_width = 1.8;
    plot.AddLine(refs[i].name, cs, y, st);
  }
}

// Interval bars (a vertical line from lo to hi with end ticks) at x, one legend entry.
void AddIntervalBars(SvgPlot& plot, const std::string& label, const std::vector<double>& x,
                     const std::vector<std::optional<Interval>>& intervals, const Style& style) {
  bool first = true;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!intervals[i]) continue;
    plot.AddLine(first ? label : "", {x[i], x[i]}, {intervals[i]->lo, intervals[i]->hi}, style);
    first = false;
  }
}

std::string FrontierPlot(const ReportInput& in, const Analysis& an, const ReportOptions& opt) {
  SvgPlot plot("plot-frontier", Axis{"compute C [FLOP]", Scale::kLog},
               Axis{"final eval loss [nats/token]", Scale::kLog}, opt.plot_width_px, opt.plot_height_px);
  if (an.counts.has_loss_law) {
    std::vector<double> cs, l, lo, hi;
    for (const auto& f : an.frontier)
      cs.push_back(f.flops), l.push_back(f.loss), lo.push_back(f.loss_lo), hi.push_back(f.loss_hi);
    if (an.has_band) plot.AddBand("95% band (replicate laws)", cs, lo, hi, kBandColor, 0.35);
    Style fit;
    fit.color = kFitColor, fit.line_width = 2.4;
    if (!cs.empty()) plot.AddLine("fitted law L(N_opt(C), D_opt(C))", cs, l, fit);
  }
  std::vector<double> rx, ry, ex, ey, mx, my;
  for (const auto& v : an.runs)
    if (v.run->state == RunState::kDone && !v.validation) rx.push_back(v.flops), ry.push_back(v.run->loss);
  for (const auto& b : an.budgets) {
    if (b.best_run >= 0) ex.push_back(b.flops), ey.push_back(an.runs[b.best_run].run->loss);
    if (b.parabola) mx.push_back(b.parabola->budget_flops), my.push_back(b.parabola->loss_at_min);
  }
  Style rs;
  rs.color = "#9a9a9a", rs.marker = Marker::kCircle, rs.marker_size = 2.6;
  plot.AddPoints("finished sweep runs", rx, ry, rs);
  Style es;
  es.color = "#2b7bb9", es.marker = Marker::kDiamond, es.marker_size = 5, es.hollow = true;
  if (!ex.empty()) plot.AddPoints("lowest loss per budget (Approach 1)", ex, ey, es);
  Style ms;
  ms.color = "#000000", ms.marker = Marker::kStar, ms.marker_size = 5;
  if (!mx.empty()) plot.AddPoints("parabola minimum (Approach 2)", mx, my, ms);
  // Validation runs: what the law predicts at each run's (N, D), with its 95% interval, and what the
  // run observed.
  std::vector<double> px, py, ox, oy;
  std::vector<std::optional<Interval>> pi;
  std::vector<std::string> ptip, otip;
  for (const auto& c : an.checks) {
    const RunView& v = an.runs[c.run];
    const std::string id = v.run->id.empty() ? std::string("validation run") : v.run->id;
    if (std::isfinite(c.predicted)) {
      px.push_back(v.flops), py.push_back(c.predicted), pi.push_back(c.interval);
      ptip.push_back(id + ": predicted loss " + FormatNumber(c.predicted, 4) + " " +
                     IntervalText(c.interval, 4) + " at N=" + FormatNumber(v.run->params) +
                     ", D=" + FormatNumber(v.run->tokens));
    }
    if (v.run->state == RunState::kDone) {
      ox.push_back(v.flops), oy.push_back(v.run->loss);
      otip.push_back(id + ": observed loss " + FormatNumber(v.run->loss, 4) +
                     (std::isfinite(c.error_pct) ? ", prediction error " + FormatNumber(c.error_pct, 3) + "%"
                                                 : std::string()));
    }
  }
  // Observed first, then the intervals and the hollow predictions on top, so a prediction stays
  // visible where it meets its observation.
  Style os;
  os.color = "#a6192e", os.marker = Marker::kTriangle, os.marker_size = 5;
  if (!ox.empty()) plot.AddPoints("validation: observed loss", ox, oy, os, otip);
  Style bar;
  bar.color = "#a6192e", bar.line_width = 2, bar.marker = Marker::kPlus, bar.marker_size = 4;
  AddIntervalBars(plot, "validation: 95% interval of the prediction", px, pi, bar);
  Style ps;
  ps.color = "#a6192e", ps.marker = Marker::kSquare, ps.hollow = true, ps.marker_size = 5;
  if (!px.empty()) plot.AddPoints("validation: law's predicted loss at its N, D", px, py, ps, ptip);
  // The plan's predicted loss at its budget, with its interval.
  if (in.plan && std::isfinite(in.plan->loss) && std::isfinite(in.plan->budget_flops)) {
    Style pb = bar;
    pb.color = "#555555";
    AddIntervalBars(plot, "", {in.plan->budget_flops}, {in.plan->loss_interval}, pb);
    Style pm;
    pm.color = "#555555", pm.marker = Marker::kDiamond, pm.marker_size = 6;
    plot.AddPoints(in.plan->extrapolated ? "plan (EXTRAPOLATED)" : "plan: predicted loss",
                   {in.plan->budget_flops}, {in.plan->loss}, pm,
                   {"plan: predicted loss " + FormatNumber(in.plan->loss, 4) + " " +
                    IntervalText(in.plan->loss_interval, 4)});
  }
  return plot.Render();
}

// The planner's Pareto front: wall-clock [days] against cost [$], one point per GPU count.
std::string ParetoPlot(const PlanInfo& plan, const ReportOptions& opt) {
  SvgPlot plot("plot-pareto", Axis{"wall-clock [days]", Scale::kLog}, Axis{"cost [$]", Scale::kLog},
               opt.plot_width_px, opt.plot_height_px);
  std::vector<double> x, y, cx, cy;
  std::vector<std::string> tips, ctips;
  for (const auto& p : plan.pareto) {
    const std::string tip = std::to_string(p.gpus) + " GPUs: " + p.layout;
    (p.chosen ? cx : x).push_back(p.wall_clock_s / 86400);
    (p.chosen ? cy : y).push_back(p.cost_usd);
    (p.chosen ? ctips : tips).push_back(tip);
  }
  Style line;
  line.color = "#9a9a9a", line.line_width = 1.2;
  std::vector<double> lx, ly;
  for (const auto& p : plan.pareto) lx.push_back(p.wall_clock_s / 86400), ly.push_back(p.cost_usd);
  plot.AddLine("front", lx, ly, line);
  Style pts;
  pts.color = "#2b7bb9", pts.marker = Marker::kCircle, pts.marker_size = 4, pts.hollow = true;
  plot.AddPoints("GPU counts on the front", x, y, pts, tips);
  Style chosen;
  chosen.color = "#c0392b", chosen.marker = Marker::kStar, chosen.marker_size = 6;
  if (!cx.empty()) plot.AddPoints("chosen", cx, cy, chosen, ctips);
  for (const auto& p : plan.pareto)
    if (p.chosen || &p == &plan.pareto.front() || &p == &plan.pareto.back())
      plot.AddAnnotation(p.wall_clock_s / 86400, p.cost_usd, std::to_string(p.gpus) + " GPUs");
  return plot.Render();
}

std::string AllocationPlot(const std::string& id, int which, const ReportInput& in, const Analysis& an,
                           const ReportOptions& opt) {
  const char* ylabel = which == 0   ? "optimal parameters N_opt"
                       : which == 1 ? "optimal tokens D_opt"
                                    : "tokens per parameter D_opt/N_opt";
  SvgPlot plot(id, Axis{"compute C [FLOP]", Scale::kLog}, Axis{ylabel, Scale::kLog}, opt.plot_width_px,
               opt.plot_height_px);
  std::vector<double> cs;
  for (const auto& f : an.frontier) cs.push_back(f.flops);
  if (an.has_band) {
    std::vector<double> lo, hi;
    for (const auto& f : an.frontier) {
      lo.push_back(which == 0 ? f.n_lo : which == 1 ? f.d_lo : f.tpp_lo);
      hi.push_back(which == 0 ? f.n_hi : which == 1 ? f.d_hi : f.tpp_hi);
    }
    plot.AddBand("95% band (replicate laws)", cs, lo, hi, kBandColor, 0.35);
  }
  if (!an.frontier.empty()) {
    std::vector<double> y;
    for (const auto& f : an.frontier) y.push_back(which == 0 ? f.n_opt : which == 1 ? f.d_opt : f.tpp);
    Style fit;
    fit.color = kFitColor, fit.line_width = 2.4;
    plot.AddLine(
        in.fit && in.fit->law.form == LawForm::kPowerLaw ? "this fit (power law)" : "this fit (Eq. 4)", cs, y,
        fit);
  }
  AddReferenceLines(plot, an.frontier_flops, which);
  // The fitter's intervals at its chosen budgets (fit.json ci "N_opt@C"), as vertical bars.
  if (which < 2) {
    const auto& bars = which == 0 ? an.n_opt_ci : an.d_opt_ci;
    std::vector<double> x;
    std::vector<std::optional<Interval>> iv;
    for (const auto& [c, interval] : bars) x.push_back(c), iv.push_back(interval);
    Style bar;
    bar.color = kFitColor, bar.line_width = 2.2, bar.marker = Marker::kPlus, bar.marker_size = 4;
    AddIntervalBars(plot, "95% interval (fit.json ci)", x, iv, bar);
  }
  if (which == 2) {
    Style twenty;
    twenty.color = "#777777", twenty.dash = "1 3", twenty.line_width = 1.4;
    plot.AddHorizontal("20 tokens/param rule of thumb", 20, twenty);
  }
  // Approach 2 estimates from the per-budget parabolas: N_opt from the minimum, D = C/(6N).
  std::vector<double> mx, my;
  for (const auto& b : an.budgets) {
    if (!b.parabola) continue;
    const double n = b.parabola->params_opt, d = b.parabola->tokens_opt;
    mx.push_back(b.parabola->budget_flops), my.push_back(which == 0 ? n : which == 1 ? d : d / n);
  }
  Style ms;
  ms.color = "#000000", ms.marker = Marker::kStar, ms.marker_size = 5;
  if (!mx.empty()) plot.AddPoints("parabola minima (Approach 2)", mx, my, ms);
  // The plan's N_opt / D_opt with their intervals.
  if (in.plan && which < 2 && std::isfinite(in.plan->budget_flops)) {
    const double v = which == 0 ? in.plan->params_opt : in.plan->tokens_opt;
    const auto& iv = which == 0 ? in.plan->params_opt_interval : in.plan->tokens_opt_interval;
    if (std::isfinite(v)) {
      Style pb;
      pb.color = "#555555", pb.line_width = 2, pb.marker = Marker::kPlus, pb.marker_size = 4;
      AddIntervalBars(plot, "", {in.plan->budget_flops}, {iv}, pb);
      Style pm;
      pm.color = "#555555", pm.marker = Marker::kDiamond, pm.marker_size = 6;
      plot.AddPoints(in.plan->extrapolated ? "plan (EXTRAPOLATED)" : "plan", {in.plan->budget_flops}, {v}, pm,
                     {std::string("plan: ") + (which == 0 ? "N_opt " : "D_opt ") + FormatNumber(v, 4) + " " +
                      IntervalText(iv, 4)});
    }
  }
  return plot.Render();
}

std::string ResidualPlot(const Analysis& an, const ReportOptions& opt) {
  SvgPlot plot("plot-residuals", Axis{"parameters N", Scale::kLog},
               Axis{"residual ln L − ln L_fit", Scale::kLinear}, opt.plot_width_px, opt.plot_height_px);
  std::vector<double> ox, oy, fx, fy, xx, xy;
  std::vector<std::string> otip, ftip, xtip;
  for (const auto& v : an.runs) {
    if (!std::isfinite(v.residual)) continue;
    const std::string tip = (v.run->id.empty() ? std::string("run") : v.run->id) + ": residual " +
                            FormatNumber(v.residual, 3) + ", C=" + FormatNumber(v.flops);
    if (v.validation) {
      xx.push_back(v.run->params), xy.push_back(v.residual),
          xtip.push_back(tip + " (validation, not in the fit)");
    } else if (v.outlier) {
      fx.push_back(v.run->params), fy.push_back(v.residual), ftip.push_back(tip + " (flagged)");
    } else {
      ox.push_back(v.run->params), oy.push_back(v.residual), otip.push_back(tip);
    }
  }
  // The axis spans the bulk of the residuals; far-off runs (diverged ones especially) are drawn
  // at the edge with their value written beside them, so they cannot flatten the rest.
  double bulk = 0;
  for (const auto& v : an.runs)
    if (std::isfinite(v.residual) && !v.outlier) bulk = std::max(bulk, std::fabs(v.residual));
  const double limit = std::max({bulk * 1.25, an.outlier_threshold * 1.6, 1e-3});
  int off_scale = 0;
  for (const auto& v : an.runs) off_scale += std::isfinite(v.residual) && std::fabs(v.residual) > limit;
  auto clamp_series = [&](std::vector<double>& xs, std::vector<double>& ys) {
    for (size_t i = 0; i < ys.size(); ++i) {
      if (std::fabs(ys[i]) <= limit) continue;
      char buf[32];
      std::snprintf(buf, sizeof(buf), "r = %+.3g", ys[i]);
      ys[i] = ys[i] > 0 ? limit * 0.96 : -limit * 0.96;
      if (off_scale <= 4) plot.AddAnnotation(xs[i], ys[i], buf);  // more would overlap: counted in the legend
    }
  };
  clamp_series(ox, oy), clamp_series(fx, fy), clamp_series(xx, xy);
  plot.SetYRange(-limit, limit);
  Style zero;
  zero.color = "#000000", zero.line_width = 1.2;
  plot.AddHorizontal("zero", 0, zero);
  Style thr;
  thr.color = "#a6192e", thr.dash = "6 3", thr.line_width = 1.2;
  if (std::isfinite(an.outlier_threshold)) {
    plot.AddHorizontal("± outlier threshold", an.outlier_threshold, thr);
    plot.AddHorizontal("", -an.outlier_threshold, thr);
  }
  Style os;
  os.color = "#2b7bb9", os.marker = Marker::kCircle, os.marker_size = 3.2;
  plot.AddPoints("run", ox, oy, os, otip);
  Style fs;
  fs.color = "#a6192e", fs.marker = Marker::kCross, fs.marker_size = 5;
  if (!fx.empty())
    plot.AddPoints(off_scale > 4 ? "flagged (" + std::to_string(off_scale) + " off-scale, at the edge)"
                                 : std::string("flagged outlier / diverged"),
                   fx, fy, fs, ftip);
  Style xs;
  xs.color = "#a6192e", xs.marker = Marker::kTriangle, xs.marker_size = 5.5;
  if (!xx.empty()) plot.AddPoints("validation run (not in the fit)", xx, xy, xs, xtip);
  return plot.Render();
}

std::string LawTable(const ReportInput& in, const Analysis& an) {
  std::ostringstream o;
  const FitRecord* fit = in.fit ? &*in.fit : nullptr;
  if (!an.counts.has_fit) {
    o << "<p class=\"small\">"
      << (fit ? "fit.json holds no law" +
                    (fit->approach3_error.empty() ? std::string() : ": " + Esc(fit->approach3_error))
              : std::string("No fit given (isoflop report --fit fit.json)."))
      << "</p>";
    return o.str();
  }
  o << "<p class=\"provenance\">Fit: <b>" << Esc(an.provenance) << "</b></p>";
  o << "<table class=\"law\"><thead><tr><th>quantity</th><th>this fit</th><th>95% interval</th>"
       "<th>Epoch 2024</th><th>Hoffmann 2022</th><th>Kaplan 2020</th></tr></thead><tbody>";
  for (const auto& p : an.params)
    o << "<tr><td>" << p.label << "</td><td class=\"num\">" << FormatNumber(p.value, 4)
      << "</td><td class=\"num\">" << IntervalText(p.interval, 4) << "</td><td class=\"num\">"
      << FormatNumber(p.epoch, 4) << "</td><td class=\"num\">" << FormatNumber(p.hoffmann, 4)
      << "</td><td class=\"num\">" << p.kaplan << "</td></tr>";
  o << "</tbody></table>";
  o << "<p class=\"small\">law form: " << LawFormName(fit->law.form)
    << "; method: " << FitMethodName(fit->method) << "; points: " << fit->n_points;
  if (fit->law.form != LawForm::kPowerLaw) o << "; objective: " << FormatNumber(fit->objective, 8);
  o << "; replicate laws: " << fit->bootstrap_laws.size();
  if (!fit->provenance.interval_method.empty()) o << " (" << Esc(fit->provenance.interval_method) << ")";
  if (!fit->approach3_error.empty()) o << "; Approach 3 gave no law: " << Esc(fit->approach3_error);
  o << ". Intervals: the fit's own (fit.json <code>ci</code>), else the 2.5th–97.5th percentiles over its "
       "replicate laws. Hoffmann's published Approach 1 and 2 exponents are a = 0.50 and 0.49 (Table 2).</p>";
  return o.str();
}

// A loud banner: the plan rests on a law outside its evidence.
std::string ExtrapolationBanner(const PlanInfo& plan) {
  std::string text = plan.warning;
  if (text.empty())
    text = "EXTRAPOLATED PLAN: the budget lies outside the evidence of the law" +
           (plan.evidence_reason.empty() ? std::string() : " (" + plan.evidence_reason + ")") +
           "; planned with --allow-extrapolation.";
  return "<div class=\"banner\" role=\"alert\"><b>⚠ Extrapolated plan.</b> " + Esc(text) + "</div>";
}

// The planner's headline numbers with their intervals, then every field of plan.json in a <details>.
std::string PlanTable(const PlanInfo& plan) {
  std::ostringstream o;
  if (plan.extrapolated) o << ExtrapolationBanner(plan);
  o << "<p>Target budget <b>" << FormatNumber(plan.budget_flops) << " FLOP</b>: ";
  if (std::isfinite(plan.params_opt)) {
    o << "the law's N_opt = <b>" << FormatNumber(plan.params_opt) << "</b> "
      << IntervalText(plan.params_opt_interval) << ", D_opt = <b>" << FormatNumber(plan.tokens_opt) << "</b> "
      << IntervalText(plan.tokens_opt_interval) << " tokens";
    if (std::isfinite(plan.loss))
      o << ", predicted loss <b>" << FormatNumber(plan.loss, 4) << "</b> "
        << IntervalText(plan.loss_interval, 4);
    o << " (95% intervals" << (plan.interval_source.empty() ? "" : ": " + Esc(plan.interval_source)) << ")";
    if (!plan.params_opt_interval) o << "; the law has no interval";
    o << ". Chosen shape: N = <b>" << FormatNumber(plan.params) << "</b> parameters, D = <b>"
      << FormatNumber(plan.tokens) << "</b> tokens.";
  } else {
    o << "N = <b>" << FormatNumber(plan.params) << "</b> parameters, D = <b>" << FormatNumber(plan.tokens)
      << "</b> tokens.";
  }
  o << "</p>";
  if (!plan.provenance.empty() || !plan.law_source.empty())
    o << "<p class=\"provenance\">Law: " << Esc(plan.provenance.empty() ? plan.law_source : plan.provenance)
      << (std::isfinite(plan.extrapolation)
              ? "; budget = " + FormatNumber(plan.extrapolation) + "× the largest fitted budget"
              : std::string())
      << (plan.extrapolated              ? std::string()
          : plan.evidence_reason.empty() ? ""
                                         : "; evidence: " + Esc(plan.evidence_reason))
      << "</p>";
  o << "<table class=\"plan\"><thead><tr><th>quantity</th><th>value</th><th>95% interval</th><th>plan.json "
       "key</th></tr></thead><tbody>";
  const auto headlines = internal::PlanHeadlines(plan);
  for (const auto& h : headlines)
    o << "<tr><td>" << Esc(h.label) << "</td><td class=\"num\">" << Esc(h.value) << "</td><td class=\"num\">"
      << Esc(h.interval) << "</td><td><code>" << Esc(h.key) << "</code></td></tr>";
  o << "</tbody></table>";
  o << "<details" << (headlines.empty() ? " open" : "") << "><summary>all " << plan.rows.size()
    << " fields of plan.json</summary><table class=\"plan-all\"><thead><tr><th>section</th><th>key</th>"
       "<th>value</th></tr></thead><tbody>";
  for (const auto& r : plan.rows)
    o << "<tr><td>" << Esc(r.section) << "</td><td>" << Esc(r.name) << "</td><td class=\"num\">"
      << Esc(r.value) << "</td></tr>";
  o << "</tbody></table></details>";
  return o.str();
}

// Training beside serving, one row per weight precision (plan.json "serving"; docs/planner.md §8):
// the EfficientLLM metrics of each option — memory, bandwidth and compute utilisation, latency
// (time per output token), throughput, energy and cost per million tokens.
std::string ServingTable(const PlanInfo& plan) {
  std::ostringstream o;
  auto pct = [](double x) { return std::isfinite(x) ? FormatNumber(100 * x, 3) + "%" : std::string("—"); };
  auto num = [](double x, int digits = 4) {
    return std::isfinite(x) ? FormatNumber(x, digits) : std::string("—");
  };
  o << "<p>Training the planned model: " << num(plan.train_gpu_hours) << " GPU-hours, $"
    << num(plan.train_cost_usd) << ", " << num(plan.train_energy_kwh) << " kWh. Serving it";
  if (std::isfinite(plan.serving_lifetime_tokens) && plan.serving_lifetime_tokens > 0)
    o << " (" << FormatNumber(plan.serving_lifetime_tokens) << " lifetime tokens)";
  if (std::isfinite(plan.serving_requests_per_s) && plan.serving_requests_per_s > 0)
    o << " (" << FormatNumber(plan.serving_requests_per_s) << " requests/s)";
  o << ", per weight precision:</p>";
  o << "<table class=\"serving\"><thead><tr><th>option</th><th>GPUs / replica</th><th>memory / GPU [GiB]</th>"
       "<th>memory util.</th><th>bandwidth util.</th><th>compute util.</th><th>latency [ms/token]</th>"
       "<th>decode [tokens/s]</th><th>prefill [tokens/s]</th><th>$ / M tokens</th><th>kWh / M tokens</th>"
       "<th>lifetime $</th><th>lifetime kWh</th><th>replicas</th></tr></thead><tbody>";
  o << "<tr><td>training</td><td colspan=\"10\"></td><td class=\"num\">" << num(plan.train_cost_usd)
    << "</td><td class=\"num\">" << num(plan.train_energy_kwh) << "</td><td></td></tr>";
  for (const auto& s : plan.serving) {
    o << "<tr><td>serve " << Esc(s.precision) << (s.fits ? "" : " (does not fit)")
      << "</td><td class=\"num\">" << s.gpus_per_replica << "</td><td class=\"num\">"
      << num(s.memory_per_gpu_bytes / (1024.0 * 1024 * 1024), 3) << "</td><td class=\"num\">"
      << pct(s.memory_utilization) << "</td><td class=\"num\">" << pct(s.bandwidth_utilization)
      << "</td><td class=\"num\">" << pct(s.compute_utilization) << "</td><td class=\"num\">"
      << num(s.time_per_output_token_s * 1e3, 3) << "</td><td class=\"num\">" << num(s.decode_tokens_per_s)
      << "</td><td class=\"num\">" << num(s.prefill_tokens_per_s) << "</td><td class=\"num\">"
      << num(s.usd_per_million_tokens) << "</td><td class=\"num\">" << num(s.kwh_per_million_tokens)
      << "</td><td class=\"num\">" << num(s.lifetime_usd) << "</td><td class=\"num\">" << num(s.lifetime_kwh)
      << "</td><td class=\"num\">" << num(s.replicas) << "</td></tr>";
  }
  o << "</tbody></table>";
  return o.str();
}

// Dense beside a mixture of experts (plan.json "moe"; docs/planner.md §9): one column each, the
// MoE law's provenance above, and its extrapolation in a warning when the law is used outside its
// published range.
std::string MoeTable(const PlanInfo::MoeComparison& c) {
  std::ostringstream o;
  auto num = [](double x, int digits = 4) {
    return std::isfinite(x) ? FormatNumber(x, digits) : std::string("—");
  };
  if (c.extrapolated) {
    o << "<p class=\"warning\"><strong>The MoE law is extrapolated outside its published range:</strong> ";
    for (size_t i = 0; i < c.extrapolation.size(); ++i) o << (i ? "; " : "") << Esc(c.extrapolation[i]);
    o << ".</p>";
  }
  o << "<p>MoE law: " << Esc(c.law_citation) << ". <code>" << Esc(c.law_equation)
    << "</code>. At this budget, per that law (its own data): dense loss " << num(c.law_dense_loss)
    << ", MoE loss " << num(c.law_moe_loss) << ".</p>";
  o << "<table class=\"moe\"><thead><tr><th></th><th>" << Esc(c.dense.label) << "</th><th>" << Esc(c.moe.label)
    << "</th></tr></thead><tbody>";
  auto row = [&](const char* name, const std::string& a, const std::string& b) {
    o << "<tr><td>" << name << "</td><td class=\"num\">" << a << "</td><td class=\"num\">" << b << "</td></tr>";
  };
  row("parameters, total", num(c.dense.params_total), num(c.moe.params_total));
  row("parameters, active per token", num(c.dense.params_active), num(c.moe.params_active));
  row("training tokens", num(c.dense.train_tokens), num(c.moe.train_tokens));
  row("loss (each column's law)", num(c.dense.loss) + " (" + Esc(c.dense.loss_law) + ")",
      num(c.moe.loss) + " (" + Esc(c.moe.loss_law) + ")");
  row("layout", Esc(c.dense.layout), Esc(c.moe.layout));
  row("GPUs allocated", num(c.dense.gpus_allocated), num(c.moe.gpus_allocated));
  row("memory per GPU [GiB]", num(c.dense.memory_per_gpu_bytes / (1024.0 * 1024 * 1024), 3),
      num(c.moe.memory_per_gpu_bytes / (1024.0 * 1024 * 1024), 3));
  row("wall-clock [days]", num(c.dense.wall_clock_s / 86400, 3), num(c.moe.wall_clock_s / 86400, 3));
  row("training GPU-hours", num(c.dense.gpu_hours), num(c.moe.gpu_hours));
  row("training cost [$]", num(c.dense.cost_usd), num(c.moe.cost_usd));
  row("training energy [kWh]", num(c.dense.energy_kwh), num(c.moe.energy_kwh));
  row("serving bf16: GPUs per replica", num(c.dense.serving_gpus_per_replica), num(c.moe.serving_gpus_per_replica));
  row("serving bf16: $ per M tokens", num(c.dense.serving_usd_per_million_tokens),
      num(c.moe.serving_usd_per_million_tokens));
  o << "</tbody></table>";
  return o.str();
}

// Validation runs: the law's predicted loss at each run's (N, D) against the observed loss.
std::string PredictionCheckTable(const Analysis& an) {
  std::ostringstream o;
  o << "<table class=\"checks\"><thead><tr><th>run</th><th>state</th><th>C [FLOP]</th><th>C / largest fitted "
       "budget</th><th>N</th><th>D [tokens]</th><th>predicted loss</th><th>95% interval</th><th>observed "
       "loss</th><th>error</th><th>inside the interval</th></tr></thead><tbody>";
  for (const auto& c : an.checks) {
    const RunRecord& r = *an.runs[c.run].run;
    o << "<tr><td>" << Esc(r.id) << "</td><td>" << RunStateName(r.state) << "</td><td class=\"num\">"
      << FormatNumber(an.runs[c.run].flops) << "</td><td class=\"num\">" << FormatNumber(c.extrapolation)
      << "</td><td class=\"num\">" << FormatNumber(r.params) << "</td><td class=\"num\">"
      << FormatNumber(r.tokens) << "</td><td class=\"num\">" << FormatNumber(c.predicted, 4)
      << "</td><td class=\"num\">" << IntervalText(c.interval, 4) << "</td><td class=\"num\">"
      << FormatNumber(r.loss, 4) << "</td><td class=\"num\">"
      << (std::isfinite(c.error_pct) ? (c.error_pct > 0 ? "+" : "") + FormatNumber(c.error_pct, 3) + "%"
                                     : std::string("–"))
      << "</td><td>" << (c.inside ? (*c.inside ? "yes" : "<b>no</b>") : "–") << "</td></tr>";
  }
  o << "</tbody></table>";
  return o.str();
}

std::string RunsTable(const Analysis& an, const ReportOptions& opt) {
  std::ostringstream o;
  o << "<table class=\"runs\"><thead><tr><th>run</th><th>state</th><th>attempts</th><th>C [FLOP]</th>"
       "<th>N</th><th>D [tokens]</th><th>loss</th><th>residual</th><th>tokens/s</th><th>MFU</th>"
       "<th>energy [kWh]</th><th>flag</th></tr></thead><tbody>";
  int shown = 0;
  for (const auto& v : an.runs) {
    if (shown++ >= opt.max_table_rows) break;
    const RunRecord& r = *v.run;
    std::string flag;
    if (v.validation)
      flag = "validation (not in the fit)";
    else if (r.state == RunState::kDiverged)
      flag = "⚑ diverged";
    else if (v.outlier)
      flag = "⚑ outlier";
    o << "<tr class=\"state-" << RunStateName(r.state) << (v.outlier ? " flagged" : "") << "\"><td>"
      << Esc(r.id.empty() ? "#" + std::to_string(shown) : r.id) << "</td><td>" << RunStateName(r.state)
      << "</td><td class=\"num\">" << r.attempts << "</td><td class=\"num\">" << FormatNumber(v.flops)
      << "</td><td class=\"num\">" << FormatNumber(r.params) << "</td><td class=\"num\">"
      << FormatNumber(r.tokens) << "</td><td class=\"num\">" << FormatNumber(r.loss, 4)
      << "</td><td class=\"num\">" << FormatNumber(v.residual, 3) << "</td><td class=\"num\">"
      << FormatNumber(r.tokens_per_s) << "</td><td class=\"num\">"
      << (std::isfinite(r.mfu) ? FormatNumber(100 * r.mfu, 3) + "%" : std::string("–"))
      << "</td><td class=\"num\">" << FormatNumber(r.energy_kwh) << "</td><td>" << flag << "</td></tr>";
  }
  o << "</tbody></table>";
  if (static_cast<int>(an.runs.size()) > opt.max_table_rows)
    o << "<p class=\"small\">… " << an.runs.size() - opt.max_table_rows << " more runs not shown.</p>";
  return o.str();
}

const char* kCss = R"(
:root{color-scheme:light}
body{font-family:"DejaVu Sans","Liberation Sans",Arial,sans-serif;margin:0 auto;max-width:1240px;padding:12px 20px 40px;color:#111;background:#fff;font-size:14px;line-height:1.4}
h1{font-size:22px;margin:8px 0 2px}h2{font-size:18px;margin:26px 0 8px;border-bottom:1px solid #ccc;padding-bottom:3px}
h3{font-size:15px;margin:0 0 4px}
.meta{color:#444;margin:0 0 8px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(590px,1fr));gap:18px 20px}
figure{margin:0;padding:8px;border:1px solid #ddd;border-radius:4px;background:#fff}
figure svg{width:100%;height:auto;display:block}
figcaption{font-size:12.5px;color:#333;margin-top:4px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eee}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tbody tr:nth-child(even){background:#f6f6f6}
tr.flagged td{font-weight:bold}
tr.state-failed td,tr.state-diverged td{color:#8a1020}
.notes li{color:#444}
.small{font-size:12.5px;color:#333}
.counts span{display:inline-block;border:1px solid #bbb;border-radius:3px;padding:1px 8px;margin:0 6px 4px 0}
.runs-wrap{max-height:none;overflow-x:auto}
.banner{border:3px solid #a6192e;background:#fde8ea;color:#6b0b17;padding:10px 14px;margin:10px 0;font-size:15px;border-radius:4px}
.provenance{color:#222;margin:4px 0}
@media print{figure{break-inside:avoid}}
)";

}  // namespace

StatusOr<std::string> RenderHtml(const ReportInput& input, const ReportOptions& options,
                                 ReportSummary* summary) {
  auto analysis = internal::Analyze(input, options);
  if (!analysis.ok()) return analysis.status();
  const Analysis& an = *analysis;
  ReportSummary s = an.counts;

  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
       "<title>"
    << Esc(options.title) << "</title><style>" << kCss << "</style></head><body>\n";
  o << "<h1>" << Esc(options.title) << "</h1>";
  o << "<p class=\"meta\">runs from " << Esc(input.source.empty() ? "(given in memory)" : input.source)
    << (input.fit ? "; fit given" : "; no fit") << (input.plan ? "; plan given" : "; no plan") << "</p>";
  o << "<p class=\"counts\"><span>" << s.n_runs << " runs</span><span>" << s.n_done << " done</span><span>"
    << s.n_running << " running</span><span>" << s.n_pending << " pending</span><span>" << s.n_failed
    << " failed</span><span>" << s.n_diverged << " diverged</span>";
  if (s.n_validation > 0) o << "<span>" << s.n_validation << " validation</span>";
  o << "<span>" << s.n_budgets << " compute budgets</span><span>" << s.n_outliers << " flagged</span></p>\n";
  // An extrapolated plan is said at the top of the page, not only in its section.
  if (input.plan && input.plan->extrapolated) o << ExtrapolationBanner(*input.plan);

  o << "<h2 id=\"law\">Fitted law and published values</h2>";
  if (input.fit && input.fit->has_law && input.fit->law.form == LawForm::kPowerLaw) {
    o << "<p>An allocation-only power law (Hoffmann et al. 2022, Approaches 1 and 2, Sec. 3.1–3.2): "
         "N_opt = k<sub>N</sub>·C<sup>a</sup> and D_opt = k<sub>D</sub>·C<sup>b</sup>, fitted by least "
         "squares in "
         "log–log space through the per-budget optima. It predicts N and D, not a loss"
      << (input.fit->law.HasLoss() ? " (this one carries a loss law L(N, D) = E + A/N<sup>α</sup> + "
                                     "B/D<sup>β</sup> of its own)"
                                   : "")
      << (input.fit->law.no_floor.used()
              ? "; its predicted losses are the geometric mean of that law and the same runs' fit without "
                "E, L<sub>0</sub> = A<sub>0</sub>/N<sup>α<sub>0</sub></sup> + "
                "B<sub>0</sub>/D<sup>β<sub>0</sub></sup> "
                "(a model average of the two forms, docs/fit.md \"The loss law\")"
              : "")
      << ". The published laws' k = N_opt(C = 1 FLOP) by their Eq. 4.</p>";
  } else {
    o << "<p>L(N, D) = E + A / N<sup>α</sup> + B / D<sup>β</sup> (Hoffmann et al. 2022, Eq. 2); loss in "
         "nats/token"
      << (input.fit && input.fit->has_law && input.fit->law.form == LawForm::kDataConstrained
              ? "; data-constrained: N and D replaced by their effective values N′, D′ (Muennighoff et al. "
                "2023, "
                "Eq. 5–7)"
              : "")
      << ". Compute-optimal allocation under C = 6ND: N_opt = G·(C/6)<sup>a</sup>, D_opt = "
         "G<sup>−1</sup>·(C/6)<sup>b</sup>, a = β/(α+β), b = α/(α+β), G = (αA/(βB))<sup>1/(α+β)</sup> (Eq. "
         "4). "
         "Exponents from small runs are what they are: compare them through their intervals.</p>";
  }
  o << LawTable(input, an);
  if (!s.notes.empty()) {
    o << "<ul class=\"notes\">";
    for (const auto& n : s.notes) o << "<li>" << Esc(n) << "</li>";
    o << "</ul>";
  }

  o << "<h2 id=\"plots\">Scaling curves</h2><div class=\"grid\">\n";
  int plots = 0;
  o << Figure(
      "fig-isoflop", "IsoFLOP curves", IsoflopPlot(input, an, options),
      "Final loss against parameters for each compute budget (sweep runs grouped where log<sub>10</sub> C "
      "steps by at most " +
          FormatNumber(options.budget_gap_decades) +
          ", the fitter's grouping). Each budget has its own marker and its parabola in ln N its own "
          "dash (the fitter's parabolas when fit.json has them); stars mark the parabola minima "
          "(Hoffmann et al. 2022, Approach 2). Hollow circles: running/pending; crosses: failed; hollow "
          "triangles: diverged." +
          (s.n_validation > 0 ? " Validation runs are on the frontier plot." : ""));
  ++plots;
  o << Figure(
      "fig-frontier", "Loss–compute frontier", FrontierPlot(input, an, options),
      std::string("Every finished sweep run (grey), the lowest loss per budget (Approach 1), the parabola "
                  "minima (Approach 2)") +
          (s.has_loss_law ? ", and the fitted law along its compute-optimal allocation with its 95% band "
                            "(2.5th–97.5th percentiles over the fit's replicate laws)"
                          : "; the fit has no loss law, so no loss frontier") +
          "." +
          (s.n_validation > 0 ? " Validation runs (red): observed loss (filled triangle) against the law's "
                                "prediction at the run's N and D (hollow square) with its 95% interval."
                              : "") +
          (input.plan ? " Grey diamond: the plan's predicted loss with its interval." : ""));
  ++plots;
  o << Figure(
      "fig-nopt", "Compute-optimal parameters N_opt(C)", AllocationPlot("plot-nopt", 0, input, an, options),
      "This fit against Chinchilla (Hoffmann et al. 2022, Eq. 10 law), Epoch's replication (Besiroglu et "
      "al. 2024) and Kaplan et al. 2020 (N_opt ∝ C<sup>0.73</sup>). " +
          (options.frontier_max_flops > 0
               ? "The compute axis runs from the smallest run budget to " +
                     FormatNumber(options.frontier_max_flops) + " FLOP (ReportOptions::frontier_max_flops)."
               : std::string("The compute axis spans the runs (to 3× the largest budget)") +
                     (input.plan ? " and the plan's budget." : ".")));
  ++plots;
  o << Figure("fig-dopt", "Compute-optimal tokens D_opt(C)",
              AllocationPlot("plot-dopt", 1, input, an, options),
              "Same references; Kaplan's D_opt = C / (6·N_opt).");
  ++plots;
  o << Figure("fig-tpp", "Tokens per parameter along the frontier",
              AllocationPlot("plot-tpp", 2, input, an, options),
              "D_opt / N_opt against compute; the dotted line is the ≈20 tokens/parameter rule read off "
              "Hoffmann et al. 2022, Table 3.");
  ++plots;
  if (s.has_loss_law) {
    o << Figure("fig-residuals", "Residuals of the fit", ResidualPlot(an, options),
                "ln L<sub>observed</sub> − ln L<sub>fit</sub>(N, D) per run. Flagged: |residual| above " +
                    FormatNumber(options.outlier_sigmas) + " robust σ (1.4826 × median |residual| = " +
                    FormatNumber(an.robust_sigma, 3) + "), at least " +
                    FormatNumber(options.outlier_min_abs_residual) + "; diverged runs are always flagged." +
                    (s.n_validation > 0 ? " Validation runs (red triangles) are not in the fit." : ""));
    ++plots;
  }
  o << "</div>\n";
  s.n_plots = plots;

  if (!an.checks.empty()) {
    o << "<h2 id=\"check\">Prediction check</h2>";
    o << "<p>Validation runs are not part of the fit. For each, the law's predicted loss at the run's N and "
         "D "
         "(isoflop::PredictAtPoint; 95% interval: 2.5th–97.5th percentiles over the fit's replicate laws) "
         "against the loss it observed; error = (predicted − observed) / observed.</p>";
    o << PredictionCheckTable(an);
  }

  o << "<h2 id=\"plan\">Plan for the target budget</h2>";
  if (input.plan) {
    o << PlanTable(*input.plan);
    if (!input.plan->serving.empty()) o << "<h3 id=\"serving\">Training and serving</h3>" << ServingTable(*input.plan);
    if (input.plan->moe)
      o << "<h3 id=\"moe\">Dense and mixture of experts</h3>" << MoeTable(*input.plan->moe);
    if (!input.plan->pareto.empty()) {
      o << Figure("fig-pareto", "Wall-clock against cost over GPU counts (Pareto front)", ParetoPlot(*input.plan, options),
                  "Each point: the fastest layout on that many GPUs (whole nodes) for the planned run; none of "
                  "them is beaten in wall-clock, cost and energy at once. Filled: the objective's choice (" +
                      Esc(input.plan->objective.empty() ? std::string("cost") : input.plan->objective) +
                      "). docs/planner.md §6.");
      ++s.n_plots;
    }
  } else
    o << "<p class=\"small\">No plan given (isoflop report --plan plan.json).</p>";

  o << "<h2 id=\"runs\">Runs</h2><div class=\"runs-wrap\">" << RunsTable(an, options) << "</div>";
  o << "<p class=\"small\">Generated by isoflop report. Formulas and reference values: docs/report.md. "
       "This page is self-contained: no scripts, no network.</p></body></html>\n";
  if (summary) *summary = s;
  return o.str();
}

}  // namespace isoflop::report
