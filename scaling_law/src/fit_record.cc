// fit.json (schema docs/fit.md): the one writer and the one reader.
#include "isoflop/fit_record.h"

#include <sys/stat.h>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>

#include <nlohmann/json.hpp>

#include "isoflop/isoflop_curves.h"

namespace isoflop {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kSchemaPrefix = "isoflop.fit/";

Json PowerLawJson(const PowerLaw& p) {
  return Json{{"coefficient", p.coefficient},
              {"exponent", p.exponent},
              {"r_squared", p.r_squared},
              {"n_points", p.n_points}};
}

Json RangeJson(const Range& r) {
  if (!r.known()) return Json(nullptr);
  return Json::array({r.min, r.max});
}

// The law's own fields for its form (also each replicate's).
Json LawJson(const ScalingLaw& law) {
  Json j{{"form", LawFormName(law.form)}};
  if (law.form != LawForm::kPowerLaw || law.HasLoss()) {
    j["E"] = law.E;
    j["A"] = law.A;
    j["B"] = law.B;
    j["alpha"] = law.alpha;
    j["beta"] = law.beta;
  }
  if (law.form == LawForm::kDataConstrained) {
    j["r_d_star"] = law.r_d_star;
    j["r_n_star"] = law.r_n_star;
  }
  if (law.form == LawForm::kPowerLaw) {
    j["params_opt"] = PowerLawJson(law.params_opt);
    j["tokens_opt"] = PowerLawJson(law.tokens_opt);
  }
  if (law.no_floor.used()) {
    const NoFloorLossLaw& z = law.no_floor;
    j["no_floor"] = Json{{"A", z.A}, {"B", z.B}, {"alpha", z.alpha}, {"beta", z.beta}, {"weight", z.weight}};
  }
  return j;
}

bool AllFinite(const ScalingLaw& law) {
  const double v[] = {law.E,
                      law.A,
                      law.B,
                      law.alpha,
                      law.beta,
                      law.r_d_star,
                      law.r_n_star,
                      law.params_opt.coefficient,
                      law.params_opt.exponent,
                      law.tokens_opt.coefficient,
                      law.tokens_opt.exponent};
  return std::all_of(std::begin(v), std::end(v), [](double x) { return std::isfinite(x); });
}

// ---- reading: every error names the source and the key ------------------------------------------

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  Status Error(const std::string& key, const std::string& what) const {
    return Status::InvalidArgument(source_ + ": key '" + key + "': " + what);
  }
  Status Number(const Json& parent, const std::string& name, const std::string& key, double* out,
                bool required = true) const {
    if (!parent.is_object() || !parent.contains(name)) {
      if (!required) return Status::OK();
      return Status::InvalidArgument(source_ + ": key '" + key + "' is missing");
    }
    const Json& v = parent.at(name);
    if (!v.is_number()) return Error(key, "must be a number");
    *out = v.get<double>();
    if (!std::isfinite(*out)) return Error(key, "must be finite");
    return Status::OK();
  }
  Status Int(const Json& parent, const std::string& name, const std::string& key, int* out,
             bool required = true) const {
    double v = 0;
    ISOFLOP_RETURN_IF_ERROR(Number(parent, name, key, &v, required));
    if (!parent.contains(name)) return Status::OK();
    if (v != std::floor(v) || std::abs(v) > 2e9) return Error(key, "must be an integer");
    *out = static_cast<int>(v);
    return Status::OK();
  }
  Status Text(const Json& parent, const std::string& name, const std::string& key, std::string* out,
              bool required = true) const {
    if (!parent.is_object() || !parent.contains(name)) {
      if (!required) return Status::OK();
      return Status::InvalidArgument(source_ + ": key '" + key + "' is missing");
    }
    if (!parent.at(name).is_string()) return Error(key, "must be a string");
    *out = parent.at(name).get<std::string>();
    return Status::OK();
  }
  Status PowerLawAt(const Json& parent, const std::string& name, const std::string& key,
                    PowerLaw* out) const {
    if (!parent.contains(name) || !parent.at(name).is_object())
      return Status::InvalidArgument(source_ + ": key '" + key + "' is missing (an object)");
    const Json& p = parent.at(name);
    ISOFLOP_RETURN_IF_ERROR(Number(p, "coefficient", key + ".coefficient", &out->coefficient));
    ISOFLOP_RETURN_IF_ERROR(Number(p, "exponent", key + ".exponent", &out->exponent));
    ISOFLOP_RETURN_IF_ERROR(Number(p, "r_squared", key + ".r_squared", &out->r_squared, false));
    return Int(p, "n_points", key + ".n_points", &out->n_points, false);
  }
  // A law object; `form_default` applies when it has no "form" (version 1 and its replicates).
  Status Law(const Json& j, const std::string& key, LawForm form_default, ScalingLaw* law) const {
    if (!j.is_object()) return Error(key, "must be an object");
    law->form = form_default;
    if (j.contains("form")) {
      std::string form;
      ISOFLOP_RETURN_IF_ERROR(Text(j, "form", key + ".form", &form));
      auto parsed = ParseLawForm(form);
      if (!parsed.ok()) return Error(key + ".form", parsed.status().message());
      law->form = *parsed;
    }
    const bool loss_required = law->form != LawForm::kPowerLaw;
    for (auto [name, field] : {std::pair{"E", &law->E}, std::pair{"A", &law->A}, std::pair{"B", &law->B},
                               std::pair{"alpha", &law->alpha}, std::pair{"beta", &law->beta}})
      ISOFLOP_RETURN_IF_ERROR(Number(j, name, key + "." + name, field, loss_required));
    if (law->form == LawForm::kDataConstrained) {
      ISOFLOP_RETURN_IF_ERROR(Number(j, "r_d_star", key + ".r_d_star", &law->r_d_star));
      ISOFLOP_RETURN_IF_ERROR(Number(j, "r_n_star", key + ".r_n_star", &law->r_n_star));
    }
    if (law->form == LawForm::kPowerLaw) {
      ISOFLOP_RETURN_IF_ERROR(PowerLawAt(j, "params_opt", key + ".params_opt", &law->params_opt));
      ISOFLOP_RETURN_IF_ERROR(PowerLawAt(j, "tokens_opt", key + ".tokens_opt", &law->tokens_opt));
    }
    if (j.contains("no_floor")) {  // schema 2, optional: the calibrated fit's loss average
      const Json& z = j.at("no_floor");
      if (!z.is_object()) return Error(key + ".no_floor", "must be an object");
      NoFloorLossLaw& nf = law->no_floor;
      for (auto [name, field] : {std::pair{"A", &nf.A}, std::pair{"B", &nf.B}, std::pair{"alpha", &nf.alpha},
                                 std::pair{"beta", &nf.beta}, std::pair{"weight", &nf.weight}})
        ISOFLOP_RETURN_IF_ERROR(Number(z, name, key + ".no_floor." + name, field));
      if (nf.weight == 0) return Error(key + ".no_floor.weight", "must be in (0, 1]");
    }
    std::string error;
    if (!law->IsValid(&error)) return Error(key, error);
    return Status::OK();
  }
  Status RangeAt(const Json& parent, const std::string& name, const std::string& key, Range* out) const {
    if (!parent.contains(name) || parent.at(name).is_null()) return Status::OK();
    const Json& v = parent.at(name);
    if (!v.is_array() || v.size() != 2 || !v[0].is_number() || !v[1].is_number())
      return Error(key, "must be [min, max] or null");
    out->min = v[0].get<double>();
    out->max = v[1].get<double>();
    return Status::OK();
  }

