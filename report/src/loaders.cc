// LoadRunsCsv, LoadPlanJson: the CLI's inputs. Errors name file, line, column. (fit.json has one
// reader, the scaling-law core's isoflop::LoadFitJson.)
//
// The runs CSV carries more than the fitter's (state, role, attempts, tokens/s, MFU, energy), so
// the report reads it itself; the column rules match the fitter's (docs/fit.md): a header,
// names case-insensitive, unknown columns ignored.
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "isoflop/csv.h"
#include "isoflop/file_util.h"
#include "isoflop/report.h"

namespace isoflop::report {
namespace {

double JsonNumber(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return kUnknown;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return kUnknown;
  return it->get<double>();
}

// True only for a JSON true at `key`; absent or another type is false.
bool JsonBool(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return false;
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

std::string JsonText(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// [lo, hi] of two finite numbers; absent (null, missing, malformed) is no interval.
std::optional<Interval> JsonInterval(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_array() || it->size() != 2 || !(*it)[0].is_number() || !(*it)[1].is_number())
    return std::nullopt;
  const double lo = (*it)[0].get<double>(), hi = (*it)[1].get<double>();
  if (!std::isfinite(lo) || !std::isfinite(hi)) return std::nullopt;
  return Interval{lo, hi};
}

std::string JsonScalarText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  if (v.is_number()) {
    char buf[40];
    std::snprintf(buf, sizeof(buf), "%.6g", v.get<double>());
    return buf;
  }
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_null()) return "–";
  return v.dump();
}

void FlattenPlan(const nlohmann::json& j, const std::string& section, const std::string& prefix,
                 PlanInfo* plan) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string name = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_object()) {
      FlattenPlan(*it, section.empty() ? it.key() : section, section.empty() ? "" : name, plan);
    } else if (it->is_array() && !it->empty() && (*it)[0].is_object()) {
      // Ranked alternatives (layouts, shapes): the first is the chosen one; the rest are counted.
      FlattenPlan((*it)[0], section.empty() ? it.key() : section, name + "[0]", plan);
      if (it->size() > 1)
        plan->rows.push_back({section.empty() ? it.key() : section, name,
                              std::to_string(it->size()) + " entries; [0] shown (see plan.json)"});
    } else {
      plan->rows.push_back({section.empty() ? "plan" : section, name, JsonScalarText(*it)});
    }
  }
}

// The first number found under any of `keys`, searched depth-first.
double FindNumber(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  if (!j.is_object()) return kUnknown;
  for (const char* k : keys) {
    auto it = j.find(k);
    if (it != j.end() && it->is_number()) return it->get<double>();
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it->is_object()) {
      const double v = FindNumber(*it, keys);
      if (std::isfinite(v)) return v;
    }
  }
  return kUnknown;
}

}  // namespace

