// LoadRunsCsv, LoadFitJson, LoadPlanJson: the CLI's inputs. Errors name file, line, column.
//
// The runs CSV carries more than the fitter's (state, attempts, tokens/s, MFU, energy), so
// the report reads it itself; the column rules match the fitter's (docs/fit.md): a header,
// names case-insensitive, unknown columns ignored.
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "isoflop/report.h"

namespace isoflop::report {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

// RFC 4180 fields: commas, "quoted, fields" and "" escapes; one record per line.
std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"')
        cur += '"', ++i;
      else if (c == '"')
        quoted = false;
      else
        cur += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(Trim(cur));
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(Trim(cur));
  return out;
}

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double JsonNumber(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return kUnknown;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return kUnknown;
  return it->get<double>();
}

Law JsonLaw(const nlohmann::json& j) {
  return Law{JsonNumber(j, "E"), JsonNumber(j, "A"), JsonNumber(j, "B"), JsonNumber(j, "alpha"),
             JsonNumber(j, "beta")};
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
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  std::istringstream in(*text);
  std::string line;
  int line_no = 0;
  std::vector<std::string> header;
  while (std::getline(in, line)) {
    ++line_no;
    if (!Trim(line).empty()) {
      header = SplitCsv(line);
      break;
    }
  }
  if (header.empty()) return Status::InvalidArgument(path + ": empty file (expected a header line)");
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < header.size(); ++i) col.emplace(Lower(header[i]), i);
  // --columns: a canonical name read from another header (the fitter's syntax, docs/fit.md).
  for (const auto& [canonical, name] : options.columns) {
    auto it = col.find(Lower(Trim(name)));
    if (it == col.end()) {
      return Status::InvalidArgument(path + ":" + std::to_string(line_no) + ": --columns " + canonical + "=" +
                                     name + ": no column '" + name + "' in the header");
    }
    col[Lower(Trim(canonical))] = it->second;
  }
  std::vector<std::pair<size_t, std::string>> filters;
  for (const auto& [name, value] : options.where) {
    auto it = col.find(Lower(Trim(name)));
    if (it == col.end()) {
      return Status::InvalidArgument(path + ":" + std::to_string(line_no) + ": --where " + name + "=" +
                                     value + ": no column '" + name + "' in the header");
    }
    filters.emplace_back(it->second, Trim(value));
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
  const int c_attempts = find({"attempts"});
  const int c_tps = find({"tokens_per_s"});
  const int c_mfu = find({"mfu"});
  const int c_energy = find({"energy_kwh"});
  const int c_run_dir = find({"run_dir"});

  std::vector<RunRecord> runs;
  while (std::getline(in, line)) {
    ++line_no;
    if (Trim(line).empty()) continue;
    const std::vector<std::string> f = SplitCsv(line);
    bool keep = true;
    for (const auto& [c, value] : filters) keep &= c < f.size() && f[c] == value;
    if (!keep) continue;
    const std::string where = path + ":" + std::to_string(line_no);
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
    r.id = c_id >= 0 ? cell(c_id) : "row" + std::to_string(line_no);
    if (c_state >= 0 && !cell(c_state).empty()) {
      auto st = ParseRunState(cell(c_state));
      if (!st.ok()) return st.status().WithContext(where + ": column '" + header[c_state] + "'");
      r.state = *st;
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

StatusOr<FitInfo> LoadFitJson(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseFitJson(*text, path);
}

StatusOr<PlanInfo> LoadPlanJson(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParsePlanJson(*text, path);
}

StatusOr<FitInfo> ParseFitJson(const std::string& text, const std::string& path) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument(path + ": not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument(path + ": expected a JSON object");
  // `isoflop fit --method all` nests one object per method; take approach3's, else the first with a law.
  const nlohmann::json* root = &j;
  if (!j.contains("law")) {
    root = nullptr;
    for (const char* m : {"approach3", "fit", "result"})
      if (j.contains(m) && j[m].is_object() && j[m].contains("law")) root = &j[m];
    if (!root)
      for (auto it = j.begin(); it != j.end(); ++it)
        if (it->is_object() && it->contains("law")) {
          root = &*it;
          break;
        }
    if (!root)
      return Status::InvalidArgument(path + ": no \"law\" object (expected the output of isoflop fit)");
  }
  const nlohmann::json& r = *root;
  FitInfo fit;
  fit.method = r.value("method", j.value("method", std::string()));
  fit.law = JsonLaw(r["law"]);
  if (!fit.law.IsSet())
    return Status::InvalidArgument(path + ": field 'law' needs positive finite E, A, B, alpha, beta");
  fit.objective = JsonNumber(r, "objective");
  if (r.contains("n_points") && r["n_points"].is_number()) fit.n_points = r["n_points"].get<int>();
  if (r.contains("ci") && r["ci"].is_object()) {
    for (auto it = r["ci"].begin(); it != r["ci"].end(); ++it) {
      if (it->is_array() && it->size() == 2 && (*it)[0].is_number() && (*it)[1].is_number())
        fit.ci[it.key()] = Interval{(*it)[0].get<double>(), (*it)[1].get<double>()};
    }
  }
  // Bootstrap refits: "bootstrap": [{E, A, B, alpha, beta}, ...] (the key the planner reads too),
  // "bootstrap": {"laws": [...]}, or "bootstrap_laws": [...].
  const nlohmann::json* boots = nullptr;
  if (r.contains("bootstrap_laws"))
    boots = &r["bootstrap_laws"];
  else if (r.contains("bootstrap") && r["bootstrap"].is_array())
    boots = &r["bootstrap"];
  else if (r.contains("bootstrap") && r["bootstrap"].is_object() && r["bootstrap"].contains("laws"))
    boots = &r["bootstrap"]["laws"];
  if (boots && boots->is_array())
    for (const auto& b : *boots) fit.bootstrap_laws.push_back(JsonLaw(b.contains("law") ? b["law"] : b));
  // Per-budget parabolas (Approach 2), when the fitter wrote them.
  const nlohmann::json* parabolas = nullptr;
  for (const nlohmann::json* src : std::initializer_list<const nlohmann::json*>{&r, &j}) {
    if (src->contains("parabolas"))
      parabolas = &(*src)["parabolas"];
    else if (src->contains("approach2") && (*src)["approach2"].is_object() &&
             (*src)["approach2"].contains("parabolas"))
      parabolas = &(*src)["approach2"]["parabolas"];
    if (parabolas) break;
  }
  if (parabolas && parabolas->is_array()) {
    for (const auto& p : *parabolas) {
      BudgetParabola bp;
      bp.flops = JsonNumber(p, "budget_flops");
      if (!std::isfinite(bp.flops)) bp.flops = JsonNumber(p, "flops");
      bp.c0 = JsonNumber(p, "c0"), bp.c1 = JsonNumber(p, "c1"), bp.c2 = JsonNumber(p, "c2");
      bp.n_opt = JsonNumber(p, "params_opt");
      if (!std::isfinite(bp.n_opt)) bp.n_opt = JsonNumber(p, "n_opt");
      bp.loss_min = JsonNumber(p, "loss_at_min");
      if (!std::isfinite(bp.loss_min)) bp.loss_min = JsonNumber(p, "loss_min");
      if (p.contains("n_points") && p["n_points"].is_number()) bp.n_points = p["n_points"].get<int>();
      if (!(std::isfinite(bp.flops) && std::isfinite(bp.c0) && std::isfinite(bp.c1) && bp.c2 > 0)) continue;
      if (!std::isfinite(bp.n_opt)) bp.n_opt = std::exp(-bp.c1 / (2 * bp.c2));
      if (!std::isfinite(bp.loss_min)) {
        const double x = std::log(bp.n_opt);
        bp.loss_min = bp.c0 + bp.c1 * x + bp.c2 * x * x;
      }
      fit.parabolas.push_back(bp);
    }
  }
  for (const char* key : {"dropped_run_ids", "dropped"}) {
    if (r.contains(key) && r[key].is_array())
      for (const auto& d : r[key])
        if (d.is_string()) fit.dropped_run_ids.push_back(d.get<std::string>());
  }
  return fit;
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
  auto text = ReadFile(run_dir + "/summary.json");
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