 private:
  std::string source_;
};

Status ReadProvenance(const Reader& r, const Json& p, FitProvenance* out) {
  if (!p.is_object()) return r.Error("provenance", "must be an object");
  std::string convention = "unknown";
  ISOFLOP_RETURN_IF_ERROR(r.Text(p, "params_convention", "provenance.params_convention", &convention, false));
  auto c = ParseParamsConvention(convention);
  if (!c.ok()) return r.Error("provenance.params_convention", c.status().message());
  out->params_convention = *c;
  if (p.contains("params_convention_assumed")) {
    if (!p.at("params_convention_assumed").is_boolean())
      return r.Error("provenance.params_convention_assumed", "must be true or false");
    out->params_convention_assumed = p.at("params_convention_assumed").get<bool>();
  }
  if (p.contains("vocab") && !p.at("vocab").is_null())
    ISOFLOP_RETURN_IF_ERROR(r.Int(p, "vocab", "provenance.vocab", &out->vocab));
  ISOFLOP_RETURN_IF_ERROR(r.Text(p, "citation", "provenance.citation", &out->citation, false));
  ISOFLOP_RETURN_IF_ERROR(
      r.Text(p, "interval_method", "provenance.interval_method", &out->interval_method, false));
  ISOFLOP_RETURN_IF_ERROR(r.RangeAt(p, "flops", "provenance.flops", &out->flops));
  ISOFLOP_RETURN_IF_ERROR(r.RangeAt(p, "params", "provenance.params", &out->params));
  ISOFLOP_RETURN_IF_ERROR(r.RangeAt(p, "tokens", "provenance.tokens", &out->tokens));
  ISOFLOP_RETURN_IF_ERROR(r.RangeAt(p, "loss", "provenance.loss", &out->loss));
  if (p.contains("fixed")) {
    const Json& f = p.at("fixed");
    if (!f.is_object()) return r.Error("provenance.fixed", "must be an object of numbers");
    for (const auto& [name, v] : f.items()) {
      double value = 0;
      ISOFLOP_RETURN_IF_ERROR(r.Number(f, name, "provenance.fixed." + name, &value));
      out->fixed.emplace_back(name, value);
    }
  }
  if (p.contains("prior")) {
    const Json& q = p.at("prior");
    ISOFLOP_RETURN_IF_ERROR(r.Text(q, "centre", "provenance.prior.centre", &out->prior));
    ISOFLOP_RETURN_IF_ERROR(r.Number(q, "width", "provenance.prior.width", &out->prior_width));
    ISOFLOP_RETURN_IF_ERROR(
        r.Number(q, "residual_scale", "provenance.prior.residual_scale", &out->prior_residual_scale));
  }
  if (p.contains("budgets_flops")) {
    const Json& b = p.at("budgets_flops");
    if (!b.is_array()) return r.Error("provenance.budgets_flops", "must be an array of numbers");
    for (size_t i = 0; i < b.size(); ++i) {
      if (!b[i].is_number())
        return r.Error("provenance.budgets_flops[" + std::to_string(i) + "]", "must be a number");
      out->budgets_flops.push_back(b[i].get<double>());
    }
  }
  return Status::OK();
}

}  // namespace

