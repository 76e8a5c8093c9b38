// Scaling laws (Hoffmann et al. 2022; Besiroglu et al. 2024), parameter and FLOP counts of a
// transformer shape (Narayanan et al. 2021 Eq. 2-3; Korthikanti et al. 2022 Eq. 7), and the
// shape search. Formulas are cited in docs/planner.md.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "isoflop/planner.h"
#include "planner_internal.h"

namespace isoflop::planner {

// ----- scaling law -------------------------------------------------------------------------------

double ScalingLaw::Loss(double n, double d) const {
  return E + A / std::pow(n, alpha) + B / std::pow(d, beta);
}

// Hoffmann et al. 2022, Eq. 4 (Appendix D.2): minimising L(N, D) subject to C = 6 N D gives
// N_opt = G (C/6)^a, D_opt = G^-1 (C/6)^b with G = (alpha A / (beta B))^(1/(alpha+beta)).
double ScalingLaw::OptimalParams(double flops) const {
  const double g = std::pow(alpha * A / (beta * B), 1.0 / (alpha + beta));
  return g * std::pow(flops / 6.0, beta / (alpha + beta));
}

double ScalingLaw::OptimalTokens(double flops) const {
  const double g = std::pow(alpha * A / (beta * B), 1.0 / (alpha + beta));
  return std::pow(flops / 6.0, alpha / (alpha + beta)) / g;
}

bool ScalingLaw::IsValid(std::string* error) const {
  auto fail = [&](const char* what) {
    if (error) *error = std::string("scaling law ") + source + ": " + what;
    return false;
  };
  if (!std::isfinite(E) || E < 0) return fail("law.E must be finite and >= 0");
  if (!(A > 0) || !std::isfinite(A)) return fail("law.A must be > 0");
  if (!(B > 0) || !std::isfinite(B)) return fail("law.B must be > 0");
  if (!(alpha > 0) || !std::isfinite(alpha)) return fail("law.alpha must be > 0");
  if (!(beta > 0) || !std::isfinite(beta)) return fail("law.beta must be > 0");
  return true;
}

// Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", Section 3.3 / Eq. 10.
ScalingLaw HoffmannLaw() {
  ScalingLaw law;
  law.E = 1.69;
  law.A = 406.4;
  law.B = 410.7;
  law.alpha = 0.34;
  law.beta = 0.28;
  law.source = "hoffmann";
  return law;
}

// Besiroglu, Erdil, Barnett, You 2024, "Chinchilla Scaling: A replication attempt", Eq. 4.
ScalingLaw EpochLaw() {
  ScalingLaw law;
  law.E = 1.82;
  law.A = 482.01;
  law.B = 2085.43;
  law.alpha = 0.3478;
  law.beta = 0.3658;
  law.source = "epoch";
  return law;
}

namespace {

// Reads key `name` of `law` as a number; accepts both {"law": {"E": ..}} and {"law.E": ..}.
Status ReadLawField(const nlohmann::json& root, const std::string& path, const std::string& name,
                    double* out) {
  const nlohmann::json* node = nullptr;
  if (root.contains("law") && root["law"].is_object() && root["law"].contains(name)) {
    node = &root["law"][name];
  } else if (root.contains("law." + name)) {
    node = &root["law." + name];
  }
  if (node == nullptr) return Status::InvalidArgument(path + ": key 'law." + name + "' is missing");
  if (!node->is_number()) return Status::InvalidArgument(path + ": key 'law." + name + "' must be a number");
  *out = node->get<double>();
  return Status::OK();
}

Status ReadSample(const nlohmann::json& sample, ScalingLaw* law) {
  for (const char* key : {"E", "A", "B", "alpha", "beta"}) {
    if (!sample.contains(key) || !sample[key].is_number()) return Status::InvalidArgument(key);
  }
  law->E = sample["E"].get<double>();
  law->A = sample["A"].get<double>();
  law->B = sample["B"].get<double>();
  law->alpha = sample["alpha"].get<double>();
  law->beta = sample["beta"].get<double>();
  return Status::OK();
}

}  // namespace

StatusOr<ScalingLaw> LoadScalingLaw(const std::string& name_or_path) {
  if (name_or_path == "hoffmann") return HoffmannLaw();
  if (name_or_path == "epoch") return EpochLaw();
  std::ifstream in(name_or_path);
  if (!in) {
    return Status::NotFound(name_or_path + ": no such file (use a fit.json path, 'hoffmann' or 'epoch')");
  }
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    return Status::InvalidArgument(name_or_path + ": not valid JSON: " + e.what());
  }
  if (!root.is_object()) return Status::InvalidArgument(name_or_path + ": expected a JSON object");
  ScalingLaw law;
  law.source = name_or_path;
  ISOFLOP_RETURN_IF_ERROR(ReadLawField(root, name_or_path, "E", &law.E));
  ISOFLOP_RETURN_IF_ERROR(ReadLawField(root, name_or_path, "A", &law.A));
  ISOFLOP_RETURN_IF_ERROR(ReadLawField(root, name_or_path, "B", &law.B));
  ISOFLOP_RETURN_IF_ERROR(ReadLawField(root, name_or_path, "alpha", &law.alpha));
  ISOFLOP_RETURN_IF_ERROR(ReadLawField(root, name_or_path, "beta", &law.beta));
  std::string error;
  if (!law.IsValid(&error)) return Status::InvalidArgument(error);
  // Optional bootstrap replicates: an array of {E, A, B, alpha, beta} objects.
  for (const char* key : {"bootstrap_samples", "bootstrap"}) {
    if (!root.contains(key) || !root[key].is_array()) continue;
    int index = 0;
    for (const auto& sample : root[key]) {
      ScalingLaw replicate;
      replicate.source = law.source;
      if (!sample.is_object() || !ReadSample(sample, &replicate).ok() || !replicate.IsValid(nullptr)) {
        return Status::InvalidArgument(name_or_path + ": '" + key + "[" + std::to_string(index) +
                                       "]' must be an object with numeric E, A, B, alpha, beta");
      }
      law.bootstrap.push_back(replicate);
      ++index;
    }
    break;
  }
  // Optional fitter intervals at fixed budgets: "ci": {"N_opt@1e+21": [lo, hi], "D_opt@1e+21": [lo, hi]}.
  if (root.contains("ci") && root["ci"].is_object()) {
    for (const auto& [key, value] : root["ci"].items()) {
      if (key.rfind("N_opt@", 0) != 0) continue;
      const std::string budget_text = key.substr(6);
      const std::string tokens_key = "D_opt@" + budget_text;
      const auto& ci = root["ci"];
      auto pair_ok = [](const nlohmann::json& v) {
        return v.is_array() && v.size() == 2 && v[0].is_number() && v[1].is_number();
      };
      if (!pair_ok(value) || !ci.contains(tokens_key) || !pair_ok(ci[tokens_key])) {
        return Status::InvalidArgument(name_or_path + ": 'ci." + key + "' and 'ci." + tokens_key +
                                       "' must be [lo, hi] pairs");
      }
      ScalingLaw::BudgetInterval interval;
      try {
        interval.budget_flops = std::stod(budget_text);
      } catch (const std::exception&) {
        return Status::InvalidArgument(name_or_path + ": 'ci." + key + "': budget is not a number");
      }
      interval.params_lo = value[0].get<double>();
      interval.params_hi = value[1].get<double>();
      interval.tokens_lo = ci[tokens_key][0].get<double>();
      interval.tokens_hi = ci[tokens_key][1].get<double>();
      law.ci_at_budgets.push_back(interval);
    }
  }
  return law;
}

