// Parameter and FLOP counts of a transformer shape (Narayanan et al. 2021 Eq. 2-3; Korthikanti et
// al. 2022 Eq. 7), and the shape search. Formulas are cited in docs/planner.md.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "isoflop/planner.h"
#include "planner_internal.h"

namespace isoflop::planner {

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
  // The count the law's N means (Kaplan et al. 2020 count non-embedding parameters, Hoffmann et al.
  // 2022 all of them).
  const bool non_embedding = o.convention == ParamsConvention::kNonEmbedding;
  auto count = [non_embedding](const ModelShape& m) { return non_embedding ? m.ParamsNonEmbedding() : m.ParamsTotal(); };
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
      m.norm = o.norm;
      m.position = o.position;
      m.biases = o.biases;
      m.tied_embeddings = o.tied_embeddings;
      if (!CompleteShape(d, o, &m)) continue;
      if (m.mlp == Mlp::kSwiglu) {
        // Parameters are linear in ffn: pick the multiple of width_multiple nearest the target,
        // within 2.5..3.5 d (LLaMA-3 405B uses 3.25 d; the nominal 8/3 d sits in between).
        const int nominal = m.ffn;
        const double per_ffn = 3.0 * d * layers;
        const double at_nominal = count(m);
        int ffn = static_cast<int>(std::lround((nominal + (n - at_nominal) / per_ffn) / o.width_multiple)) *
                  o.width_multiple;
        ffn = std::clamp(ffn, RoundUp(2.5 * d, o.width_multiple), RoundUp(3.5 * d, o.width_multiple));
        m.ffn = std::max(ffn, o.width_multiple);
      }
      const double params = count(m);
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
