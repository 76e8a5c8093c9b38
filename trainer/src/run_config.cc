// The run config, parameter and FLOP counts, the lr schedule and the exit codes: the
// parts of the trainer that need no libtorch.
//
// The config is flat `key: value` YAML (docs/interfaces.md). It is parsed here by hand
// rather than with yaml-cpp because the trainer must build on a GPU machine that has only
// libtorch, CUDA and NCCL (docs/trainer.md, "Why a hand-written config parser").
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <numbers>
#include <sstream>

#include "isoflop/file_util.h"
#include "isoflop/trainer.h"

namespace isoflop::trainer {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Strips a trailing `# comment` that is not inside quotes, and surrounding quotes.
std::string CleanValue(std::string v) {
  bool in_quote = false;
  char quote = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (in_quote) {
      if (c == quote) in_quote = false;
    } else if (c == '"' || c == '\'') {
      in_quote = true;
      quote = c;
    } else if (c == '#' && (i == 0 || v[i - 1] == ' ' || v[i - 1] == '\t')) {
      v = v.substr(0, i);
      break;
    }
  }
  v = Trim(v);
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
    v = v.substr(1, v.size() - 2);
  }
  return v;
}

bool ParseInt(const std::string& v, int64_t* out) {
  if (v.empty()) return false;
  // Accept 1e6-style and 1_000_000-style integers, common in configs.
  std::string digits;
  for (char c : v)
    if (c != '_') digits += c;
  errno = 0;
  char* end = nullptr;
  long long x = std::strtoll(digits.c_str(), &end, 10);
  if (errno == 0 && end && *end == '\0') {
    *out = x;
    return true;
  }
  double d = std::strtod(digits.c_str(), &end);
  if (end && *end == '\0' && std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18) {
    *out = static_cast<int64_t>(d);
    return true;
  }
  return false;
}

bool ParseDouble(const std::string& v, double* out) {
  if (v.empty()) return false;
  char* end = nullptr;
  errno = 0;
  double d = std::strtod(v.c_str(), &end);
  if (errno != 0 || !end || *end != '\0' || !std::isfinite(d)) return false;
  *out = d;
  return true;
}

bool ParseBool(const std::string& v, bool* out) {
  if (v == "true" || v == "yes" || v == "on" || v == "1") return *out = true, true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return *out = false, true;
  return false;
}

// Upper bounds of the integer settings: far beyond any model trained, and small enough that every
// product the trainer forms (tokens per pass, parameter counts, FLOPs) stays inside int64.
constexpr int64_t kMaxDim = int64_t{1} << 20;  // d_model, ffn, heads, seq_len, micro_batch
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxVocab = int64_t{1} << 31;
constexpr int64_t kMaxCount = int64_t{1} << 53;  // tokens, batch_tokens, steps, intervals

}  // namespace

ModelShape TrainerDefaultShape() {
  ModelShape s;
  s.layers = 2;
  s.d_model = 64;
  s.heads = 4;
  s.seq_len = 64;
  s.mlp = Mlp::kGelu;
  s.norm = Norm::kRmsNorm;
  s.position = isoflop::Position::kRope;
  s.biases = false;
  s.tied_embeddings = true;
  return s;
}

bool IsTrainableShape(const ModelShape& s, std::string* error) {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (s.heads >= 1 && s.d_model % s.heads != 0) return fail("d_model must be a multiple of heads");
  std::string shape_error;
  if (!s.IsValid(&shape_error)) return fail(shape_error);
  if (s.d_model < 2) return fail("d_model must be >= 2");
  if (s.head_dim() % 2 != 0) return fail("d_model / heads must be even (RoPE rotates pairs)");
  if (s.seq_len < 2) return fail("seq_len must be >= 2");
  if (s.position_kind() != isoflop::Position::kRope) return fail("the trainer builds RoPE positions only");
  if (s.has_biases()) return fail("the trainer builds no linear biases");
  if (s.layers > kMaxLayers) return fail("layers must be <= " + std::to_string(kMaxLayers));
  if (s.d_model > kMaxDim || s.heads > kMaxDim || s.ffn > kMaxDim || s.seq_len > kMaxDim) {
    return fail("d_model, heads, ffn and seq_len must each be <= " + std::to_string(kMaxDim));
  }
  if (s.vocab > kMaxVocab) return fail("vocab must be <= " + std::to_string(kMaxVocab));
  return true;
}

