// FitSummary reports and the fit.json schema (docs/fit.md).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <sstream>

#include "internal.h"
#include "isoflop/fitter.h"
#include "isoflop/prediction.h"

namespace isoflop {
namespace {

std::string Format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

// Full precision (round-trips a double) for the tables.
std::string Full(double v) {
  return Format("%.17g", v);
}

}  // namespace

std::string FitSummary::BriefReport() const {
  std::ostringstream os;
  os << "fit (" << FitMethodName(method) << "): " << n_points << " points";
  if (n_dropped > 0) os << " (" << n_dropped << " highest-loss dropped)";
  os << "\n";
  if (!approach3_error.empty()) os << "no law: " << approach3_error << "\n";
  os << "provenance: " << DescribeProvenance(*this) << "\n";
  if (has_law && law.form == LawForm::kPowerLaw) {
    os << (method == FitMethod::kCalibrated ? "law (calibrated model average of " +
                                                  std::to_string(calibration.size()) + " variants): N_opt = "
                                            : std::string("law (power-law allocation): N_opt = "))
       << Format("%.6g", law.params_opt.coefficient) << " C^" << Format("%.6g", law.params_opt.exponent)
       << ", D_opt = " << Format("%.6g", law.tokens_opt.coefficient) << " C^"
       << Format("%.6g", law.tokens_opt.exponent) << "\n";
    for (const auto& [name, iv] : ci)
      if (name == "a" || name == "b")
        os << "  " << name << " " << Format("%.4g", iv.lo) << " .. " << Format("%.4g", iv.hi) << " ("
           << (method == FitMethod::kCalibrated ? "replicates, " : "bootstrap, ") << bootstrap_resamples
           << (method == FitMethod::kCalibrated ? ")\n" : " resamples)\n");
  }
  if (has_law && law.form != LawForm::kPowerLaw) {
    os << "law (" << LawFormName(law.form) << "): L = " << Format("%.6g", law.E) << " + "
       << Format("%.6g", law.A) << " / N^" << Format("%.6g", law.alpha) << " + " << Format("%.6g", law.B)
       << " / D^" << Format("%.6g", law.beta);
    if (law.form == LawForm::kDataConstrained)
      os << "  (R_D* = " << Format("%.6g", law.r_d_star) << ", R_N* = " << Format("%.6g", law.r_n_star)
         << ")";
    os << "\nobjective " << Format("%.10g", objective) << ", " << starts_at_optimum << "/" << starts
       << " starts at the optimum\n";
    os << "allocation: N_opt = " << Format("%.6g", allocation.G) << " (C/6)^" << Format("%.6g", allocation.a)
       << ", D_opt = (C/6)^" << Format("%.6g", allocation.b) << " / " << Format("%.6g", allocation.G) << "\n";
    for (const auto& [name, iv] : ci)
      if (name == "alpha" || name == "beta" || name == "a" || name == "b")
        os << "  " << name << " " << Format("%.4g", iv.lo) << " .. " << Format("%.4g", iv.hi)
           << " (bootstrap, " << bootstrap_resamples << " resamples)\n";
  }
  if (!parabolas.empty())
    os << "approach 2 (parabolas, " << parabolas.size() << " budgets): N_opt ~ C^"
       << Format("%.4f", parabola_params.exponent) << ", D_opt ~ C^"
       << Format("%.4f", parabola_tokens.exponent) << "\n";
  if (!envelope.empty())
    os << "approach 1 (envelope, " << envelope.size() << " budgets): N_opt ~ C^"
       << Format("%.4f", envelope_params.exponent) << ", D_opt ~ C^"
       << Format("%.4f", envelope_tokens.exponent) << "\n";
  return os.str();
}

std::string FitSummary::FullReport() const {
  std::ostringstream os;
  os << "method            " << FitMethodName(method) << "\n";
  os << "points            " << n_points << " (dropped " << n_dropped << " highest-loss)\n";
  os << "provenance        " << DescribeProvenance(*this) << "\n";
  if (!approach3_error.empty())
    os << "\nApproach 3 (Hoffmann et al. 2022, eq. 2): no law\n  " << approach3_error << "\n";
  if (!approach2_error.empty())
    os << "\nApproach 2 (Hoffmann et al. 2022, IsoFLOP profiles): no power law\n  " << approach2_error << "\n";
  if (method == FitMethod::kCalibrated && has_law) {
    os << "\nCalibrated model average of Approaches 2 and 3 (docs/fit.md, \"Calibrated extrapolation\")\n";
    os << "  N_opt           " << Format("%.6g", law.params_opt.coefficient) << " C^"
       << Format("%.6g", law.params_opt.exponent) << "  (weighted mean of the variants' ln N_opt)\n";
    os << "  D_opt           " << Format("%.6g", law.tokens_opt.coefficient) << " C^"
       << Format("%.6g", law.tokens_opt.exponent) << "  (C = 6 N D)\n";
    if (law.HasLoss())
      os << "  loss law        L = " << Format("%.6g", law.E) << " + " << Format("%.6g", law.A) << " / N^"
         << Format("%.6g", law.alpha) << " + " << Format("%.6g", law.B) << " / D^" << Format("%.6g", law.beta)
         << (law.no_floor.used() ? "  (L_E)" : "") << "\n";
    if (law.no_floor.used()) {
      const NoFloorLossLaw& z = law.no_floor;
      os << "  no-floor law    L0 = " << Format("%.6g", z.A) << " / N^" << Format("%.6g", z.alpha) << " + "
         << Format("%.6g", z.B) << " / D^" << Format("%.6g", z.beta) << "  (same runs, E = 0)\n";
      os << "  predicted loss  L = L_E^" << Format("%.3g", 1 - z.weight) << " * L0^"
         << Format("%.3g", z.weight) << "  (model average of the two forms; docs/fit.md, \"The loss law\")\n";
    }
    for (const auto& [name, value] : provenance.fixed)
      os << "  fixed           " << name << " = " << Full(value) << " (--fix)\n";
    if (!provenance.prior.empty())
      os << "  prior           " << provenance.prior << ", width " << Format("%.6g", provenance.prior_width)
         << " in ln units, residual scale s = " << Format("%.6g", provenance.prior_residual_scale)
         << " (maximum a posteriori)\n";
    os << "  variant                          runs  weight  replicates  N_opt = k C^a              "
          "objective\n";
    for (const CalibrationVariant& v : calibration) {
      char line[240];
      std::snprintf(line, sizeof(line), "  %-30s %6d  %6.4f  %10d  %-10.4g C^%-12.6g %s\n",
                    (v.approach + " " + v.runs).c_str(), v.n_runs, v.weight, v.replicates,
                    v.params_opt.coefficient, v.params_opt.exponent,
                    v.has_law ? Full(v.objective).c_str() : "-");
      os << line;
    }
    bool approach2 = false;
    for (const CalibrationVariant& v : calibration) approach2 = approach2 || v.approach == "approach2";
    if (!approach2)
      os << "  note            no Approach 2 variant: fewer than 4 IsoFLOP budgets (>= 3 runs within 0.15 "
            "decades "
            "of C) with an interior minimum; see --budget-gap\n";
    os << "  replicates      " << bootstrap_resamples
       << " (Approach 3: bootstrap over runs; Approach 2: posterior-predictive power laws), "
          "percentile intervals\n";
    for (const auto& [name, iv] : ci) {
      char line[160];
      std::snprintf(line, sizeof(line), "  %-20s %.6g .. %.6g\n", name.c_str(), iv.lo, iv.hi);
      os << line;
    }
  }
  if (has_law && law.form == LawForm::kPowerLaw && !ci.empty() && method != FitMethod::kCalibrated) {
    os << "\n  bootstrap       " << bootstrap_resamples
       << " resamples (within each budget), percentile intervals\n";
    for (const auto& [name, iv] : ci) {
      char line[160];
      std::snprintf(line, sizeof(line), "  %-20s %.6g .. %.6g\n", name.c_str(), iv.lo, iv.hi);
      os << line;
    }
  }
  if (has_law && law.form != LawForm::kPowerLaw) {
    os << "\nApproach 3 (Hoffmann et al. 2022, eq. 2; Huber on log loss)\n";
    os << "  law             " << LawFormName(law.form) << "\n";
    os << "  E               " << Full(law.E) << "\n";
    os << "  A               " << Full(law.A) << "\n";
    os << "  B               " << Full(law.B) << "\n";
    os << "  alpha           " << Full(law.alpha) << "\n";
    os << "  beta            " << Full(law.beta) << "\n";
    if (law.form == LawForm::kDataConstrained) {
      os << "  R_D*            " << Full(law.r_d_star) << "\n";
      os << "  R_N*            " << Full(law.r_n_star) << "\n";
    }
    os << "  objective       " << Full(objective) << "  (sum of Huber terms)\n";
    for (const auto& [name, value] : provenance.fixed)
      os << "  fixed           " << name << " = " << Full(value) << " (--fix)\n";
    if (!provenance.prior.empty())
      os << "  prior           " << provenance.prior << ", width " << Format("%.6g", provenance.prior_width)
         << " in ln units, residual scale s = " << Format("%.6g", provenance.prior_residual_scale)
         << " (maximum a posteriori)\n";
    os << "  starts          " << starts << " (" << starts_at_optimum << " at the optimum; best #"
       << best_start_index << ", " << iterations_best << " L-BFGS iterations)\n";
    os << "  allocation      a = " << Full(allocation.a) << ", b = " << Full(allocation.b)
       << ", G = " << Full(allocation.G) << "\n";
    if (!ci.empty()) {
      os << "\n  bootstrap       " << bootstrap_resamples << " resamples, percentile intervals\n";
      for (const auto& [name, iv] : ci) {
        char line[160];
        std::snprintf(line, sizeof(line), "  %-20s %.6g .. %.6g\n", name.c_str(), iv.lo, iv.hi);
        os << line;
      }
    }
  }
  if (!envelope.empty()) {
    os << "\nApproach 1 (envelope: lowest loss per budget)\n";
    os << "  budget_flops    params          tokens          loss        run\n";
    for (const auto& e : envelope) {
      char line[200];
      std::snprintf(line, sizeof(line), "  %-15.4g %-15.4g %-15.4g %-11.5g %s\n", e.budget_flops, e.params,
                    e.tokens, e.loss, e.run_id.c_str());
      os << line;
    }
    os << "  N_opt = " << Format("%.6g", envelope_params.coefficient) << " C^"
       << Format("%.6g", envelope_params.exponent) << " (R^2 " << Format("%.4f", envelope_params.r_squared)
       << ")\n";
    os << "  D_opt = " << Format("%.6g", envelope_tokens.coefficient) << " C^"
       << Format("%.6g", envelope_tokens.exponent) << " (R^2 " << Format("%.4f", envelope_tokens.r_squared)
       << ")\n";
  }
  if (!parabolas.empty()) {
    os << "\nApproach 2 (IsoFLOP parabolas: loss = c0 + c1 ln N + c2 ln^2 N)\n";
    os << "  budget_flops    points  N_opt           D_opt           loss_at_min\n";
    for (const auto& p : parabolas) {
      char line[200];
      std::snprintf(line, sizeof(line), "  %-15.4g %-7d %-15.4g %-15.4g %.5g\n", p.budget_flops, p.n_points,
                    p.params_opt, p.tokens_opt, p.loss_at_min);
      os << line;
    }
    os << "  N_opt = " << Format("%.6g", parabola_params.coefficient) << " C^"
       << Format("%.6g", parabola_params.exponent) << " (R^2 " << Format("%.4f", parabola_params.r_squared)
       << ")\n";
    os << "  D_opt = " << Format("%.6g", parabola_tokens.coefficient) << " C^"
       << Format("%.6g", parabola_tokens.exponent) << " (R^2 " << Format("%.4f", parabola_tokens.r_squared)
       << ")\n";
  }
  return os.str();
}

std::string FitSummary::ToJson() const {
  return FitRecordToJson(*this);
}

StatusOr<FitSummary> FitSummary::FromJson(const std::string& text, const std::string& source) {
  auto record = ParseFitJson(text, source);
  if (!record.ok()) return record.status();
  FitSummary s;
  static_cast<FitRecord&>(s) = std::move(record).value();
  return s;
}

}  // namespace isoflop
