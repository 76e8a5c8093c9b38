// Sweep spec parsing and expansion into runs. Every error names "file:line: field: problem"
// (yaml-cpp's marks are 0-based; users count from 1).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "isoflop/orchestrator.h"
#include "sweep_internal.h"

namespace isoflop::orchestrator {
namespace {

namespace fs = std::filesystem;

class SpecReader {
 public:
  explicit SpecReader(std::string path) : path_(std::move(path)) {}

  Status Error(const YAML::Node& node, const std::string& field, const std::string& problem) const {
    int line = node.IsDefined() ? node.Mark().line + 1 : 0;
    return Status::InvalidArgument(path_ + ":" + std::to_string(line) + ": " + field + ": " + problem);
  }

  // Rejects keys the spec does not define (a typo would otherwise be silently ignored).
  Status CheckKeys(const YAML::Node& map, const std::string& where,
                   const std::set<std::string>& allowed) const {
    if (!map.IsMap()) return Error(map, where, "expected a mapping");
    for (const auto& kv : map) {
      std::string key = kv.first.as<std::string>();
      if (!allowed.count(key)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        return Error(kv.first, where.empty() ? key : where + "." + key,
                     "unknown key (expected one of: " + list + ")");
      }
    }
    return Status::OK();
  }

  Status String(const YAML::Node& node, const std::string& field, std::string* out) const {
    if (!node.IsDefined()) return Status::OK();
    if (!node.IsScalar()) return Error(node, field, "expected a string");
    *out = node.as<std::string>();
    return Status::OK();
  }

  Status Number(const YAML::Node& node, const std::string& field, double* out, double min_exclusive) const {
    if (!node.IsDefined()) return Status::OK();
    double v = 0;
    if (!node.IsScalar() || !YAML::convert<double>::decode(node, v) || !std::isfinite(v)) {
      return Error(node, field,
                   "expected a number, got '" + (node.IsScalar() ? node.Scalar() : "a collection") + "'");
    }
    if (!(v > min_exclusive)) {
      return Error(node, field, "must be > " + FormatNumber(min_exclusive) + ", got " + node.Scalar());
    }
    *out = v;
    return Status::OK();
  }

  Status Int(const YAML::Node& node, const std::string& field, int* out, int min_inclusive) const {
    if (!node.IsDefined()) return Status::OK();
    long long v = 0;
    if (!node.IsScalar() || !YAML::convert<long long>::decode(node, v)) {
      return Error(node, field,
                   "expected an integer, got '" + (node.IsScalar() ? node.Scalar() : "a collection") + "'");
    }
    if (v < min_inclusive || v > 1'000'000'000) {
      return Error(node, field, "must be >= " + std::to_string(min_inclusive) + ", got " + node.Scalar());
    }
    *out = static_cast<int>(v);
    return Status::OK();
  }

  Status Bool(const YAML::Node& node, const std::string& field, bool* out) const {
    if (!node.IsDefined()) return Status::OK();
    bool v = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, v))
      return Error(node, field, "expected true or false");
    *out = v;
    return Status::OK();
  }