namespace {

// a * b * c, or -1 when the product leaves int64 (or a factor is negative).
int64_t CheckedProduct(int64_t a, int64_t b, int64_t c) {
  int64_t ab = 0, abc = 0;
  if (a < 0 || b < 0 || c < 0 || __builtin_mul_overflow(a, b, &ab) || __builtin_mul_overflow(ab, c, &abc))
    return -1;
  return abc;
}

}  // namespace

int64_t RunConfig::accumulation_steps(int world_size) const {
  const int64_t per_pass = CheckedProduct(micro_batch, model.seq_len, world_size);
  return per_pass > 0 ? batch_tokens / per_pass : 0;
}

int64_t RunConfig::steps(int world_size) const {
  (void)world_size;
  // ceil(tokens / batch_tokens) without forming tokens + batch_tokens - 1 (int64 overflow).
  return batch_tokens > 0 ? tokens / batch_tokens + (tokens % batch_tokens != 0 ? 1 : 0) : 0;
}

bool RunConfig::IsValid(std::string* error, int world_size) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (!IsTrainableShape(model, error)) return false;
  if (tokens < 1) return fail("tokens must be >= 1");
  if (micro_batch < 1) return fail("micro_batch must be >= 1");
  if (batch_tokens < 1) return fail("batch_tokens must be >= 1");
  if (tokens > kMaxCount) return fail("tokens must be <= 2^53 (" + std::to_string(kMaxCount) + ")");
  if (batch_tokens > kMaxCount) return fail("batch_tokens must be <= 2^53");
  if (micro_batch > kMaxDim) return fail("micro_batch must be <= " + std::to_string(kMaxDim));
  for (int64_t v :
       {warmup_steps, log_every, eval_every, eval_batches, checkpoint_every, divergence_grace_steps}) {
    if (v > kMaxCount) {
      return fail(
          "warmup_steps, log_every, eval_every, eval_batches, checkpoint_every and "
          "divergence_grace_steps must each be <= 2^53");
    }
  }
  const int64_t per_pass = CheckedProduct(micro_batch, model.seq_len, world_size);
  if (per_pass <= 0 || per_pass > kMaxCount) {
    return fail("micro_batch * seq_len * world_size (" + std::to_string(micro_batch) + " * " +
                std::to_string(model.seq_len) + " * " + std::to_string(world_size) + ") is too large");
  }
  if (batch_tokens % per_pass != 0) {
    return fail("batch_tokens (" + std::to_string(batch_tokens) +
                ") must be a multiple of micro_batch * seq_len * world_size (" + std::to_string(per_pass) +
                ")");
  }
  if (!(lr > 0)) return fail("lr must be > 0");
  if (min_lr_ratio < 0 || min_lr_ratio > 1) return fail("min_lr_ratio must be in [0, 1]");
  if (warmup_steps < 0) return fail("warmup_steps must be >= 0");
  if (decay_fraction < 0 || decay_fraction > 1) return fail("decay_fraction must be in [0, 1]");
  if (weight_decay < 0) return fail("weight_decay must be >= 0");
  if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1) return fail("beta1 and beta2 must be in [0, 1)");
  if (!(adam_eps > 0)) return fail("adam_eps must be > 0");
  if (grad_clip < 0) return fail("grad_clip must be >= 0");
  if (log_every < 1) return fail("log_every must be >= 1");
  if (eval_every < 1) return fail("eval_every must be >= 1");
  if (eval_batches < 0) return fail("eval_batches must be >= 0");
  if (checkpoint_every < 0) return fail("checkpoint_every must be >= 0");
  if (!(divergence_factor > 1)) return fail("divergence_factor must be > 1");
  if (divergence_grace_steps < 0) return fail("divergence_grace_steps must be >= 0");
  if (peak_flops_per_s < 0) return fail("peak_flops_per_s must be >= 0");
  return true;
}

