// `isoflop status` for people: StatusReport::ToText. The JSON (`--json`, the HTTP API) is
// StatusReport::ToJson in sweep.cc; this file only renders what GetStatus read. Plain text, no
// colour codes, so it reads the same in a terminal, a pipe or a log file.
#include <cmath>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>

#include "isoflop/orchestrator.h"
#include "sweep_internal.h"

namespace isoflop::orchestrator {

using nlohmann::json;

namespace {

std::string Num(double v) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// "45s", "3m05s", "2h10m", "3d04h".
std::string Duration(double s) {
  if (!std::isfinite(s) || s < 0) return "-";
  char buf[32];
  const long long t = std::llround(s);
  if (t < 60) {
    std::snprintf(buf, sizeof buf, "%llds", t);
  } else if (t < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", t / 60, t % 60);
  } else if (t < 86400) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", t / 3600, (t % 3600) / 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", t / 86400, (t % 86400) / 3600);
  }
  return buf;
}

bool IsFinal(const std::string& state) {
  return state == "done" || state == "failed" || state == "diverged" || state == "bad_config" ||
         state == "cancelled";
}

bool IsInterval(const json& v) {
  return v.is_array() && v.size() == 2 && v[0].is_number() && v[1].is_number();
}

std::string Interval(const json& v) {
  if (!IsInterval(v)) return "";
  return "[" + Num(v[0].get<double>()) + ", " + Num(v[1].get<double>()) + "]";
}

double Number(const json& j, const char* key) {
  if (!j.is_object()) return NAN;
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : NAN;
}

// A law the planner can use: every coefficient finite, A, B > 0 and both exponents > 0
// (L = E + A/N^alpha + B/D^beta falls with N and D; Hoffmann et al. 2022, eq. 2).
std::string LawProblem(const json& law) {
  for (const char* k : {"E", "A", "B", "alpha", "beta"}) {
    if (!std::isfinite(Number(law, k))) return std::string(k) + " is not a finite number";
  }
  for (const char* k : {"A", "B", "alpha", "beta"}) {
    if (!(Number(law, k) > 0)) return std::string(k) + " = " + Num(Number(law, k)) + " is not positive";
  }
  return "";
}

// Why a run needs a person's attention, or "" when it does not.
std::string FlagReason(const RunStatus& r) {
  if (r.state == "failed" || r.state == "diverged" || r.state == "bad_config") {
    return r.reason.empty() ? r.state : r.reason;
  }
  if (r.state == "cancelled" && r.reason != "cancelled by user") return r.reason;
  if (!IsFinal(r.state) && !r.reason.empty()) return r.reason;  // retrying, or a launch problem
  if (r.corrupt_lines > 0) {
    return std::to_string(r.corrupt_lines) + " unreadable line(s) in " + r.run_dir + "/metrics.jsonl";
  }
  return "";
}

void RenderRuns(const StatusReport& report, std::ostringstream& out) {
  char line[512];
  std::snprintf(line, sizeof line, "%-30s %-11s %3s %8s %5s %9s %10s %8s\n", "RUN", "STATE", "TRY", "STEP",
                "DONE", "LOSS", "TOKENS/S", "ETA");
  out << line;
  for (const RunStatus& r : report.runs) {
    std::string loss = r.final_eval_loss   ? Num(*r.final_eval_loss)
                       : r.last_train_loss ? "~" + Num(*r.last_train_loss)
                                           : "-";
    std::string step = r.last_step >= 0 ? std::to_string(r.last_step) : "-";
    std::string done = "-";
    if (r.state == "done") {
      done = "100%";
    } else if (!IsFinal(r.state) && r.tokens_done >= 0 && r.tokens > 0) {
      done = std::to_string(static_cast<int>(std::min(100.0, 100.0 * r.tokens_done / r.tokens))) + "%";
    }
    std::string tps = r.tokens_per_s && !IsFinal(r.state) ? Num(*r.tokens_per_s) : "-";
    std::string eta = r.eta_s && !IsFinal(r.state) ? Duration(*r.eta_s) : "-";
    std::string name = r.name.size() > 30 ? r.name.substr(0, 27) + "..." : r.name;
    std::snprintf(line, sizeof line, "%-30s %-11s %3d %8s %5s %9s %10s %8s\n", name.c_str(), r.state.c_str(),
                  r.attempt, step.c_str(), done.c_str(), loss.c_str(), tps.c_str(), eta.c_str());
    out << line;
  }
  if (static_cast<int>(report.runs.size()) < report.runs_total) {
    out << "(" << report.runs.size() << " of " << report.runs_total
        << " runs listed: in flight and the most recently finished; --all lists every run)\n";
  }
}