  std::string Resolve(const std::string& p) const {
    if (p.empty() || fs::path(p).is_absolute()) return p;
    fs::path base = fs::path(path_).parent_path();
    return fs::weakly_canonical(fs::absolute(base / p)).string();
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool SafeName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return s != "." && s != "..";
}

Status ParseShape(const SpecReader& r, const YAML::Node& node, const std::string& field, ModelShape* shape) {
  ISOFLOP_RETURN_IF_ERROR(
      r.CheckKeys(node, field, {"name", "layers", "d_model", "heads", "kv_heads", "ffn", "mlp"}));
  for (const char* required : {"layers", "d_model", "heads"}) {
    if (!node[required].IsDefined()) return r.Error(node, field + "." + required, "missing");
  }
  ISOFLOP_RETURN_IF_ERROR(r.Int(node["layers"], field + ".layers", &shape->layers, 1));
  ISOFLOP_RETURN_IF_ERROR(r.Int(node["d_model"], field + ".d_model", &shape->d_model, 1));
  ISOFLOP_RETURN_IF_ERROR(r.Int(node["heads"], field + ".heads", &shape->heads, 1));
  ISOFLOP_RETURN_IF_ERROR(r.Int(node["kv_heads"], field + ".kv_heads", &shape->kv_heads, 0));
  ISOFLOP_RETURN_IF_ERROR(r.Int(node["ffn"], field + ".ffn", &shape->ffn, 0));
  std::string mlp = "gelu";
  ISOFLOP_RETURN_IF_ERROR(r.String(node["mlp"], field + ".mlp", &mlp));
  ISOFLOP_RETURN_IF_ERROR(r.String(node["name"], field + ".name", &shape->name));
  auto parsed_mlp = ParseMlp(mlp);
  if (!parsed_mlp.ok()) return r.Error(node["mlp"], field + ".mlp", "expected gelu or swiglu, got '" + mlp + "'");
  shape->mlp = *parsed_mlp;
  if (shape->d_model % shape->heads != 0) {
    return r.Error(node["heads"], field + ".heads",
                   "d_model (" + std::to_string(shape->d_model) + ") must be divisible by heads (" +
                       std::to_string(shape->heads) + ")");
  }
  if (shape->kv_heads != 0 && shape->heads % shape->kv_heads != 0) {
    return r.Error(node["kv_heads"], field + ".kv_heads", "heads must be divisible by kv_heads");
  }
  if (shape->name.empty())
    shape->name = "L" + std::to_string(shape->layers) + "-d" + std::to_string(shape->d_model);
  if (!SafeName(shape->name)) {
    return r.Error(node["name"], field + ".name", "use letters, digits, '-', '_' or '.' (at most 64)");
  }
  return Status::OK();
}

}  // namespace

Status CheckSlurmPaths(const SweepSpec& spec, int line) {
  // sbatch(1), "filename pattern": Slurm replaces %j, %x, ... in --output, and a backslash anywhere
  // turns all replacement off; the launch's output file is RUN_DIR/.isoflop/slurm-%j.out, so either
  // character in out_dir makes every run fail at launch.
  if (spec.out_dir.find_first_of("%\\") == std::string::npos) return Status::OK();
  return Status::InvalidArgument(spec.path + (line > 0 ? ":" + std::to_string(line) : "") + ": out_dir: '" +
                                 spec.out_dir +
                                 "' contains '%' or '\\', which Slurm expands in output file names "
                                 "(sbatch --output filename pattern); choose a directory without them");
}