StatusOr<std::vector<RunRecord>> LoadRunsCsv(const std::string& path, const RunsCsvOptions& options) {
  auto table = ReadCsvFile(path);
  if (!table.ok()) return table.status();
  const std::vector<std::string>& header = table->header;
  const int line_no = table->header_line;
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < header.size(); ++i) col.emplace(LowerAscii(header[i]), i);
  // --columns: a canonical name read from another header (the fitter's syntax, docs/fit.md).
  for (const auto& [canonical, name] : options.columns) {
    auto it = col.find(LowerAscii(TrimAscii(name)));
    if (it == col.end()) {
      return Status::InvalidArgument(path + ":" + std::to_string(line_no) + ": --columns " + canonical + "=" +
                                     name + ": no column '" + name + "' in the header");
    }
    col[LowerAscii(TrimAscii(canonical))] = it->second;
  }
  std::vector<std::pair<size_t, std::string>> filters;
  for (const auto& [name, value] : options.where) {
    auto it = col.find(LowerAscii(TrimAscii(name)));
    if (it == col.end()) {
      return Status::InvalidArgument(path + ":" + std::to_string(line_no) + ": --where " + name + "=" +
                                     value + ": no column '" + name + "' in the header");
    }
    filters.emplace_back(it->second, TrimAscii(value));
  }
  // loss and two of params / tokens / flops (the third from C = 6ND), as the fitter reads them.
  const int have = static_cast<int>(col.count("params") + col.count("tokens") + col.count("flops"));
  for (const char* required : {"loss", "params", "tokens"}) {
    if (col.count(required)) continue;
    if (std::string(required) != "loss" && have >= 2) continue;
    return Status::InvalidArgument(path + ":" + std::to_string(line_no) + ": missing column '" + required +
                                   "' (need loss and two of params, tokens, flops)");
  }
  auto find = [&](std::initializer_list<const char*> names) -> int {
    for (const char* n : names)
      if (col.count(n)) return static_cast<int>(col[n]);
    return -1;
  };
  const int c_id = find({"run_id", "id", "run"});
  const int c_flops = find({"flops"});
  const int c_params = find({"params"});
  const int c_tokens = find({"tokens"});
  const int c_state = find({"state", "status"});
  const int c_role = find({"role"});
  const int c_unique = find({"unique_tokens"});
  const int c_attempts = find({"attempts"});
  const int c_tps = find({"tokens_per_s"});
  const int c_mfu = find({"mfu"});
  const int c_energy = find({"energy_kwh"});
  const int c_run_dir = find({"run_dir"});

  std::vector<RunRecord> runs;
  for (const CsvRecord& record : table->rows) {
    const std::vector<std::string>& f = record.fields;
    bool keep = true;
    for (const auto& [c, value] : filters) keep &= c < f.size() && f[c] == value;
    if (!keep) continue;
    const std::string where = path + ":" + std::to_string(record.line);
    auto cell = [&](int c) -> std::string { return c >= 0 && static_cast<size_t>(c) < f.size() ? f[c] : ""; };
    // A number, or kUnknown when empty and allowed to be.
    auto number = [&](int c, const std::string& name, bool required, double* out) -> Status {
      const std::string s = cell(c);
      if (s.empty()) {
        if (required) return Status::InvalidArgument(where + ": column '" + name + "' is empty");
        *out = kUnknown;
        return Status::OK();
      }
      char* end = nullptr;
      const double v = std::strtod(s.c_str(), &end);
      if (end == s.c_str() || *end != '\0')
        return Status::InvalidArgument(where + ": column '" + name + "': '" + s + "' is not a number");
      if (!std::isfinite(v))
        return Status::InvalidArgument(where + ": column '" + name + "': value is not finite");
      *out = v;
      return Status::OK();
    };
    RunRecord r;
    r.id = c_id >= 0 ? cell(c_id) : "row" + std::to_string(record.line);
    if (c_state >= 0 && !cell(c_state).empty()) {
      auto st = ParseRunState(cell(c_state));
      if (!st.ok()) return st.status().WithContext(where + ": column '" + header[c_state] + "'");
      r.state = *st;
    }
    if (c_role >= 0) {
      auto role = ParseRunRole(cell(c_role));
      if (!role.ok()) return role.status().WithContext(where + ": column '" + header[c_role] + "'");
      r.role = *role;
    }
    ISOFLOP_RETURN_IF_ERROR(number(c_flops, "flops", c_params < 0 || c_tokens < 0, &r.flops));
    if (std::isfinite(r.flops) && !(r.flops > 0))
      return Status::InvalidArgument(where + ": column 'flops' must be > 0");
    if (c_params >= 0) ISOFLOP_RETURN_IF_ERROR(number(c_params, "params", true, &r.params));
    if (c_tokens >= 0) ISOFLOP_RETURN_IF_ERROR(number(c_tokens, "tokens", true, &r.tokens));
    if (c_params < 0) r.params = r.flops / (6 * r.tokens);  // C = 6ND (Kaplan et al. 2020, Eq. 2.1)
    if (c_tokens < 0) r.tokens = r.flops / (6 * r.params);
    ISOFLOP_RETURN_IF_ERROR(
        number(static_cast<int>(col["loss"]), "loss", r.state == RunState::kDone, &r.loss));
    if (!(r.params > 0)) return Status::InvalidArgument(where + ": column 'params' must be > 0");
    if (!(r.tokens > 0)) return Status::InvalidArgument(where + ": column 'tokens' must be > 0");
    if (r.state == RunState::kDone && !(r.loss > 0))
      return Status::InvalidArgument(where + ": column 'loss' must be > 0");
    ISOFLOP_RETURN_IF_ERROR(number(c_unique, "unique_tokens", false, &r.unique_tokens));
    if (std::isfinite(r.unique_tokens) && !(r.unique_tokens > 0))
      return Status::InvalidArgument(where + ": column 'unique_tokens' must be > 0");
    double attempts = 1;
    ISOFLOP_RETURN_IF_ERROR(number(c_attempts, "attempts", false, &attempts));
    r.attempts = std::isfinite(attempts) ? static_cast<int>(attempts) : 1;
    ISOFLOP_RETURN_IF_ERROR(number(c_tps, "tokens_per_s", false, &r.tokens_per_s));
    ISOFLOP_RETURN_IF_ERROR(number(c_mfu, "mfu", false, &r.mfu));
    ISOFLOP_RETURN_IF_ERROR(number(c_energy, "energy_kwh", false, &r.energy_kwh));
    // A run directory (docs/interfaces.md) fills throughput, MFU and energy the CSV left empty.
    if (c_run_dir >= 0 && !cell(c_run_dir).empty()) {
      RunRecord from_dir;
      ISOFLOP_RETURN_IF_ERROR(FillFromRunDir(cell(c_run_dir), &from_dir).WithContext(where));
      if (!std::isfinite(r.tokens_per_s)) r.tokens_per_s = from_dir.tokens_per_s;
      if (!std::isfinite(r.mfu)) r.mfu = from_dir.mfu;
      if (!std::isfinite(r.energy_kwh)) r.energy_kwh = from_dir.energy_kwh;
    }
    runs.push_back(std::move(r));
  }
  if (runs.empty()) {
    return Status::InvalidArgument(
        path + (filters.empty() ? ": no data rows after the header" : ": no data rows match --where"));
  }
  return runs;
}