// ----- parameter and FLOP counts -------------------------------------------------------------------

namespace internal {

// Weights of the matmuls in one transformer layer (no biases): Q and output projections (h x h),
// K and V (h x kv_heads*head_dim each), MLP (2 h f for GELU, 3 h f for SwiGLU).
double MatmulWeightsPerLayer(const ModelShape& m) {
  const double h = m.d_model, kv = static_cast<double>(m.kv_heads) * m.head_dim();
  const double attention = 2.0 * h * h + 2.0 * h * kv;
  const double mlp = (m.mlp == Mlp::kSwiglu ? 3.0 : 2.0) * h * m.ffn;
  return attention + mlp;
}

}  // namespace internal

// GELU (Megatron GPT): per layer 12h^2 + 13h with f = 4h (Narayanan et al. 2021, Eq. 2: weights
// + biases + two LayerNorms), embeddings V h + s h (learned positions), output layer tied.
// SwiGLU (LLaMA, Touvron et al. 2023): no biases, two RMSNorm gains per layer, RoPE (no position
// table), untied output layer.
double ModelShape::ParamsNonEmbedding() const {
  const double h = d_model, kv = static_cast<double>(kv_heads) * head_dim();
  const double weights = internal::MatmulWeightsPerLayer(*this);
  if (mlp == Mlp::kGelu) {
    const double biases = (h + 2 * kv) + h + ffn + h;
    const double norms = 4 * h;
    return layers * (weights + biases + norms) + 2 * h;  // + final LayerNorm
  }
  return layers * (weights + 2 * h) + h;  // + final RMSNorm
}

double ModelShape::ParamsTotal() const {
  const double h = d_model;
  const double embeddings = mlp == Mlp::kGelu ? (static_cast<double>(vocab) + seq_len) * h  // tied output
                                              : 2.0 * vocab * h;                            // untied
  return ParamsNonEmbedding() + embeddings;
}

// Forward = 2 FLOPs per matmul weight per token, plus attention scores QK^T and scores x V
// (2 s h each per token per layer), plus the output layer (2 V h); backward = 2 x forward.
// For GELU with f = 4h this is 72 l h^2 (1 + s/(6h) + V/(12 l h)) per token (Korthikanti et al.
// 2022, Eq. 7; Narayanan et al. 2021, Eq. 3 without the recomputation pass). Porian et al. 2024
// make the same point: attention and the output layer matter at small scale.
double ModelShape::ModelFlopsPerToken() const {
  const double h = d_model, s = seq_len;
  const double attention_width = static_cast<double>(heads) * head_dim();
  return 6.0 * (layers * internal::MatmulWeightsPerLayer(*this) + static_cast<double>(vocab) * h) +
         12.0 * layers * s * attention_width;
}