const char* FitMethodName(FitMethod method) {
  switch (method) {
    case FitMethod::kApproach3:
      return "approach3";
    case FitMethod::kEnvelope:
      return "envelope";
    case FitMethod::kParabola:
      return "parabola";
    case FitMethod::kAll:
      return "all";
    case FitMethod::kPublished:
      return "published";
    case FitMethod::kCalibrated:
      return "calibrated";
  }
  return "unknown";
}

StatusOr<FitMethod> ParseFitMethod(const std::string& name) {
  for (FitMethod m : {FitMethod::kApproach3, FitMethod::kEnvelope, FitMethod::kParabola, FitMethod::kAll,
                      FitMethod::kPublished, FitMethod::kCalibrated})
    if (name == FitMethodName(m)) return m;
  return Status::InvalidArgument("method '" + name +
                                 "' is not one of approach3, envelope, parabola, all, published, calibrated");
}

const char* ParamsConventionName(ParamsConvention c) {
  switch (c) {
    case ParamsConvention::kUnknown:
      return "unknown";
    case ParamsConvention::kTotal:
      return "total";
    case ParamsConvention::kNonEmbedding:
      return "non_embedding";
  }
  return "unknown";
}

StatusOr<ParamsConvention> ParseParamsConvention(const std::string& name) {
  for (ParamsConvention c :
       {ParamsConvention::kUnknown, ParamsConvention::kTotal, ParamsConvention::kNonEmbedding})
    if (name == ParamsConventionName(c)) return c;
  if (name == "non-embedding") return ParamsConvention::kNonEmbedding;
  return Status::InvalidArgument("parameter convention '" + name + "' is not one of total, non_embedding");
}

void Range::Add(double v) {
  if (!std::isfinite(v)) return;
  if (!known()) {
    min = max = v;
    return;
  }
  min = std::min(min, v);
  max = std::max(max, v);
}

void SetFittedRange(const std::vector<RunExtent>& runs, FitProvenance* p) {
  p->flops = p->params = p->tokens = p->loss = Range{};
  std::vector<double> c;
  for (const RunExtent& r : runs) {
    p->flops.Add(r.flops);
    p->params.Add(r.params);
    p->tokens.Add(r.tokens);
    p->loss.Add(r.loss);
    c.push_back(r.flops);
  }
  p->budgets_flops.clear();
  for (const BudgetGroup& g : GroupByBudget(c)) p->budgets_flops.push_back(g.budget_flops);
}

