// FitSummary reports and the fit.json schema (docs/fit.md).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <sstream>

#include <nlohmann/json.hpp>

#include "internal.h"
#include "isoflop/fitter.h"

namespace isoflop {
namespace {

using Json = nlohmann::ordered_json;

std::string Format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

// Full precision (round-trips a double) for the tables.
std::string Full(double v) {
  return Format("%.17g", v);
}

Json PowerLawJson(const PowerLaw& p) {
  return Json{{"coefficient", p.coefficient},
              {"exponent", p.exponent},
              {"r_squared", p.r_squared},
              {"n_points", p.n_points}};
}

PowerLaw PowerLawFromJson(const Json& j) {
  PowerLaw p;
  p.coefficient = j.at("coefficient").get<double>();
  p.exponent = j.at("exponent").get<double>();
  p.r_squared = j.at("r_squared").get<double>();
  p.n_points = j.at("n_points").get<int>();
  return p;
}

}  // namespace

std::string FitSummary::BriefReport() const {
  std::ostringstream os;
  os << "fit (" << FitMethodName(method) << "): " << n_points << " points";
  if (n_dropped > 0) os << " (" << n_dropped << " highest-loss dropped)";
  os << "\n";
  if (!approach3_error.empty()) os << "no law: " << approach3_error << "\n";
  if (has_law) {
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
  if (!approach3_error.empty())
    os << "\nApproach 3 (Hoffmann et al. 2022, eq. 2): no law\n  " << approach3_error << "\n";
  if (has_law) {
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
  Json j;
  j["schema"] = "isoflop.fit/1";
  j["method"] = FitMethodName(method);
  j["n_points"] = n_points;
  j["n_dropped"] = n_dropped;
  if (!approach3_error.empty()) j["approach3_error"] = approach3_error;
  if (has_law) {
    Json law_json{{"form", LawFormName(law.form)},
                  {"E", law.E},
                  {"A", law.A},
                  {"B", law.B},
                  {"alpha", law.alpha},
                  {"beta", law.beta}};
    if (law.form == LawForm::kDataConstrained) {
      law_json["r_d_star"] = law.r_d_star;
      law_json["r_n_star"] = law.r_n_star;
    }
    j["law"] = law_json;
    j["objective"] = objective;
    j["starts"] = starts;
    j["starts_at_optimum"] = starts_at_optimum;
    j["best_start_index"] = best_start_index;
    j["allocation"] = Json{{"a", allocation.a}, {"b", allocation.b}, {"G", allocation.G}};
    Json ci_json = Json::object();
    for (const auto& [name, iv] : ci) ci_json[name] = Json::array({iv.lo, iv.hi});
    j["ci"] = ci_json;
    j["bootstrap_resamples"] = bootstrap_resamples;
    // The resamples' laws (the report's frontier band, the planner's replicates). JSON has no inf:
    // a resample whose law ran away to infinity is counted above but not listed here.
    Json boot = Json::array();
    for (const ScalingLaw& l : bootstrap_laws) {
      const double v[] = {l.E, l.A, l.B, l.alpha, l.beta};
      if (!std::all_of(std::begin(v), std::end(v), [](double x) { return std::isfinite(x) && x > 0; }))
        continue;
      Json one{{"E", l.E}, {"A", l.A}, {"B", l.B}, {"alpha", l.alpha}, {"beta", l.beta}};
      if (l.form == LawForm::kDataConstrained) {
        one["r_d_star"] = l.r_d_star;
        one["r_n_star"] = l.r_n_star;
      }
      boot.push_back(one);
    }
    if (!boot.empty()) j["bootstrap"] = boot;
  }
  if (!parabolas.empty()) {
    Json arr = Json::array();
    for (const auto& p : parabolas)
      arr.push_back(Json{{"budget_flops", p.budget_flops},
                         {"c0", p.c0},
                         {"c1", p.c1},
                         {"c2", p.c2},
                         {"params_opt", p.params_opt},
                         {"tokens_opt", p.tokens_opt},
                         {"loss_at_min", p.loss_at_min},
                         {"n_points", p.n_points}});
    j["parabolas"] = arr;
    j["parabola_fit"] =
        Json{{"params", PowerLawJson(parabola_params)}, {"tokens", PowerLawJson(parabola_tokens)}};
  }
  if (!envelope.empty()) {
    Json arr = Json::array();
    for (const auto& e : envelope)
      arr.push_back(Json{{"budget_flops", e.budget_flops},
                         {"params", e.params},
                         {"tokens", e.tokens},
                         {"loss", e.loss},
                         {"run_id", e.run_id}});
    j["envelope"] = arr;
    j["envelope_fit"] =
        Json{{"params", PowerLawJson(envelope_params)}, {"tokens", PowerLawJson(envelope_tokens)}};
  }
  return j.dump(2) + "\n";
}

StatusOr<FitSummary> FitSummary::FromJson(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("fit.json: not a JSON object");
  try {
    FitSummary s;
    auto method = ParseFitMethod(j.at("method").get<std::string>());
    if (!method.ok()) return Status::Corruption("fit.json: " + method.status().message());
    s.method = *method;
    s.n_points = j.at("n_points").get<int>();
    s.n_dropped = j.value("n_dropped", 0);
    s.approach3_error = j.value("approach3_error", std::string());
    if (j.contains("law")) {
      const Json& l = j.at("law");
      s.has_law = true;
      auto form = ParseLawForm(l.value("form", std::string("chinchilla")));
      if (!form.ok()) return Status::Corruption("fit.json: " + form.status().message());
      s.law.form = *form;
      s.law.E = l.at("E").get<double>();
      s.law.A = l.at("A").get<double>();
      s.law.B = l.at("B").get<double>();
      s.law.alpha = l.at("alpha").get<double>();
      s.law.beta = l.at("beta").get<double>();
      if (s.law.form == LawForm::kDataConstrained) {
        s.law.r_d_star = l.at("r_d_star").get<double>();
        s.law.r_n_star = l.at("r_n_star").get<double>();
      }
      s.objective = j.at("objective").get<double>();
      s.starts = j.at("starts").get<int>();
      s.starts_at_optimum = j.at("starts_at_optimum").get<int>();
      s.best_start_index = j.value("best_start_index", -1);
      const Json& a = j.at("allocation");
      s.allocation = Allocation{a.at("a").get<double>(), a.at("b").get<double>(), a.at("G").get<double>()};
      if (j.contains("ci"))
        for (const auto& [name, v] : j.at("ci").items())
          s.ci.push_back({name, Interval{v.at(0).get<double>(), v.at(1).get<double>()}});
      s.bootstrap_resamples = j.value("bootstrap_resamples", 0);
      if (j.contains("bootstrap") && j.at("bootstrap").is_array()) {
        for (const auto& b : j.at("bootstrap")) {
          ScalingLaw l;
          l.form = s.law.form;
          l.E = b.at("E").get<double>();
          l.A = b.at("A").get<double>();
          l.B = b.at("B").get<double>();
          l.alpha = b.at("alpha").get<double>();
          l.beta = b.at("beta").get<double>();
          l.r_d_star = b.value("r_d_star", 0.0);
          l.r_n_star = b.value("r_n_star", 0.0);
          s.bootstrap_laws.push_back(l);
        }
      }
    }
    if (j.contains("parabolas")) {
      for (const auto& p : j.at("parabolas")) {
        IsoflopParabola q;
        q.budget_flops = p.at("budget_flops").get<double>();
        q.c0 = p.at("c0").get<double>();
        q.c1 = p.at("c1").get<double>();
        q.c2 = p.at("c2").get<double>();
        q.params_opt = p.at("params_opt").get<double>();
        q.tokens_opt = p.at("tokens_opt").get<double>();
        q.loss_at_min = p.at("loss_at_min").get<double>();
        q.n_points = p.at("n_points").get<int>();
        s.parabolas.push_back(q);
      }
      s.parabola_params = PowerLawFromJson(j.at("parabola_fit").at("params"));
      s.parabola_tokens = PowerLawFromJson(j.at("parabola_fit").at("tokens"));
    }
    if (j.contains("envelope")) {
      for (const auto& e : j.at("envelope")) {
        EnvelopePoint p;
        p.budget_flops = e.at("budget_flops").get<double>();
        p.params = e.at("params").get<double>();
        p.tokens = e.at("tokens").get<double>();
        p.loss = e.at("loss").get<double>();
        p.run_id = e.value("run_id", std::string());
        s.envelope.push_back(p);
      }
      s.envelope_params = PowerLawFromJson(j.at("envelope_fit").at("params"));
      s.envelope_tokens = PowerLawFromJson(j.at("envelope_fit").at("tokens"));
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    // nlohmann reports a missing key or a wrong type by exception; it stops here (no exception escapes).
    return Status::Corruption(std::string("fit.json: ") + e.what());
  }
}

}  // namespace isoflop