std::string FormatNumber(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

StatusOr<SweepSpec> ParseSweepSpec(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(path + ": cannot read the sweep spec");
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseSweepSpecText(ss.str(), fs::absolute(path).string());
}

StatusOr<SweepSpec> ParseSweepSpecText(const std::string& text, const std::string& path) {
  SpecReader r(path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(path + ":" + std::to_string(e.mark.line + 1) + ": (yaml): " + e.msg);
  }
  if (!root.IsMap()) return Status::InvalidArgument(path + ":1: (root): expected a mapping of spec keys");
  SweepSpec spec;
  spec.path = path;
  spec.yaml = text;
  try {
    ISOFLOP_RETURN_IF_ERROR(r.CheckKeys(root, "",
                                        {"name", "backend", "out_dir", "data", "budgets_flops", "models",
                                         "auto_sizes", "train", "trainer_command", "device", "resources",
                                         "retry", "slurm", "local", "max_in_flight", "target_budget_flops"}));
    for (const char* required : {"name", "out_dir", "data", "budgets_flops"}) {
      if (!root[required].IsDefined()) return r.Error(root, required, "missing (required)");
    }
    ISOFLOP_RETURN_IF_ERROR(r.String(root["name"], "name", &spec.name));
    if (!SafeName(spec.name)) {
      return r.Error(root["name"], "name",
                     "use letters, digits, '-', '_' or '.' (at most 64), got '" + spec.name + "'");
    }
    ISOFLOP_RETURN_IF_ERROR(r.String(root["backend"], "backend", &spec.backend));
    if (spec.backend != "local" && spec.backend != "slurm") {
      return r.Error(root["backend"], "backend", "expected local or slurm, got '" + spec.backend + "'");
    }
    ISOFLOP_RETURN_IF_ERROR(r.String(root["out_dir"], "out_dir", &spec.out_dir));
    spec.out_dir = r.Resolve(spec.out_dir);
    ISOFLOP_RETURN_IF_ERROR(r.String(root["data"], "data", &spec.data));
    spec.data = r.Resolve(spec.data);

    const YAML::Node budgets = root["budgets_flops"];
    if (!budgets.IsSequence() || budgets.size() == 0) {
      return r.Error(budgets, "budgets_flops", "expected a non-empty list of FLOP budgets");
    }
    std::map<std::string, size_t> budget_names;  // run-name prefix -> index of the budget
    for (size_t i = 0; i < budgets.size(); ++i) {
      double c = 0;
      const std::string field = "budgets_flops[" + std::to_string(i) + "]";
      ISOFLOP_RETURN_IF_ERROR(r.Number(budgets[i], field, &c, 0));
      // Run names carry the budget to 3 significant digits (RunName); two budgets that agree there
      // would give runs of the same name, and the second would be taken for the first.
      const std::string prefix = RunName(c, ModelShape{});
      if (auto [it, fresh] = budget_names.emplace(prefix, i); !fresh) {
        const std::string other = "budgets_flops[" + std::to_string(it->second) + "]";
        return r.Error(
            budgets[i], field,
            c == spec.budgets_flops[it->second]
                ? FormatNumber(c) + " is listed twice (also " + other + ")"
                : FormatNumber(c) + " and " + other + " (" + FormatNumber(spec.budgets_flops[it->second]) +
                      ") agree to 3 significant digits, so their runs would share the names " +
                      prefix.substr(0, prefix.size() - 1) + "-*; make them differ in the first 3 digits");
      }
      spec.budgets_flops.push_back(c);
    }

    const YAML::Node models = root["models"];
    const YAML::Node autos = root["auto_sizes"];
    if (models.IsDefined() == autos.IsDefined()) {
      return r.Error(root, "models", "give exactly one of `models` (explicit shapes) or `auto_sizes`");
    }
    if (models.IsDefined()) {
      if (!models.IsSequence() || models.size() == 0)
        return r.Error(models, "models", "expected a list of shapes");
      std::set<std::string> names;
      for (size_t i = 0; i < models.size(); ++i) {
        ModelShape shape;
        std::string field = "models[" + std::to_string(i) + "]";
        ISOFLOP_RETURN_IF_ERROR(ParseShape(r, models[i], field, &shape));
        if (!names.insert(shape.name).second)
          return r.Error(models[i], field + ".name", "duplicate '" + shape.name + "'");
        spec.models.push_back(shape);
      }
    } else {
      spec.auto_sizes.enabled = true;
      ISOFLOP_RETURN_IF_ERROR(r.CheckKeys(autos, "auto_sizes", {"count", "factor"}));
      ISOFLOP_RETURN_IF_ERROR(r.Int(autos["count"], "auto_sizes.count", &spec.auto_sizes.count, 2));
      ISOFLOP_RETURN_IF_ERROR(r.Number(autos["factor"], "auto_sizes.factor", &spec.auto_sizes.factor, 1.0));
    }

    if (const YAML::Node train = root["train"]; train.IsDefined()) {
      if (!train.IsMap()) return r.Error(train, "train", "expected a flat mapping of trainer settings");
      for (const auto& kv : train) {
        std::string key = kv.first.as<std::string>();
        if (!kv.second.IsScalar())
          return r.Error(kv.second, "train." + key, "expected a scalar (run configs are flat)");
        if (!SafeName(key)) return r.Error(kv.first, "train." + key, "not a valid key");
        std::string value = kv.second.Scalar();
        if (value.find('\n') != std::string::npos)
          return r.Error(kv.second, "train." + key, "newlines are not allowed");
        spec.train[key] = value;
      }
    }
    if (const YAML::Node cmd = root["trainer_command"]; cmd.IsDefined()) {
      if (!cmd.IsSequence() || cmd.size() == 0) {
        return r.Error(cmd, "trainer_command", "expected a list: [program, args...] (no shell is involved)");
      }
      for (size_t i = 0; i < cmd.size(); ++i) {
        if (!cmd[i].IsScalar())
          return r.Error(cmd[i], "trainer_command[" + std::to_string(i) + "]", "expected a string");
        spec.trainer_command.push_back(cmd[i].Scalar());
      }
      // A program given as a relative path is relative to the spec, like every other path.
      if (spec.trainer_command[0].find('/') != std::string::npos) {
        spec.trainer_command[0] = r.Resolve(spec.trainer_command[0]);
      }
    }
    ISOFLOP_RETURN_IF_ERROR(r.String(root["device"], "device", &spec.device));
    if (const YAML::Node res = root["resources"]; res.IsDefined()) {
      ISOFLOP_RETURN_IF_ERROR(r.CheckKeys(res, "resources", {"cpus", "gpus", "mem_mb", "time_limit_min"}));
      ISOFLOP_RETURN_IF_ERROR(r.Int(res["cpus"], "resources.cpus", &spec.resources.cpus, 1));
      ISOFLOP_RETURN_IF_ERROR(r.Int(res["gpus"], "resources.gpus", &spec.resources.gpus, 0));
      ISOFLOP_RETURN_IF_ERROR(r.Int(res["mem_mb"], "resources.mem_mb", &spec.resources.mem_mb, 1));
      ISOFLOP_RETURN_IF_ERROR(
          r.Int(res["time_limit_min"], "resources.time_limit_min", &spec.resources.time_limit_min, 1));
    }
    if (const YAML::Node retry = root["retry"]; retry.IsDefined()) {
      ISOFLOP_RETURN_IF_ERROR(r.CheckKeys(retry, "retry", {"max_attempts", "backoff_s", "backoff_max_s"}));
      ISOFLOP_RETURN_IF_ERROR(
          r.Int(retry["max_attempts"], "retry.max_attempts", &spec.retry.max_attempts, 1));
      ISOFLOP_RETURN_IF_ERROR(
          r.Number(retry["backoff_s"], "retry.backoff_s", &spec.retry.backoff_s, -1e-300));
      ISOFLOP_RETURN_IF_ERROR(
          r.Number(retry["backoff_max_s"], "retry.backoff_max_s", &spec.retry.backoff_max_s, -1e-300));
    }
    if (const YAML::Node slurm = root["slurm"]; slurm.IsDefined()) {
      ISOFLOP_RETURN_IF_ERROR(r.CheckKeys(slurm, "slurm", {"partition", "signal", "requeue", "conf"}));
      ISOFLOP_RETURN_IF_ERROR(r.String(slurm["partition"], "slurm.partition", &spec.slurm.partition));
      ISOFLOP_RETURN_IF_ERROR(r.String(slurm["signal"], "slurm.signal", &spec.slurm.signal));
      ISOFLOP_RETURN_IF_ERROR(r.Bool(slurm["requeue"], "slurm.requeue", &spec.slurm.requeue));
      ISOFLOP_RETURN_IF_ERROR(r.String(slurm["conf"], "slurm.conf", &spec.slurm.conf));
      spec.slurm.conf = r.Resolve(spec.slurm.conf);
    }
    if (const YAML::Node local = root["local"]; local.IsDefined()) {
      ISOFLOP_RETURN_IF_ERROR(r.CheckKeys(local, "local", {"slots", "gpus"}));
      ISOFLOP_RETURN_IF_ERROR(r.Int(local["slots"], "local.slots", &spec.local_slots, 1));
      if (const YAML::Node gpus = local["gpus"]; gpus.IsDefined()) {
        if (!gpus.IsSequence()) return r.Error(gpus, "local.gpus", "expected a list of GPU ids, e.g. [0, 1]");
        for (size_t i = 0; i < gpus.size(); ++i) {
          const std::string field = "local.gpus[" + std::to_string(i) + "]";
          int id = 0;
          ISOFLOP_RETURN_IF_ERROR(r.Int(gpus[i], field, &id, 0));
          for (int seen : spec.local_gpus) {
            if (seen == id) return r.Error(gpus[i], field, "GPU " + std::to_string(id) + " is listed twice");
          }
          spec.local_gpus.push_back(id);
        }
      }
    }
    // A run that asks for more GPUs than the local backend has could never start: bad input now.
    if (spec.backend == "local" && !spec.local_gpus.empty() &&
        spec.resources.gpus > static_cast<int>(spec.local_gpus.size())) {
      return r.Error(root["resources"]["gpus"], "resources.gpus",
                     std::to_string(spec.resources.gpus) + " GPUs per run, but local.gpus lists only " +
                         std::to_string(spec.local_gpus.size()));
    }
    if (spec.backend == "slurm")
      ISOFLOP_RETURN_IF_ERROR(CheckSlurmPaths(spec, root["out_dir"].Mark().line + 1));
    ISOFLOP_RETURN_IF_ERROR(r.Int(root["max_in_flight"], "max_in_flight", &spec.max_in_flight, 1));
    ISOFLOP_RETURN_IF_ERROR(
        r.Number(root["target_budget_flops"], "target_budget_flops", &spec.target_budget_flops, 0));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(path + ":" + std::to_string(e.mark.line + 1) + ": (yaml): " + e.msg);
  }
  return spec;
}

double NonEmbeddingParams(const ModelShape& s) {
  return AsTrainerBuilds(s).ParamsNonEmbedding();
}

std::string RunName(double budget, const ModelShape& shape) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "C%.3g", budget);
  std::string b = buf;
  b.erase(std::remove(b.begin(), b.end(), '+'), b.end());  // "C1e+13" -> "C1e13"
  return b + "-" + shape.name;
}