StatusOr<RunConfig> ParseRunConfigText(const std::string& text, const std::string& source_name) {
  RunConfig c;
  using Setter = std::function<bool(const std::string&)>;
  auto i64 = [](int64_t* f) -> Setter { return [f](const std::string& v) { return ParseInt(v, f); }; };
  // Shape fields are int (isoflop/model_shape.h): values beyond its range are refused, not wrapped.
  auto i32 = [](int* f) -> Setter {
    return [f](const std::string& v) {
      int64_t x = 0;
      if (!ParseInt(v, &x) || x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max())
        return false;
      *f = static_cast<int>(x);
      return true;
    };
  };
  auto f64 = [](double* f) -> Setter { return [f](const std::string& v) { return ParseDouble(v, f); }; };
  auto u64 = [](uint64_t* f) -> Setter {
    return [f](const std::string& v) {
      int64_t x;
      if (!ParseInt(v, &x) || x < 0) return false;
      *f = static_cast<uint64_t>(x);
      return true;
    };
  };
  const std::map<std::string, std::pair<Setter, const char*>> keys = {
      {"layers", {i32(&c.model.layers), "an integer"}},
      {"d_model", {i32(&c.model.d_model), "an integer"}},
      {"heads", {i32(&c.model.heads), "an integer"}},
      {"kv_heads", {i32(&c.model.kv_heads), "an integer"}},
      {"ffn", {i32(&c.model.ffn), "an integer"}},
      {"vocab", {i32(&c.model.vocab), "an integer"}},
      {"seq_len", {i32(&c.model.seq_len), "an integer"}},
      {"mlp",
       {[&](const std::string& v) {
          auto mlp = isoflop::ParseMlp(v);
          if (mlp.ok()) c.model.mlp = *mlp;
          return mlp.ok();
        },
        "gelu or swiglu"}},
      {"norm",
       {[&](const std::string& v) {
          auto norm = isoflop::ParseNorm(v);
          if (norm.ok()) c.model.norm = *norm;
          return norm.ok();
        },
        "rmsnorm or layernorm"}},
      {"tied_embeddings",
       {[&](const std::string& v) {
          bool tied = true;
          if (!ParseBool(v, &tied)) return false;
          c.model.tied_embeddings = tied;
          return true;
        },
        "true or false"}},
      {"rope_theta", {f64(&c.model.rope_theta), "a number"}},
      {"tokens", {i64(&c.tokens), "an integer"}},
      {"batch_tokens", {i64(&c.batch_tokens), "an integer"}},
      {"micro_batch", {i64(&c.micro_batch), "an integer"}},
      {"lr", {f64(&c.lr), "a number"}},
      {"min_lr_ratio", {f64(&c.min_lr_ratio), "a number"}},
      {"warmup_steps", {i64(&c.warmup_steps), "an integer"}},
      {"schedule",
       {[&](const std::string& v) {
          if (v == "cosine") return c.schedule = LrScheduleKind::kCosine, true;
          if (v == "wsd") return c.schedule = LrScheduleKind::kWsd, true;
          return false;
        },
        "cosine or wsd"}},
      {"decay_fraction", {f64(&c.decay_fraction), "a number"}},
      {"weight_decay", {f64(&c.weight_decay), "a number"}},
      {"beta1", {f64(&c.beta1), "a number"}},
      {"beta2", {f64(&c.beta2), "a number"}},
      {"adam_eps", {f64(&c.adam_eps), "a number"}},
      {"grad_clip", {f64(&c.grad_clip), "a number"}},
      {"log_every", {i64(&c.log_every), "an integer"}},
      {"eval_every", {i64(&c.eval_every), "an integer"}},
      {"eval_batches", {i64(&c.eval_batches), "an integer"}},
      {"checkpoint_every", {i64(&c.checkpoint_every), "an integer"}},
      {"seed", {u64(&c.seed), "a non-negative integer"}},
      {"divergence_factor", {f64(&c.divergence_factor), "a number"}},
      {"divergence_grace_steps", {i64(&c.divergence_grace_steps), "an integer"}},
      {"peak_flops_per_s", {f64(&c.peak_flops_per_s), "a number"}},
  };
  // Keys other components keep in the same file (the orchestrator's and planner's
  // bookkeeping); accepted and ignored so one file can serve them all.
  const std::map<std::string, int> ignored = {{"name", 0}, {"params", 0}, {"flops", 0}, {"notes", 0}};

  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  std::map<std::string, int> seen;
  while (std::getline(in, line)) {
    ++line_no;
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#' || t == "---") continue;
    std::string where = source_name + ":" + std::to_string(line_no);
    if (line[0] == ' ' || line[0] == '\t') {
      return Status::InvalidArgument(where +
                                     ": nested YAML is not supported; the run config is flat `key: value`");
    }
    size_t colon = t.find(':');
    if (colon == std::string::npos) {
      return Status::InvalidArgument(where + ": expected `key: value`, got `" + t + "`");
    }
    std::string key = Trim(t.substr(0, colon));
    std::string value = CleanValue(t.substr(colon + 1));
    if (value.empty()) {
      return Status::InvalidArgument(
          where + ": key `" + key +
          "` has no value (the run config is flat `key: value`; nested YAML is not supported)");
    }
    if (seen.count(key)) {
      return Status::InvalidArgument(where + ": key `" + key + "` repeats line " + std::to_string(seen[key]));
    }
    seen[key] = line_no;
    if (ignored.count(key)) continue;
    auto it = keys.find(key);
    if (it == keys.end()) {
      return Status::InvalidArgument(where + ": unknown key `" + key +
                                     "` (keys are listed in docs/trainer.md)");
    }
    if (!it->second.first(value)) {
      return Status::InvalidArgument(where + ": key `" + key + "` must be " + it->second.second + ", got `" +
                                     value + "`");
    }
  }
  std::string error;
  if (!c.IsValid(&error)) {
    // Name the line of the first key the message mentions.
    std::string where = source_name;
    for (const auto& [key, line_of_key] : seen) {
      if (error.rfind(key, 0) == 0) {
        where += ":" + std::to_string(line_of_key);
        break;
      }
    }
    return Status::InvalidArgument(where + ": " + error);
  }
  return c;
}