StatusOr<PlanInfo> LoadPlanJson(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  return ParsePlanJson(*text, path);
}

StatusOr<PlanInfo> ParsePlanJson(const std::string& text, const std::string& path) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument(path + ": not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument(path + ": expected a JSON object");
  PlanInfo plan;
  plan.budget_flops = FindNumber(j, {"budget_flops", "flops", "compute_flops", "budget"});
  plan.params = FindNumber(j, {"shape_params", "params_opt", "params", "n_params", "params_total", "N"});
  plan.tokens = FindNumber(j, {"train_tokens", "tokens_opt", "tokens", "n_tokens", "D"});
  FlattenPlan(j, "", "", &plan);
  // The law's point at the budget with its 95% intervals, and what the plan rests on
  // (planner/src/plan.cc, PlanSummary::ToJson; docs/planner.md).
  plan.params_opt = JsonNumber(j, "params_opt");
  plan.tokens_opt = JsonNumber(j, "tokens_opt");
  plan.loss = JsonNumber(j, "loss_pred");
  plan.params_opt_interval = JsonInterval(j, "params_opt_interval");
  plan.tokens_opt_interval = JsonInterval(j, "tokens_opt_interval");
  plan.loss_interval = JsonInterval(j, "loss_interval");
  if (j.contains("intervals") && j["intervals"].is_object())
    plan.interval_source = JsonText(j["intervals"], "source");
  plan.extrapolated =
      JsonBool(j, "extrapolated");
  plan.warning = JsonText(j, "warning");
  if (j.contains("evidence") && j["evidence"].is_object()) {
    const auto& e = j["evidence"];
    if (e.contains("supported") && e["supported"].is_boolean())
      plan.evidence_supported = e["supported"].get<bool>();
    plan.evidence_reason = JsonText(e, "reason");
  }
  if (j.contains("provenance") && j["provenance"].is_object()) {
    plan.provenance = JsonText(j["provenance"], "description");
    plan.extrapolation = JsonNumber(j["provenance"], "extrapolation");
  }
  if (j.contains("law") && j["law"].is_object()) plan.law_source = JsonText(j["law"], "source");
  // "pareto": {"objective": "cost", "front": [{"gpus_allocated", "wall_clock_s", "cost_usd",
  // "energy_kwh", "layout", "chosen"}, ...]} (isoflop plan --json).
  if (j.contains("pareto") && j["pareto"].is_object()) {
    const auto& pareto = j["pareto"];
    plan.objective = JsonText(pareto, "objective");
    if (pareto.contains("front") && pareto["front"].is_array()) {
      for (const auto& point : pareto["front"]) {
        if (!point.is_object()) continue;
        PlanInfo::ParetoPoint pp;
        if (point.contains("gpus_allocated") && point["gpus_allocated"].is_number())
          pp.gpus = point["gpus_allocated"].get<int>();
        pp.wall_clock_s = JsonNumber(point, "wall_clock_s");
        pp.cost_usd = JsonNumber(point, "cost_usd");
        pp.energy_kwh = JsonNumber(point, "energy_kwh");
        pp.layout = JsonText(point, "layout");
        pp.chosen = JsonBool(point, "chosen");
        if (std::isfinite(pp.wall_clock_s) && std::isfinite(pp.cost_usd)) plan.pareto.push_back(pp);
      }
    }
  }
  plan.train_gpu_hours = JsonNumber(j, "gpu_hours");
  plan.train_cost_usd = JsonNumber(j, "cost_usd");
  plan.train_energy_kwh = JsonNumber(j, "energy_kwh");
  // "serving": {"lifetime_tokens", "requests_per_s", "precisions": [ServeSummary JSON + demand]}.
  if (j.contains("serving") && j["serving"].is_object()) {
    const auto& sv = j["serving"];
    plan.serving_lifetime_tokens = JsonNumber(sv, "lifetime_tokens");
    plan.serving_requests_per_s = JsonNumber(sv, "requests_per_s");
    if (sv.contains("precisions") && sv["precisions"].is_array()) {
      for (const auto& p : sv["precisions"]) {
        if (!p.is_object()) continue;
        PlanInfo::ServingOption o;
        o.precision = JsonText(p, "precision");
        o.fits = JsonBool(p, "fits");
        if (p.contains("gpus_per_replica") && p["gpus_per_replica"].is_number())
          o.gpus_per_replica = p["gpus_per_replica"].get<int>();
        o.memory_per_gpu_bytes = JsonNumber(p, "memory_per_gpu_bytes");
        o.memory_utilization = JsonNumber(p, "memory_utilization");
        o.bandwidth_utilization = JsonNumber(p, "bandwidth_utilization");
        o.compute_utilization = JsonNumber(p, "compute_utilization");
        o.time_per_output_token_s = JsonNumber(p, "time_per_output_token_s");
        o.decode_tokens_per_s = JsonNumber(p, "decode_tokens_per_s");
        o.prefill_tokens_per_s = JsonNumber(p, "prefill_tokens_per_s");
        o.usd_per_million_tokens = JsonNumber(p, "usd_per_million_tokens");
        o.kwh_per_million_tokens = JsonNumber(p, "kwh_per_million_tokens");
        o.lifetime_usd = JsonNumber(p, "lifetime_usd");
        o.lifetime_kwh = JsonNumber(p, "lifetime_kwh");
        o.replicas = JsonNumber(p, "replicas");
        plan.serving.push_back(o);
      }
    }
  }
  // "moe": the --moe plan beside the dense one (PlanSummary::ToJson; MoePlan::ToJson + "dense").
  if (j.contains("moe") && j["moe"].is_object()) {
    const auto& m = j["moe"];
    PlanInfo::MoeComparison c;
    c.experts = static_cast<int>(JsonNumber(m, "experts"));
    c.top_k = static_cast<int>(JsonNumber(m, "top_k"));
    if (m.contains("law") && m["law"].is_object()) {
      const auto& law = m["law"];
      c.law_citation = JsonText(law, "citation");
      c.law_equation = JsonText(law, "equation");
      c.extrapolated = JsonBool(law, "extrapolated");
      if (law.contains("extrapolation") && law["extrapolation"].is_array())
        for (const auto& why : law["extrapolation"])
          if (why.is_string()) c.extrapolation.push_back(why.get<std::string>());
    }
    if (m.contains("law_optimum") && m["law_optimum"].is_object()) {
      const auto& lo = m["law_optimum"];
      if (lo.contains("dense") && lo["dense"].is_object()) c.law_dense_loss = JsonNumber(lo["dense"], "loss");
      if (lo.contains("moe") && lo["moe"].is_object()) c.law_moe_loss = JsonNumber(lo["moe"], "loss");
    }
    auto serving = [](const nlohmann::json& sv, PlanInfo::MoeColumn* col) {
      if (!sv.is_object() || !JsonBool(sv, "fits")) return;
      col->serving_gpus_per_replica = JsonNumber(sv, "gpus_per_replica");
      col->serving_usd_per_million_tokens = JsonNumber(sv, "usd_per_million_tokens");
    };
    c.moe.label = "MoE " + std::to_string(c.experts) + " experts, top-" + std::to_string(c.top_k);
    if (m.contains("shape") && m["shape"].is_object()) {
      c.moe.params_total = JsonNumber(m["shape"], "params_total");
      c.moe.params_active = JsonNumber(m["shape"], "params_active");
    }
    c.moe.train_tokens = JsonNumber(m, "train_tokens");
    if (m.contains("law_optimum") && m["law_optimum"].is_object() && m["law_optimum"].contains("moe"))
      c.moe.loss = JsonNumber(m["law_optimum"]["moe"], "loss");
    c.moe.loss_law = "Krajewski et al. 2024";
    if (m.contains("layout") && m["layout"].is_object() && m["layout"].contains("config")) {
      const auto& cfg = m["layout"]["config"];
      c.moe.layout = "TP" + std::to_string(static_cast<int>(JsonNumber(cfg, "tp"))) + " PP" +
                     std::to_string(static_cast<int>(JsonNumber(cfg, "pp"))) + " DP" +
                     std::to_string(static_cast<int>(JsonNumber(cfg, "dp"))) + " EP" +
                     std::to_string(static_cast<int>(JsonNumber(cfg, "ep")));
    }
    c.moe.gpus_allocated = JsonNumber(m, "gpus_allocated");
    c.moe.wall_clock_s = JsonNumber(m, "wall_clock_s");
    c.moe.gpu_hours = JsonNumber(m, "gpu_hours");
    c.moe.cost_usd = JsonNumber(m, "cost_usd");
    c.moe.energy_kwh = JsonNumber(m, "energy_kwh");
    c.moe.memory_per_gpu_bytes = JsonNumber(m, "memory_per_gpu_bytes");
    if (m.contains("serving_bf16")) serving(m["serving_bf16"], &c.moe);
    c.dense.label = "dense (this plan)";
    if (m.contains("dense") && m["dense"].is_object()) {
      const auto& d = m["dense"];
      c.dense.params_total = JsonNumber(d, "params_total");
      c.dense.params_active = JsonNumber(d, "params_active");
      c.dense.train_tokens = JsonNumber(d, "train_tokens");
      c.dense.loss = JsonNumber(d, "loss");
      c.dense.loss_law = JsonText(d, "loss_law");
      c.dense.layout = JsonText(d, "layout");
      c.dense.gpus_allocated = JsonNumber(d, "gpus_allocated");
      c.dense.wall_clock_s = JsonNumber(d, "wall_clock_s");
      c.dense.gpu_hours = JsonNumber(d, "gpu_hours");
      c.dense.cost_usd = JsonNumber(d, "cost_usd");
      c.dense.energy_kwh = JsonNumber(d, "energy_kwh");
      c.dense.memory_per_gpu_bytes = JsonNumber(d, "memory_per_gpu_bytes");
    }
    if (m.contains("dense_serving_bf16")) serving(m["dense_serving_bf16"], &c.dense);
    plan.moe = std::move(c);
  }
  return plan;
}

}  // namespace isoflop::report