std::string ConfigYaml(const std::map<std::string, std::string>& config) {
  std::string out;
  for (const auto& [k, v] : config) {
    // Values are emitted through yaml-cpp so quotes, colons and '#' survive as data.
    YAML::Emitter e;
    e << YAML::DoubleQuoted << v;
    out += k + ": " + e.c_str() + "\n";
  }
  return out;
}

StatusOr<std::vector<PlannedRun>> PlanSweep(const SweepSpec& spec, const std::string& latest_fit_json) {
  std::vector<PlannedRun> runs;
  for (double budget : spec.budgets_flops) {
    std::vector<ModelShape> shapes = spec.models;
    if (spec.auto_sizes.enabled) {
      auto autos = AutoShapes(spec, budget, latest_fit_json);
      if (!autos.ok()) return autos.status();
      shapes = *autos;
    }
    for (const ModelShape& shape : shapes) {
      PlannedRun run;
      run.budget_flops = budget;
      run.shape = shape;
      run.name = RunName(budget, shape);
      run.params = NonEmbeddingParams(shape);
      // C = 6 N D (Kaplan et al. 2020, eq. 2.2; Hoffmann et al. 2022, sec. 3): D = C / (6 N).
      run.tokens = std::floor(budget / (6.0 * run.params));
      if (run.tokens < 1) {
        return Status::InvalidArgument(spec.path + ": budgets_flops: " + FormatNumber(budget) +
                                       " FLOPs is too small for model " + shape.name +
                                       " (N = " + FormatNumber(run.params) + " gives D = C/(6N) < 1 token)");
      }
      // D must be an exact integer in run.yaml and in the trainer's int64 token count: at most 2^53.
      if (!(run.tokens <= kMaxRunTokens)) {
        return Status::InvalidArgument(
            spec.path + ": budgets_flops: " + FormatNumber(budget) + " FLOPs is too large for model " +
            shape.name + " (N = " + FormatNumber(run.params) +
            " gives D = C/(6N) = " + FormatNumber(run.tokens) + " tokens, above 2^53 = 9.007e15)");
      }
      run.config = spec.train;
      run.config["layers"] = std::to_string(shape.layers);
      run.config["d_model"] = std::to_string(shape.d_model);
      run.config["heads"] = std::to_string(shape.heads);
      run.config["kv_heads"] = std::to_string(shape.kv_heads > 0 ? shape.kv_heads : shape.heads);
      run.config["ffn"] = std::to_string(shape.ffn > 0 ? shape.ffn : 4 * shape.d_model);
      run.config["mlp"] = MlpName(shape.mlp);
      run.config["tokens"] = std::to_string(static_cast<long long>(run.tokens));
      runs.push_back(std::move(run));
    }
  }
  return runs;
}

}  // namespace isoflop::orchestrator