void RenderLaw(const json& fit, const json& narrowing, std::ostringstream& out) {
  if (fit.is_null() || fit.is_discarded()) {
    out << "Law: no fit yet (the daemon fits once 5 runs are done)\n";
    return;
  }
  const json& ci = fit.contains("ci") && fit["ci"].is_object() ? fit["ci"] : json::object();
  const int n = fit.value("n_points", 0);
  const int resamples = fit.value("bootstrap_resamples", 0);
  if (!fit.contains("law") || !fit["law"].is_object()) {
    out << "Law: the latest fit (" << n << " runs) has no law";
    if (fit.contains("approach3_error") && fit["approach3_error"].is_string())
      out << ": " << fit["approach3_error"].get<std::string>();
    out << "\n";
    return;
  }
  const json& law = fit["law"];
  const std::string problem = LawProblem(law);
  out << "Law L(N, D) = E + A/N^alpha + B/D^beta (Hoffmann et al. 2022, eq. 2), fitted on " << n << " runs";
  if (resamples > 0) out << "; 95% bootstrap intervals from " << resamples << " resamples";
  out << ":\n";
  if (!problem.empty()) {
    out << "  FLAGGED: not a usable law (" << problem << "); not used for planning\n";
  }
  char line[256];
  for (const char* k : {"E", "A", "B", "alpha", "beta"}) {
    const std::string iv = ci.contains(k) ? Interval(ci[k]) : "";
    std::snprintf(line, sizeof line, "  %-6s %10s%s%s\n", k, Num(Number(law, k)).c_str(),
                  iv.empty() ? "" : "  ", iv.c_str());
    out << line;
  }
  if (fit.contains("allocation") && fit["allocation"].is_object() && problem.empty()) {
    const json& alloc = fit["allocation"];
    // N_opt = G (C/6)^a, D_opt = G^-1 (C/6)^b (Hoffmann et al. 2022, eq. 4).
    out << "  N_opt ∝ C^a, a = " << Num(Number(alloc, "a"));
    if (ci.contains("a")) out << " " << Interval(ci["a"]);
    out << "; D_opt ∝ C^b, b = " << Num(Number(alloc, "b"));
    if (ci.contains("b")) out << " " << Interval(ci["b"]);
    out << "\n";
  }
  if (narrowing.is_object() && narrowing.contains("error")) {
    out << "  narrowing: " << narrowing["error"].dump() << "\n";
  } else if (narrowing.is_object()) {
    std::string parts;
    for (const auto& [name, v] : narrowing.items()) {
      if (!v.is_object()) continue;
      const double prev = Number(v, "width_prev"), now = Number(v, "width_now");
      if (!(prev > 0) || !(now >= 0) || !std::isfinite(prev) || !std::isfinite(now)) continue;
      const double ratio = now / prev;
      char buf[96];
      if (ratio <= 1) {
        std::snprintf(buf, sizeof buf, "%s %.0f%% narrower", name.c_str(), 100 * (1 - ratio));
      } else {
        std::snprintf(buf, sizeof buf, "%s %.3gx wider", name.c_str(), ratio);
      }
      parts += (parts.empty() ? "" : ", ") + std::string(buf);
    }
    if (!parts.empty()) {
      out << "  intervals since the previous fit (" << narrowing.value("n_points_prev", 0) << " -> "
          << narrowing.value("n_points_now", 0) << " runs): " << parts << "\n";
    }
  }
}