// ----- shape search --------------------------------------------------------------------------------

bool ShapeSearchOptions::IsValid(std::string* error) const {
  auto fail = [&](const char* what) {
    if (error) *error = what;
    return false;
  };
  if (vocab < 1) return fail("vocab must be >= 1");
  if (seq_len < 1) return fail("seq_len must be >= 1");
  if (width_multiple < 1) return fail("width_multiple must be >= 1");
  if (head_dim < 1) return fail("head_dim must be >= 1");
  if (tp_divisor < 1) return fail("tp_divisor must be >= 1");
  if (!(tolerance > 0 && tolerance < 1)) return fail("tolerance must be in (0, 1)");
  if (!(min_aspect > 0 && max_aspect >= min_aspect)) return fail("need 0 < min_aspect <= max_aspect");
  if (max_results < 1) return fail("max_results must be >= 1");
  return true;
}

namespace {

int RoundUp(double x, int multiple) {
  return static_cast<int>(std::ceil(x / multiple - 1e-9)) * multiple;
}

// Fills heads/kv_heads (and the nominal ffn) for width d; false when no head count meets the
// TP rule.
bool CompleteShape(int d, const ShapeSearchOptions& o, ModelShape* m) {
  int head_dim = 0;
  for (int hd : {o.head_dim, 128, 64, 32, 16}) {
    if (hd <= d && d % hd == 0) {
      head_dim = hd;
      break;
    }
  }
  if (head_dim == 0) return false;
  const int heads = d / head_dim;
  const int tp = std::min(o.tp_divisor, heads);
  if (heads % tp != 0) return false;
  m->d_model = d;
  m->heads = heads;
  if (o.mlp == Mlp::kSwiglu) {
    // Grouped-query attention with 8 KV heads once there are more than 8 query heads (LLaMA-2/3
    // 70B and 405B; Ainslie et al. 2023); FFN ~ 8/3 d keeps the MLP at ~8 d^2 (Shazeer 2020).
    m->kv_heads = heads > 8 && heads % 8 == 0 ? 8 : heads;
    m->ffn = RoundUp(8.0 * d / 3.0, o.width_multiple);
  } else {
    m->kv_heads = heads;
    m->ffn = 4 * d;
  }
  return true;
}

}  // namespace

std::vector<ModelShape> ShapesForParams(double n, const ShapeSearchOptions& o) {
  std::vector<ModelShape> found;
  if (!o.IsValid(nullptr) || !(n > 0) || !std::isfinite(n)) return found;
  struct Candidate {
    ModelShape shape;
    double score;
  };
  std::vector<Candidate> candidates;
  const double centre = 100.0;  // Kaplan et al. 2020 Fig. 5: flat optimum around d/l ~ 100
  for (int layers = 1; layers <= 512; ++layers) {
    Candidate best{{}, 1e300};
    bool have = false;
    for (int d = o.width_multiple; d <= 131072; d += o.width_multiple) {
      const double aspect = static_cast<double>(d) / layers;
      if (aspect > o.max_aspect) break;
      if (aspect < o.min_aspect) continue;
      ModelShape m;
      m.layers = layers;
      m.vocab = o.vocab;
      m.seq_len = o.seq_len;
      m.mlp = o.mlp;
      if (!CompleteShape(d, o, &m)) continue;
      if (m.mlp == Mlp::kSwiglu) {
        // Parameters are linear in ffn: pick the multiple of width_multiple nearest the target,
        // within 2.5..3.5 d (LLaMA-3 405B uses 3.25 d; the nominal 8/3 d sits in between).
        const int nominal = m.ffn;
        const double per_ffn = 3.0 * d * layers;
        const double at_nominal = m.ParamsTotal();
        int ffn = static_cast<int>(std::lround((nominal + (n - at_nominal) / per_ffn) / o.width_multiple)) *
                  o.width_multiple;
        ffn = std::clamp(ffn, RoundUp(2.5 * d, o.width_multiple), RoundUp(3.5 * d, o.width_multiple));
        m.ffn = std::max(ffn, o.width_multiple);
      }
      const double params = m.ParamsTotal();
      const double error = std::abs(params / n - 1.0);
      if (error > o.tolerance) {
        if (params > n && m.mlp == Mlp::kGelu) break;  // monotone in d for a fixed depth
        continue;
      }
      const double ffn_ratio = m.mlp == Mlp::kSwiglu ? std::abs(std::log(m.ffn / (8.0 * d / 3.0))) : 0.0;
      const double score = std::abs(std::log(aspect / centre)) + ffn_ratio + error;
      if (score < best.score) {
        best = {m, score};
        have = true;
      }
    }
    if (have) candidates.push_back(best);
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const Candidate& a, const Candidate& b) { return a.score < b.score; });
  for (const auto& c : candidates) {
    if (static_cast<int>(found.size()) >= o.max_results) break;
    found.push_back(c.shape);
  }
  return found;
}

}  // namespace isoflop::planner