StatusOr<RunConfig> ReadRunConfig(const std::string& path) {
  // A directory, a missing or unreadable file is bad input (exit 2), never an empty config that
  // trains with every default (issue 15, finding 8).
  auto text = ReadFileToString(path);
  if (!text.ok()) return Status::InvalidArgument(text.status().message() + " (the run config, --config)");
  return ParseRunConfigText(*text, path);
}

ParamCounts CountParams(const ModelShape& s) {
  const isoflop::ParamCounts counts = s.Params();
  ParamCounts p;
  p.total = std::llround(counts.total);
  p.embedding = std::llround(counts.embedding);
  p.non_embedding = std::llround(counts.non_embedding);
  return p;
}

FlopsPerToken TrainingFlopsPerToken(const ModelShape& s) {
  FlopsPerToken f;
  // Only the blocks' matrices are matmuls; norm weights cost O(d) per token and are left
  // out, as in Kaplan et al. 2020, table 1.
  f.dense = 6.0 * s.layers * s.MatmulWeightsPerLayer();
  f.output_layer = 6.0 * static_cast<double>(s.d_model) * static_cast<double>(s.vocab);
  f.attention = 12.0 * s.layers * s.heads * s.head_dim() * static_cast<double>(s.seq_len);
  return f;
}

double LearningRateAt(const RunConfig& c, int64_t step, int64_t total_steps) {
  const double min_lr = c.lr * c.min_lr_ratio;
  if (step < c.warmup_steps)
    return c.lr * static_cast<double>(step + 1) / static_cast<double>(c.warmup_steps);
  const double span = static_cast<double>(std::max<int64_t>(1, total_steps - c.warmup_steps));
  const double progress = std::min(1.0, static_cast<double>(step - c.warmup_steps) / span);
  if (c.schedule == LrScheduleKind::kCosine) {
    return min_lr + 0.5 * (c.lr - min_lr) * (1.0 + std::cos(std::numbers::pi * progress));
  }
  // WSD: constant until the last decay_fraction of the steps, then linear to min_lr.
  const int64_t decay_steps = static_cast<int64_t>(std::llround(c.decay_fraction * total_steps));
  const int64_t decay_start = total_steps - decay_steps;
  if (step < decay_start || decay_steps == 0) return c.lr;
  const double t = static_cast<double>(step - decay_start + 1) / static_cast<double>(decay_steps);
  return c.lr + (min_lr - c.lr) * std::min(1.0, t);
}