namespace isoflop::report {

Status FillFromRunDir(const std::string& run_dir, RunRecord* run) {
  {
    std::ifstream in(run_dir + "/metrics.jsonl");
    std::string line, last;
    // The last line may be half-written while the run is alive: keep the last that parses.
    nlohmann::json last_good;
    while (std::getline(in, line)) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.is_object()) last_good = std::move(j);
    }
    if (last_good.is_object()) {
      const double tps = JsonNumber(last_good, "tokens_per_s");
      const double mfu = JsonNumber(last_good, "mfu");
      const double energy = JsonNumber(last_good, "energy_kwh");
      if (std::isfinite(tps)) run->tokens_per_s = tps;
      if (std::isfinite(mfu)) run->mfu = mfu;
      if (std::isfinite(energy)) run->energy_kwh = energy;
    }
  }
  auto text = ReadFileToString(run_dir + "/summary.json");
  if (!text.ok()) return Status::OK();
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::Corruption(run_dir + "/summary.json: not a JSON object");
  const double energy = JsonNumber(j, "energy_kwh");
  if (std::isfinite(energy)) run->energy_kwh = energy;
  const double tokens = JsonNumber(j, "tokens"), wall = JsonNumber(j, "wall_time_s");
  if (!std::isfinite(run->tokens_per_s) && tokens > 0 && wall > 0) run->tokens_per_s = tokens / wall;
  return Status::OK();
}

}  // namespace isoflop::report
