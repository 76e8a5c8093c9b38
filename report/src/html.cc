// RenderHtml: the self-contained report page (inline CSS and SVG; no scripts, no network).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>

#include "analysis.h"
#include "svg_plot.h"

namespace isoflop::report {

bool ReportOptions::IsValid(std::string* error) const {
  auto fail = [error](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (!(budget_group_factor >= 1.0 && budget_group_factor < 10))
    return fail("budget_group_factor must be in [1, 10)");
  if (!(outlier_sigmas > 0)) return fail("outlier_sigmas must be > 0");
  if (!(outlier_min_abs_residual >= 0)) return fail("outlier_min_abs_residual must be >= 0");
  if (plot_width_px < 360 || plot_width_px > 4000) return fail("plot_width_px must be in [360, 4000]");
  if (plot_height_px < 200 || plot_height_px > 4000) return fail("plot_height_px must be in [200, 4000]");
  if (!(frontier_max_flops > 0 && std::isfinite(frontier_max_flops)))
    return fail("frontier_max_flops must be > 0");
  if (max_table_rows < 1) return fail("max_table_rows must be >= 1");
  return true;
}

std::string ReportSummary::BriefReport() const {
  std::ostringstream o;
  o << "report: " << n_runs << " runs (" << n_done << " done, " << n_running << " running, " << n_pending
    << " pending, " << n_failed << " failed, " << n_diverged << " diverged), " << n_budgets << " budgets, "
    << n_parabolas << " parabolas, " << n_outliers << " flagged, " << n_plots
    << " plots; fit: " << (has_fit ? "yes" : "no") << ", band: " << (has_band ? "yes" : "no")
    << ", plan: " << (has_plan ? "yes" : "no");
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
using internal::Marker;
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
      const double a = std::log(std::min(nmin, p.n_opt)) - 0.1, z = std::log(std::max(nmax, p.n_opt)) + 0.1;
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
    mx.push_back(bv.parabola->n_opt), my.push_back(bv.parabola->loss_min);
    mtip.push_back("minimum at " + BudgetLabel(bv.flops) + ": N_opt=" + FormatNumber(bv.parabola->n_opt) +
                   ", loss=" + FormatNumber(bv.parabola->loss_min, 4));
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

std::vector<double> FrontierFlops(const Analysis& an, const ReportInput& in, const ReportOptions& opt) {
  std::vector<double> cs;
  if (!an.frontier.empty()) {
    for (const auto& f : an.frontier) cs.push_back(f.flops);
    return cs;
  }
  double cmin = 1e300;
  for (const auto& v : an.runs) cmin = std::min(cmin, v.flops);
  if (!(cmin < 1e300)) cmin = 1e18;
  double cmax = opt.frontier_max_flops;
  if (in.plan && std::isfinite(in.plan->budget_flops)) cmax = std::max(cmax, in.plan->budget_flops * 3);
  cmin = std::min(cmin / 3, cmax / 100);
  for (int k = 0; k <= 64; ++k) cs.push_back(cmin * std::pow(cmax / cmin, k / 64.0));
  return cs;
}

std::string FrontierPlot(const ReportInput& in, const Analysis& an, const ReportOptions& opt) {
  SvgPlot plot("plot-frontier", Axis{"compute C [FLOP]", Scale::kLog},
               Axis{"final eval loss [nats/token]", Scale::kLog}, opt.plot_width_px, opt.plot_height_px);
  std::vector<double> cs, l, lo, hi;
  for (const auto& f : an.frontier)
    cs.push_back(f.flops), l.push_back(f.loss), lo.push_back(f.loss_lo), hi.push_back(f.loss_hi);
  if (an.has_band) plot.AddBand("95% bootstrap band", cs, lo, hi, kBandColor, 0.35);
  Style fit;
  fit.color = kFitColor, fit.line_width = 2.4;
  if (!cs.empty()) plot.AddLine("fitted law L(N_opt(C), D_opt(C))", cs, l, fit);
  std::vector<double> rx, ry, ex, ey, mx, my;
  for (const auto& v : an.runs)
    if (v.run->state == RunState::kDone) rx.push_back(v.flops), ry.push_back(v.run->loss);
  for (const auto& b : an.budgets) {
    if (b.best_run >= 0) ex.push_back(b.flops), ey.push_back(an.runs[b.best_run].run->loss);
    if (b.parabola) mx.push_back(b.flops), my.push_back(b.parabola->loss_min);
  }
  Style rs;
  rs.color = "#9a9a9a", rs.marker = Marker::kCircle, rs.marker_size = 2.6;
  plot.AddPoints("finished runs", rx, ry, rs);
  Style es;
  es.color = "#2b7bb9", es.marker = Marker::kDiamond, es.marker_size = 5, es.hollow = true;
  if (!ex.empty()) plot.AddPoints("lowest loss per budget (Approach 1)", ex, ey, es);
  Style ms;
  ms.color = "#000000", ms.marker = Marker::kStar, ms.marker_size = 5;
  if (!mx.empty()) plot.AddPoints("parabola minimum (Approach 2)", mx, my, ms);
  return plot.Render();
}

std::string AllocationPlot(const std::string& id, int which, const ReportInput& in, const Analysis& an,
                           const ReportOptions& opt) {
  const char* ylabel = which == 0   ? "optimal parameters N_opt"
                       : which == 1 ? "optimal tokens D_opt"
                                    : "tokens per parameter D_opt/N_opt";
  SvgPlot plot(id, Axis{"compute C [FLOP]", Scale::kLog}, Axis{ylabel, Scale::kLog}, opt.plot_width_px,
               opt.plot_height_px);
  const std::vector<double> cs = FrontierFlops(an, in, opt);
  if (an.has_band) {
    std::vector<double> lo, hi;
    for (const auto& f : an.frontier) {
      lo.push_back(which == 0 ? f.n_lo : which == 1 ? f.d_lo : f.tpp_lo);
      hi.push_back(which == 0 ? f.n_hi : which == 1 ? f.d_hi : f.tpp_hi);
    }
    plot.AddBand("95% bootstrap band", cs, lo, hi, kBandColor, 0.35);
  }
  if (!an.frontier.empty()) {
    std::vector<double> y;
    for (const auto& f : an.frontier) y.push_back(which == 0 ? f.n_opt : which == 1 ? f.d_opt : f.tpp);
    Style fit;
    fit.color = kFitColor, fit.line_width = 2.4;
    plot.AddLine("this fit (Eq. 4)", cs, y, fit);
  }
  AddReferenceLines(plot, cs, which);
  // The fitter's bootstrap intervals at its chosen budgets, as vertical bars.
  const auto& bars = which == 0 ? an.n_opt_ci : an.d_opt_ci;
  if (which < 2) {
    bool first = true;
    for (const auto& [c, interval] : bars) {
      Style bar;
      bar.color = kFitColor, bar.line_width = 2.2, bar.marker = Marker::kPlus, bar.marker_size = 4;
      plot.AddLine(first ? "95% bootstrap interval" : "", {c, c}, {interval.lo, interval.hi}, bar);
      first = false;
    }
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
    const double n = b.parabola->n_opt, d = b.flops / (6 * n);
    mx.push_back(b.flops), my.push_back(which == 0 ? n : which == 1 ? d : d / n);
  }
  Style ms;
  ms.color = "#000000", ms.marker = Marker::kStar, ms.marker_size = 5;
  if (!mx.empty()) plot.AddPoints("parabola minima (Approach 2)", mx, my, ms);
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
    if (v.excluded_from_fit) {
      xx.push_back(v.run->params), xy.push_back(v.residual), xtip.push_back(tip + " (left out of the fit)");
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
    if (std::isfinite(v.residual) && !v.outlier && !v.excluded_from_fit)
      bulk = std::max(bulk, std::fabs(v.residual));
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
  xs.color = "#555555", xs.marker = Marker::kSquare, xs.hollow = true, xs.marker_size = 4;
  if (!xx.empty()) plot.AddPoints("left out of the fit", xx, xy, xs, xtip);
  return plot.Render();
}

std::string CiCell(const std::map<std::string, Interval>& ci, const std::string& key) {
  auto it = ci.find(key);
  if (it == ci.end() || !std::isfinite(it->second.lo)) return "–";
  return "[" + FormatNumber(it->second.lo, 4) + ", " + FormatNumber(it->second.hi, 4) + "]";
}

std::string LawTable(const ReportInput& in, const Analysis& an) {
  const auto& refs = internal::ReferenceLaws();
  const Law& h = *refs[0].law;
  const Law& e = *refs[1].law;
  const FitInfo* fit = in.fit ? &*in.fit : nullptr;
  const Law law = fit ? fit->law : Law{};
  std::ostringstream o;
  o << "<table class=\"law\"><thead><tr><th>quantity</th><th>this fit</th><th>95% interval</th>"
       "<th>Epoch 2024</th><th>Hoffmann 2022</th><th>Kaplan 2020</th></tr></thead><tbody>";
  auto row = [&](const std::string& name, double v, const std::string& ci, double ep, double ho,
                 const std::string& ka) {
    o << "<tr><td>" << name << "</td><td class=\"num\">" << FormatNumber(v, 4) << "</td><td class=\"num\">"
      << ci << "</td><td class=\"num\">" << FormatNumber(ep, 4) << "</td><td class=\"num\">"
      << FormatNumber(ho, 4) << "</td><td class=\"num\">" << ka << "</td></tr>";
  };
  const auto& ci = an.param_ci;
  row("E (irreducible loss)", law.E, CiCell(ci, "E"), e.E, h.E, "–");
  row("A", law.A, CiCell(ci, "A"), e.A, h.A, "–");
  row("B", law.B, CiCell(ci, "B"), e.B, h.B, "–");
  row("α (params exponent)", law.alpha, CiCell(ci, "alpha"), e.alpha, h.alpha, "–");
  row("β (tokens exponent)", law.beta, CiCell(ci, "beta"), e.beta, h.beta, "–");
  auto ci_str = [](const Interval& i) {
    return std::isfinite(i.lo) ? "[" + FormatNumber(i.lo, 4) + ", " + FormatNumber(i.hi, 4) + "]"
                               : std::string("–");
  };
  row("a: N_opt ∝ C<sup>a</sup>", an.a, ci_str(an.a_ci), e.beta / (e.alpha + e.beta),
      h.beta / (h.alpha + h.beta), "0.73");
  row("b: D_opt ∝ C<sup>b</sup>", an.b, ci_str(an.b_ci), e.alpha / (e.alpha + e.beta),
      h.alpha / (h.alpha + h.beta), "0.27");
  o << "</tbody></table>";
  if (fit) {
    o << "<p class=\"small\">method: " << Esc(fit->method.empty() ? "unknown" : fit->method)
      << "; points: " << fit->n_points << "; objective: " << FormatNumber(fit->objective, 8)
      << "; bootstrap refits: " << fit->bootstrap_laws.size()
      << ". Hoffmann's published Approach 1 and 2 exponents are a = 0.50 and 0.49 (Table 2).</p>";
  }
  return o.str();
}

// The planner's headline numbers, then every field of plan.json in a <details>.
std::string PlanTable(const PlanInfo& plan) {
  std::ostringstream o;
  o << "<p>Target budget <b>" << FormatNumber(plan.budget_flops) << " FLOP</b>: N = <b>"
    << FormatNumber(plan.params) << "</b> parameters, D = <b>" << FormatNumber(plan.tokens)
    << "</b> tokens.</p>";
  o << "<table class=\"plan\"><thead><tr><th>quantity</th><th>value</th><th>plan.json "
       "key</th></tr></thead><tbody>";
  const auto headlines = internal::PlanHeadlines(plan);
  for (const auto& h : headlines)
    o << "<tr><td>" << Esc(h.label) << "</td><td class=\"num\">" << Esc(h.value) << "</td><td><code>"
      << Esc(h.key) << "</code></td></tr>";
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
    if (v.excluded_from_fit)
      flag = "left out of fit";
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
    << " failed</span><span>" << s.n_diverged << " diverged</span><span>" << s.n_budgets
    << " compute budgets</span><span>" << s.n_outliers << " flagged</span></p>\n";

  o << "<h2 id=\"law\">Fitted law and published values</h2>";
  o << "<p>L(N, D) = E + A / N<sup>α</sup> + B / D<sup>β</sup> (Hoffmann et al. 2022, Eq. 2); loss in "
       "nats/token. "
       "Compute-optimal allocation under C = 6ND: N_opt = G·(C/6)<sup>a</sup>, D_opt = G<sup>−1</sup>·(C/6)"
       "<sup>b</sup>, a = β/(α+β), b = α/(α+β), G = (αA/(βB))<sup>1/(α+β)</sup> (Eq. 4). "
       "Exponents from small runs are what they are: compare them through their intervals.</p>";
  o << LawTable(input, an);
  if (!s.notes.empty()) {
    o << "<ul class=\"notes\">";
    for (const auto& n : s.notes) o << "<li>" << Esc(n) << "</li>";
    o << "</ul>";
  }

  o << "<h2 id=\"plots\">Scaling curves</h2><div class=\"grid\">\n";
  int plots = 0;
  o << Figure("fig-isoflop", "IsoFLOP curves", IsoflopPlot(input, an, options),
              "Final loss against parameters for each compute budget (runs grouped within a factor " +
                  FormatNumber(options.budget_group_factor) +
                  "). Each budget has its own marker and its parabola in ln N its own dash; stars mark the "
                  "parabola minima (Hoffmann et al. 2022, Approach 2). Hollow circles: running/pending; "
                  "crosses: failed; hollow triangles: diverged.");
  ++plots;
  o << Figure("fig-frontier", "Loss–compute frontier", FrontierPlot(input, an, options),
              "Every finished run (grey), the lowest loss per budget (Approach 1), the parabola minima "
              "(Approach 2), and the fitted law along its compute-optimal allocation with the 95% bootstrap "
              "band (2.5–97.5 percentiles over refits).");
  ++plots;
  o << Figure(
      "fig-nopt", "Compute-optimal parameters N_opt(C)", AllocationPlot("plot-nopt", 0, input, an, options),
      "This fit against Chinchilla (Hoffmann et al. 2022, Eq. 10 law), Epoch's replication (Besiroglu et "
      "al. 2024) and Kaplan et al. 2020 (N_opt ∝ C<sup>0.73</sup>).");
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
  if (s.has_fit) {
    o << Figure("fig-residuals", "Residuals of the fit", ResidualPlot(an, options),
                "ln L<sub>observed</sub> − ln L<sub>fit</sub>(N, D) per run. Flagged: |residual| above " +
                    FormatNumber(options.outlier_sigmas) + " robust σ (1.4826 × median |residual| = " +
                    FormatNumber(an.robust_sigma, 3) + "), at least " +
                    FormatNumber(options.outlier_min_abs_residual) + "; diverged runs are always flagged.");
    ++plots;
  }
  o << "</div>\n";
  s.n_plots = plots;

  o << "<h2 id=\"plan\">Plan for the target budget</h2>";
  if (input.plan)
    o << PlanTable(*input.plan);
  else
    o << "<p class=\"small\">No plan given (isoflop report --plan plan.json).</p>";

  o << "<h2 id=\"runs\">Runs</h2><div class=\"runs-wrap\">" << RunsTable(an, options) << "</div>";
  o << "<p class=\"small\">Generated by isoflop report. Formulas and reference values: docs/report.md. "
       "This page is self-contained: no scripts, no network.</p></body></html>\n";
  if (summary) *summary = s;
  return o.str();
}

}  // namespace isoflop::report
