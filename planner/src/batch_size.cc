// The global batch from a batch-size law (docs/planner.md §6, "Batch size").
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "isoflop/planner.h"

namespace isoflop::planner {
namespace {

// DeepSeek LLM 2024 (Bi et al., arXiv:2401.02954), Sec. 3.1, Eq. 1, fitted on compute budgets
// 1e17-3e20 FLOPs: B_opt = 0.2920 C^0.3271 tokens, eta_opt = 0.3118 C^-0.1250.
constexpr double kBatchCoefficient = 0.2920, kBatchExponent = 0.3271;
constexpr double kLrCoefficient = 0.3118, kLrExponent = -0.1250;
// Kaplan et al. 2020, Eq. 5.3 (Sec. 5.1): B_crit(L) = B* / L^(1/alpha_B), B* = 2e8 tokens,
// alpha_B = 0.21 — McCandlish et al. 2018's gradient noise scale, beyond which doubling the batch
// buys little fewer steps for twice the examples.
constexpr double kCriticalBStar = 2e8, kCriticalAlphaB = 0.21;

// Nearest 2^k or 3 x 2^k (data parallelism needs divisors; a prime batch allows DP 1 only).
int RoundToDivisible(double sequences) {
  if (sequences <= 1) return 1;
  double best = 1, best_err = 1e300;
  for (double p = 1; p <= 4e9; p *= 2) {
    for (double candidate : {p, 3 * p}) {
      const double err = std::abs(std::log(candidate / sequences));
      if (err < best_err) {
        best_err = err;
        best = candidate;
      }
    }
  }
  return static_cast<int>(best);
}

}  // namespace

StatusOr<std::vector<BatchRampStage>> ParseBatchRamp(const std::string& text) {
  std::vector<BatchRampStage> out;
  if (text.empty()) return out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const size_t colon = item.find(':');
    BatchRampStage stage;
    try {
      if (colon == std::string::npos) throw std::invalid_argument(item);
      size_t used = 0;
      const std::string a = item.substr(0, colon), b = item.substr(colon + 1);
      stage.batch_fraction = std::stod(a, &used);
      if (used != a.size()) throw std::invalid_argument(a);
      stage.token_fraction = std::stod(b, &used);
      if (used != b.size()) throw std::invalid_argument(b);
    } catch (const std::exception&) {
      return Status::InvalidArgument("--batch-ramp: '" + item +
                                     "' is not BATCH_FRACTION:TOKEN_FRACTION (e.g. 0.25:0.01,0.5:0.2)");
    }
    if (!(stage.batch_fraction > 0 && stage.batch_fraction < 1))
      return Status::InvalidArgument("--batch-ramp: batch fraction in '" + item + "' must be in (0, 1)");
    if (!(stage.token_fraction > 0 && stage.token_fraction < 1))
      return Status::InvalidArgument("--batch-ramp: token fraction in '" + item + "' must be in (0, 1)");
    out.push_back(stage);
  }
  double total = 0;
  for (const auto& s : out) total += s.token_fraction;
  if (total >= 1) return Status::InvalidArgument("--batch-ramp: the ramp's token fractions must add up to less than 1");
  return out;
}

StatusOr<BatchSizeChoice> ChooseGlobalBatch(double flops, double loss, int seq_len, int user_sequences,
                                            const std::vector<BatchRampStage>& ramp) {
  if (!(flops > 0) || seq_len < 1) return Status::InvalidArgument("batch size: need a positive budget and seq_len");
  BatchSizeChoice b;
  b.law_tokens = kBatchCoefficient * std::pow(flops, kBatchExponent);
  b.peak_lr = kLrCoefficient * std::pow(flops, kLrExponent);
  if (loss > 0) b.critical_tokens = kCriticalBStar / std::pow(loss, 1.0 / kCriticalAlphaB);
  char buf[512];
  if (user_sequences > 0) {
    b.sequences = user_sequences;
    b.source = "--global-batch";
  } else {
    double target = b.law_tokens;
    b.bounded_by_critical = b.critical_tokens > 0 && b.critical_tokens < target;
    if (b.bounded_by_critical) target = b.critical_tokens;
    b.sequences = RoundToDivisible(target / seq_len);
    char bound[160] = "";
    if (b.bounded_by_critical)
      std::snprintf(bound, sizeof bound, ", bounded by the critical batch %.3gM tokens at loss %.3f (Kaplan 2020 Eq. 5.3)",
                    b.critical_tokens / 1e6, loss);
    std::snprintf(buf, sizeof buf,
                  "DeepSeek LLM 2024 Eq. 1: %.3gM tokens at %.3g FLOPs%s; %d sequences of %d (nearest 2^k or 3x2^k, "
                  "so that data parallelism has divisors)",
                  b.law_tokens / 1e6, flops, bound, b.sequences, seq_len);
    b.source = buf;
  }
  b.tokens = static_cast<double>(b.sequences) * seq_len;
  for (const BatchRampStage& stage : ramp) {
    const double seqs = stage.batch_fraction * b.sequences;
    if (std::abs(seqs - std::round(seqs)) > 1e-9 || seqs < 1)
      return Status::InvalidArgument("--batch-ramp: " + std::to_string(stage.batch_fraction) + " of " +
                                     std::to_string(b.sequences) + " sequences is not a whole number of sequences");
    b.ramp_sequences.push_back(static_cast<int>(std::lround(seqs)));
    b.ramp_token_fractions.push_back(stage.token_fraction);
  }
  return b;
}

}  // namespace isoflop::planner