std::string FitRecordToJson(const FitRecord& s) {
  Json j;
  j["schema"] = std::string(kSchemaPrefix) + std::to_string(kFitSchemaVersion);
  j["method"] = FitMethodName(s.method);
  j["n_points"] = s.n_points;
  j["n_dropped"] = s.n_dropped;
  const FitProvenance& p = s.provenance;
  Json prov{{"params_convention", ParamsConventionName(p.params_convention)},
            {"params_convention_assumed", p.params_convention_assumed},
            {"vocab", p.vocab > 0 ? Json(p.vocab) : Json(nullptr)},
            {"flops", RangeJson(p.flops)},
            {"params", RangeJson(p.params)},
            {"tokens", RangeJson(p.tokens)},
            {"loss", RangeJson(p.loss)},
            {"budgets_flops", p.budgets_flops}};
  if (!p.citation.empty()) prov["citation"] = p.citation;
  if (!p.interval_method.empty()) prov["interval_method"] = p.interval_method;
  if (!p.fixed.empty()) {
    Json fixed = Json::object();
    for (const auto& [name, value] : p.fixed) fixed[name] = value;
    prov["fixed"] = fixed;
  }
  if (!p.prior.empty())
    prov["prior"] =
        Json{{"centre", p.prior}, {"width", p.prior_width}, {"residual_scale", p.prior_residual_scale}};
  j["provenance"] = prov;
  if (!s.approach3_error.empty()) j["approach3_error"] = s.approach3_error;
  if (!s.approach2_error.empty()) j["approach2_error"] = s.approach2_error;
  if (s.has_law) {
    j["law"] = LawJson(s.law);
    if (s.law.form != LawForm::kPowerLaw) {
      j["objective"] = s.objective;
      j["starts"] = s.starts;
      j["starts_at_optimum"] = s.starts_at_optimum;
      j["best_start_index"] = s.best_start_index;
      j["allocation"] = Json{{"a", s.allocation.a}, {"b", s.allocation.b}, {"G", s.allocation.G}};
    }
    Json ci_json = Json::object();
    for (const auto& [name, iv] : s.ci) ci_json[name] = Json::array({iv.lo, iv.hi});
    j["ci"] = ci_json;
    j["bootstrap_resamples"] = s.bootstrap_resamples;
    // The replicates' laws (intervals for the planner, predict and the report's band). JSON has no
    // inf: a replicate whose law ran away to infinity is counted above but not listed here.
    Json boot = Json::array();
    for (const ScalingLaw& l : s.bootstrap_laws)
      if (AllFinite(l) && l.IsValid(nullptr)) boot.push_back(LawJson(l));
    if (!boot.empty()) j["bootstrap"] = boot;
  }
  if (!s.calibration.empty()) {
    Json arr = Json::array();
    for (const CalibrationVariant& v : s.calibration) {
      Json one{{"approach", v.approach},
               {"runs", v.runs},
               {"n_runs", v.n_runs},
               {"n_budgets", v.n_budgets},
               {"weight", v.weight},
               {"replicates", v.replicates},
               {"params_opt", PowerLawJson(v.params_opt)}};
      if (v.has_law) {
        one["law"] = LawJson(v.law);
        one["objective"] = v.objective;
      }
      arr.push_back(one);
    }
    j["calibration"] = arr;
  }
  if (!s.parabolas.empty()) {
    Json arr = Json::array();
    for (const auto& p : s.parabolas)
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
        Json{{"params", PowerLawJson(s.parabola_params)}, {"tokens", PowerLawJson(s.parabola_tokens)}};
  }
  if (!s.envelope.empty()) {
    Json arr = Json::array();
    for (const auto& e : s.envelope)
      arr.push_back(Json{{"budget_flops", e.budget_flops},
                         {"params", e.params},
                         {"tokens", e.tokens},
                         {"loss", e.loss},
                         {"run_id", e.run_id}});
    j["envelope"] = arr;
    j["envelope_fit"] =
        Json{{"params", PowerLawJson(s.envelope_params)}, {"tokens", PowerLawJson(s.envelope_tokens)}};
  }
  return j.dump(2) + "\n";
}