bool TrainOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (config_path.empty()) return fail("--config is required");
  if (data_dir.empty()) return fail("--data is required");
  if (out_dir.empty()) return fail("--out is required");
  if (device != "cpu" && device != "cuda") return fail("--device must be cpu or cuda, got `" + device + "`");
  if (world_size == 0 || world_size < -1) return fail("--world-size must be >= 1");
  if (rank < -1 || (world_size > 0 && rank >= world_size)) return fail("--rank must be in [0, world_size)");
  if (threads < 0) return fail("--threads must be >= 0");
  if (stop_after_steps < 0) return fail("--stop-after must be >= 0");
  return true;
}

int ExitCodeFor(const StatusOr<TrainSummary>& result) {
  if (!result.ok()) {
    return result.status().code() == Status::Code::kInvalidArgument ? kExitBadInput : kExitFailure;
  }
  switch (result->outcome) {
    case RunOutcome::kDone:
      return kExitDone;
    case RunOutcome::kDiverged:
      return kExitDiverged;
    case RunOutcome::kPreempted:
      return kExitPreempted;
  }
  return kExitFailure;
}

namespace {
const char* OutcomeName(RunOutcome o) {
  switch (o) {
    case RunOutcome::kDone:
      return "done";
    case RunOutcome::kDiverged:
      return "diverged";
    case RunOutcome::kPreempted:
      return "preempted";
  }
  return "unknown";
}
}  // namespace

std::string TrainSummary::BriefReport() const {
  char eval[32] = "not measured";
  if (final_eval_loss >= 0) std::snprintf(eval, sizeof eval, "%.4f", final_eval_loss);
  char buf[512];
  std::snprintf(
      buf, sizeof buf,
      "%s: %lld/%lld steps, %lld tokens, train loss %.4f -> %.4f, eval loss %s, %.0f tok/s, MFU %.2f%%, "
      "%.1f s",
      OutcomeName(outcome), static_cast<long long>(steps), static_cast<long long>(total_steps),
      static_cast<long long>(tokens), first_train_loss, final_train_loss, eval, tokens_per_s, 100.0 * mfu,
      wall_time_s);
  return buf;
}

std::string TrainSummary::FullReport() const {
  std::ostringstream o;
  o << BriefReport() << "\n";
  if (!message.empty()) o << "  reason: " << message << "\n";
  o << "  params: total " << params.total << ", non-embedding " << params.non_embedding << ", embedding "
    << params.embedding << "\n";
  o << "  FLOPs/token (PaLM appendix B): dense " << flops_per_token.dense << " + output layer "
    << flops_per_token.output_layer << " + attention " << flops_per_token.attention << " = "
    << flops_per_token.total() << "\n";
  o << "  total FLOPs " << flops << ", energy " << energy_kwh << " kWh\n";
  o << "  run dir " << run_dir << "\n";
  return o.str();
}

}  // namespace isoflop::trainer