void RenderPlan(const json& plan, std::ostringstream& out) {
  if (plan.is_null() || plan.is_discarded() || !plan.is_object()) return;
  const double target = Number(plan, "target_budget_flops");
  out << "Plan for C = " << Num(target) << " FLOPs: ";
  if (plan.contains("error") && plan["error"].is_string()) {
    out << "none (" << plan["error"].get<std::string>() << ")\n";
    return;
  }
  out << "N_opt = " << Num(Number(plan, "params_opt"));
  if (plan.contains("params_opt_interval")) out << " " << Interval(plan["params_opt_interval"]);
  out << " params, D_opt = " << Num(Number(plan, "tokens_opt"));
  if (plan.contains("tokens_opt_interval")) out << " " << Interval(plan["tokens_opt_interval"]);
  out << " tokens, predicted loss " << Num(Number(plan, "loss_pred")) << "\n";
  if (plan.contains("shape") && plan["shape"].is_object()) {
    const json& s = plan["shape"];
    out << "  shape: " << s.value("layers", 0) << " layers, d_model " << s.value("d_model", 0) << ", "
        << s.value("heads", 0) << " heads, ffn " << s.value("ffn", 0) << ", "
        << (s.contains("mlp") && s["mlp"].is_string() ? s["mlp"].get<std::string>() : "") << " ("
        << Num(Number(s, "params_non_embedding")) << " non-embedding params)\n";
  }
}

}  // namespace

std::string StatusReport::ToText() const {
  std::ostringstream out;
  out << runs_total << " runs:";
  bool first = true;
  for (const char* state : {"done", "running", "queued", "submitting", "pending", "failed", "diverged",
                            "bad_config", "cancelled"}) {
    auto it = counts.find(state);
    if (it == counts.end() || it->second == 0) continue;
    out << (first ? " " : ", ") << it->second << " " << state;
    first = false;
  }
  for (const auto& [state, n] : counts) {  // a state this build does not know, if any
    bool known = false;
    for (const char* s : {"done", "running", "queued", "submitting", "pending", "failed", "diverged",
                          "bad_config", "cancelled"})
      known |= state == s;
    if (!known && n > 0) out << (first ? " " : ", ") << n << " " << state, first = false;
  }
  out << "\n";
  if (!runs.empty()) RenderRuns(*this, out);
  out << "\n";
  RenderLaw(json::parse(fit_json, nullptr, false), json::parse(narrowing_json, nullptr, false), out);
  // The daemon stores a failed or degenerate refit flagged, never as the current law (refit.cc).
  if (!fit_error.empty()) out << "  latest refit FLAGGED, not used (the law above stays current): " << fit_error << "\n";
  RenderPlan(json::parse(plan_json, nullptr, false), out);
  std::vector<std::pair<const RunStatus*, std::string>> flagged;
  for (const RunStatus& r : runs) {
    std::string why = FlagReason(r);
    if (!why.empty()) flagged.emplace_back(&r, std::move(why));
  }
  if (!cluster_problems.empty()) {
    char when[64] = "";
    const std::time_t at = static_cast<std::time_t>(cluster_checked_at);
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::localtime(&at));
    out << "\nCluster (as the daemon saw it at " << when << "):\n";
    for (const std::string& p : cluster_problems) out << "  " << p << "\n";
  }
  if (!flagged.empty()) {
    out << "\nFlagged runs (" << flagged.size() << "):\n";
    for (const auto& [r, why] : flagged)
      out << "  " << r->sweep << "/" << r->name << " (" << r->state << "): " << why << "\n";
  }
  return out.str();
}

}  // namespace isoflop::orchestrator