StatusOr<FitRecord> ParseFitJson(const std::string& text, const std::string& source) {
  // Numbers that overflow a double (1e999) are a parse error here, not an exception.
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument(source + ": not valid JSON");
  if (!j.is_object())
    return Status::InvalidArgument(source + ": expected a JSON object (the output of isoflop fit)");
  const Reader r(source);
  FitRecord s;
  s.provenance.source = source;
  int version = 1;
  if (j.contains("schema")) {
    std::string schema;
    ISOFLOP_RETURN_IF_ERROR(r.Text(j, "schema", "schema", &schema));
    const std::string prefix = kSchemaPrefix;
    const std::string number = schema.rfind(prefix, 0) == 0 ? schema.substr(prefix.size()) : "";
    if (number != "1" && number != "2")
      return r.Error(
          "schema",
          "'" + schema + "' is not a fit.json version this isoflop reads (isoflop.fit/1, isoflop.fit/2)");
    version = number == "1" ? 1 : 2;
  }
  // Version 1 also came as a bare law: {"law": {...}} or {"law.E": ...} (the planner's old reader).
  std::string method = "approach3";
  ISOFLOP_RETURN_IF_ERROR(r.Text(j, "method", "method", &method, false));
  auto parsed_method = ParseFitMethod(method);
  if (!parsed_method.ok()) return r.Error("method", parsed_method.status().message());
  s.method = *parsed_method;
  ISOFLOP_RETURN_IF_ERROR(r.Int(j, "n_points", "n_points", &s.n_points, false));
  ISOFLOP_RETURN_IF_ERROR(r.Int(j, "n_dropped", "n_dropped", &s.n_dropped, false));
  ISOFLOP_RETURN_IF_ERROR(r.Text(j, "approach3_error", "approach3_error", &s.approach3_error, false));
  ISOFLOP_RETURN_IF_ERROR(r.Text(j, "approach2_error", "approach2_error", &s.approach2_error, false));
  if (version >= 2 && j.contains("provenance"))
    ISOFLOP_RETURN_IF_ERROR(ReadProvenance(r, j.at("provenance"), &s.provenance));

  // Approaches 1 and 2 first: a version-1 fit by parabola/envelope has no "law" and plans from them.
  if (j.contains("parabolas")) {
    const Json& arr = j.at("parabolas");
    if (!arr.is_array()) return r.Error("parabolas", "must be an array");
    for (size_t i = 0; i < arr.size(); ++i) {
      const std::string key = "parabolas[" + std::to_string(i) + "]";
      IsoflopParabola q;
      for (auto [name, field] :
           {std::pair{"budget_flops", &q.budget_flops}, std::pair{"c0", &q.c0}, std::pair{"c1", &q.c1},
            std::pair{"c2", &q.c2}, std::pair{"params_opt", &q.params_opt},
            std::pair{"tokens_opt", &q.tokens_opt}, std::pair{"loss_at_min", &q.loss_at_min}})
        ISOFLOP_RETURN_IF_ERROR(r.Number(arr[i], name, key + "." + name, field));
      ISOFLOP_RETURN_IF_ERROR(r.Int(arr[i], "n_points", key + ".n_points", &q.n_points));
      s.parabolas.push_back(q);
    }
    if (!j.contains("parabola_fit"))
      return Status::InvalidArgument(source + ": key 'parabola_fit' is missing");
    ISOFLOP_RETURN_IF_ERROR(
        r.PowerLawAt(j.at("parabola_fit"), "params", "parabola_fit.params", &s.parabola_params));
    ISOFLOP_RETURN_IF_ERROR(
        r.PowerLawAt(j.at("parabola_fit"), "tokens", "parabola_fit.tokens", &s.parabola_tokens));
  }
  if (j.contains("envelope")) {
    const Json& arr = j.at("envelope");
    if (!arr.is_array()) return r.Error("envelope", "must be an array");
    for (size_t i = 0; i < arr.size(); ++i) {
      const std::string key = "envelope[" + std::to_string(i) + "]";
      EnvelopePoint e;
      for (auto [name, field] : {std::pair{"budget_flops", &e.budget_flops}, std::pair{"params", &e.params},
                                 std::pair{"tokens", &e.tokens}, std::pair{"loss", &e.loss}})
        ISOFLOP_RETURN_IF_ERROR(r.Number(arr[i], name, key + "." + name, field));
      ISOFLOP_RETURN_IF_ERROR(r.Text(arr[i], "run_id", key + ".run_id", &e.run_id, false));
      s.envelope.push_back(e);
    }
    if (!j.contains("envelope_fit"))
      return Status::InvalidArgument(source + ": key 'envelope_fit' is missing");
    ISOFLOP_RETURN_IF_ERROR(
        r.PowerLawAt(j.at("envelope_fit"), "params", "envelope_fit.params", &s.envelope_params));
    ISOFLOP_RETURN_IF_ERROR(
        r.PowerLawAt(j.at("envelope_fit"), "tokens", "envelope_fit.tokens", &s.envelope_tokens));
  }

  const Json* law = nullptr;
  Json flat;
  if (j.contains("law")) {
    law = &j.at("law");
  } else if (j.contains("law.E")) {  // the planner's old flat form
    for (const char* k : {"E", "A", "B", "alpha", "beta"})
      if (j.contains(std::string("law.") + k)) flat[k] = j.at(std::string("law.") + k);
    law = &flat;
  }
  if (law != nullptr) {
    s.has_law = true;
    ISOFLOP_RETURN_IF_ERROR(r.Law(*law, "law", LawForm::kChinchilla, &s.law));
    if (s.law.form != LawForm::kPowerLaw) {
      ISOFLOP_RETURN_IF_ERROR(r.Number(j, "objective", "objective", &s.objective, false));
      ISOFLOP_RETURN_IF_ERROR(r.Int(j, "starts", "starts", &s.starts, false));
      ISOFLOP_RETURN_IF_ERROR(
          r.Int(j, "starts_at_optimum", "starts_at_optimum", &s.starts_at_optimum, false));
      ISOFLOP_RETURN_IF_ERROR(r.Int(j, "best_start_index", "best_start_index", &s.best_start_index, false));
      s.allocation = ComputeAllocation(s.law);
    }
  } else if (version == 1 && (s.method == FitMethod::kParabola || s.method == FitMethod::kEnvelope)) {
    // Version 1 wrote Approaches 1/2 without a "law": their power laws are the law (Llama 3's method).
    const bool parabola = s.method == FitMethod::kParabola;
    s.law.form = LawForm::kPowerLaw;
    s.law.params_opt = parabola ? s.parabola_params : s.envelope_params;
    s.law.tokens_opt = parabola ? s.parabola_tokens : s.envelope_tokens;
    s.has_law = s.law.IsValid(nullptr);
  }
  if (j.contains("ci")) {
    const Json& ci = j.at("ci");
    if (!ci.is_object()) return r.Error("ci", "must be an object of [lo, hi] pairs");
    for (const auto& [name, v] : ci.items()) {
      // A degenerate fit's interval can be non-finite: written as null, skipped here.
      if (!v.is_array() || v.size() != 2) return r.Error("ci." + name, "must be [lo, hi]");
      if (!v[0].is_number() || !v[1].is_number()) continue;
      s.ci.push_back({name, Interval{v[0].get<double>(), v[1].get<double>()}});
    }
  }
  ISOFLOP_RETURN_IF_ERROR(
      r.Int(j, "bootstrap_resamples", "bootstrap_resamples", &s.bootstrap_resamples, false));
  for (const char* key : {"bootstrap", "bootstrap_samples"}) {
    if (!j.contains(key)) continue;
    const Json& arr = j.at(key);
    if (!arr.is_array()) return r.Error(key, "must be an array of laws");
    for (size_t i = 0; i < arr.size(); ++i) {
      ScalingLaw l;
      ISOFLOP_RETURN_IF_ERROR(r.Law(arr[i], std::string(key) + "[" + std::to_string(i) + "]",
                                    s.has_law ? s.law.form : LawForm::kChinchilla, &l));
      s.bootstrap_laws.push_back(l);
    }
    break;
  }
  if (j.contains("calibration")) {
    const Json& arr = j.at("calibration");
    if (!arr.is_array()) return r.Error("calibration", "must be an array of variants");
    for (size_t i = 0; i < arr.size(); ++i) {
      const std::string key = "calibration[" + std::to_string(i) + "]";
      CalibrationVariant v;
      ISOFLOP_RETURN_IF_ERROR(r.Text(arr[i], "approach", key + ".approach", &v.approach));
      ISOFLOP_RETURN_IF_ERROR(r.Text(arr[i], "runs", key + ".runs", &v.runs));
      ISOFLOP_RETURN_IF_ERROR(r.Int(arr[i], "n_runs", key + ".n_runs", &v.n_runs));
      ISOFLOP_RETURN_IF_ERROR(r.Int(arr[i], "n_budgets", key + ".n_budgets", &v.n_budgets, false));
      ISOFLOP_RETURN_IF_ERROR(r.Number(arr[i], "weight", key + ".weight", &v.weight));
      ISOFLOP_RETURN_IF_ERROR(r.Int(arr[i], "replicates", key + ".replicates", &v.replicates));
      ISOFLOP_RETURN_IF_ERROR(r.PowerLawAt(arr[i], "params_opt", key + ".params_opt", &v.params_opt));
      if (arr[i].contains("law")) {
        v.has_law = true;
        ISOFLOP_RETURN_IF_ERROR(r.Law(arr[i].at("law"), key + ".law", LawForm::kChinchilla, &v.law));
        ISOFLOP_RETURN_IF_ERROR(r.Number(arr[i], "objective", key + ".objective", &v.objective, false));
      }
      s.calibration.push_back(v);
    }
  }
  if (!s.has_law && s.parabolas.empty() && s.envelope.empty() && s.approach3_error.empty())
    return Status::InvalidArgument(source +
                                   ": holds no law (key 'law') and no IsoFLOP curves (keys 'parabolas', "
                                   "'envelope'): not the output of isoflop fit");
  if (version == 1) {
    // Version 1 knew no provenance beyond the Approach 1/2 budgets.
    for (const auto& p : s.parabolas) s.provenance.budgets_flops.push_back(p.budget_flops);
    if (s.provenance.budgets_flops.empty())
      for (const auto& e : s.envelope) s.provenance.budgets_flops.push_back(e.budget_flops);
    for (double c : s.provenance.budgets_flops) s.provenance.flops.Add(c);
  }
  return s;
}

StatusOr<FitRecord> LoadFitJson(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return Status::NotFound(path + ": no such file (use a fit.json path, 'hoffmann' or 'epoch')");
  if (S_ISDIR(st.st_mode)) return Status::InvalidArgument(path + ": is a directory, not a fit.json file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::InvalidArgument(path + ": read failed");
  return ParseFitJson(text.str(), path);
}

namespace {

FitRecord PublishedRecord(const ScalingLaw& law, const std::string& name, const std::string& citation) {
  FitRecord r;
  r.method = FitMethod::kPublished;
  r.has_law = true;
  r.law = law;
  r.allocation = ComputeAllocation(law);
  FitProvenance& p = r.provenance;
  p.source = name;
  p.citation = citation;
  p.params_convention = ParamsConvention::kTotal;  // Hoffmann et al. 2022 count every parameter
  // The runs behind both laws, as Epoch AI read them from Hoffmann et al.'s Figure 4 (245 points,
  // tests/data/chinchilla_epoch.csv): N 5.73e7-1.62e10, D 2.45e8-3.18e11, C 1.4e18-1.3e22.
  p.flops = Range{1.4e18, 1.3e22};
  p.params = Range{5.73e7, 1.62e10};
  p.tokens = Range{2.45e8, 3.18e11};
  p.loss = Range{2.08, 5.01};
  r.n_points = 245;
  return r;
}

}  // namespace

FitRecord HoffmannRecord() {
  return PublishedRecord(HoffmannLaw(), "hoffmann",
                         "Hoffmann et al. 2022, 'Training Compute-Optimal Large Language Models', eq. 10 "
                         "(Approach 3 on ~400 runs, 70M-16B parameters)");
}

FitRecord EpochRecord() {
  return PublishedRecord(EpochLaw(), "epoch",
                         "Besiroglu et al. 2024, 'Chinchilla Scaling: A replication attempt', eq. 4 "
                         "(refit of Hoffmann et al.'s Figure 4 runs)");
}

StatusOr<FitRecord> LoadLaw(const std::string& name_or_path) {
  if (name_or_path == "hoffmann") return HoffmannRecord();
  if (name_or_path == "epoch") return EpochRecord();
  auto record = LoadFitJson(name_or_path);
  if (!record.ok()) return record.status();
  if (!record->has_law) {
    std::string why = record->approach3_error.empty() ? "it holds no law"
                                                      : "its fit gave no law: " + record->approach3_error;
    return Status::FailedPrecondition(name_or_path + ": " + why +
                                      " (refit with more budgets, or use --law hoffmann | epoch)");
  }
  return record;
}

}  // namespace isoflop
