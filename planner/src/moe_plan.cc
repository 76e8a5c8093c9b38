// A mixture-of-experts plan beside the dense one (issue 14 item 3; docs/planner.md §9): the
// fine-grained MoE law of Krajewski et al. 2024 at the plan's budget, a shape of E experts with
// top-K routing, its layouts with expert parallelism (the performance model of §4), its training
// cost and time, its serving cost; and the law's own dense fit at the same budget for the loss
// comparison on the same data.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "isoflop/golden_section.h"
#include "isoflop/planner.h"
#include "planner_internal.h"

namespace isoflop::planner {

StatusOr<MoeOption> ParseMoeOption(const std::string& text) {
  const size_t colon = text.find(':');
  auto bad = [&] {
    return Status::InvalidArgument(
        "--moe must be E:K, experts and top-k routing with 1 <= K < E (e.g. 64:8); got '" + text + "'");
  };
  if (colon == std::string::npos) return bad();
  MoeOption o;
  try {
    size_t used = 0;
    o.experts = std::stoi(text.substr(0, colon), &used);
    if (used != colon) return bad();
    const std::string k = text.substr(colon + 1);
    o.top_k = std::stoi(k, &used);
    if (used != k.size()) return bad();
  } catch (const std::exception&) {
    return bad();
  }
  if (o.top_k < 1 || o.experts <= o.top_k || o.experts > 4096) return bad();
  return o;
}

double FineGrainedMoeLaw::MoeLoss(double total_params, double tokens, double granularity) const {
  return c + (g / std::pow(granularity, gamma) + a) / std::pow(total_params, alpha) +
         b / std::pow(tokens, beta);
}

double FineGrainedMoeLaw::DenseLoss(double params, double tokens) const {
  return dense_c + dense_a / std::pow(params, dense_alpha) + dense_b / std::pow(tokens, dense_beta);
}

namespace {

// The golden-section search over ln N stops at this width (both losses are unimodal in ln N at fixed C).
constexpr double kLogNTolerance = 1e-9;

std::string MoeRangeText(double x, double lo, double hi, const char* what) {
  char buf[256];
  const double factor = x > hi ? x / hi : lo / x;
  std::snprintf(buf, sizeof buf, "%s %s is outside the fitted %s-%s (%.3gx %s)", what,
                internal::FormatCount(x).c_str(), internal::FormatCount(lo).c_str(),
                internal::FormatCount(hi).c_str(), factor, x > hi ? "beyond" : "below");
  return buf;
}

}  // namespace

namespace internal {

StatusOr<MoePlan> PlanMoe(const MoeOption& option, const PlanSummary& dense, const ClusterSpec& cluster,
                          const LayoutPlanOptions& layout_options, const ServeOptions& serve,
                          int tp_divisor) {
  const FineGrainedMoeLaw law;
  MoePlan p;
  p.option = option;
  p.granularity = option.top_k;
  p.expansion_rate = static_cast<double>(option.experts) / option.top_k;
  p.law = "Krajewski et al. 2024 fine-grained MoE law";
  p.citation =
      "Krajewski, Ludziejewski et al. 2024, \"Scaling Laws for Fine-Grained Mixture of Experts\", "
      "arXiv:2402.07871, "
      "Eq. 9 and its fitted coefficients (MoE: a 18.1, alpha 0.115, b 30.8, beta 0.147, g 2.1, gamma 0.58, c "
      "0.47; "
      "dense: a 16.3, alpha 0.126, b 26.7, beta 0.127, c 0.47); C4, GPT-2 tokenizer";
  p.equation =
      "L(N, D, G) = 0.47 + (2.1 / G^0.58 + 18.1) / N^0.115 + 30.8 / D^0.147 (N total non-embedding "
      "parameters, G = K); dense: L = 0.47 + 16.3 / N^0.126 + 26.7 / D^0.127";
  const double C = dense.budget_flops;
  // Total non-embedding parameters of an MoE whose active count is n: attention (a third of a
  // standard block) plus the MLP expanded E/K times (Krajewski's expansion rate; the MLP is two
  // thirds of a block with f = 4h, or SwiGLU's 3 x 8h/3).
  const double expand = 1.0 / 3 + 2.0 / 3 * p.expansion_rate;
  auto moe_loss = [&](double log_n) {
    const double n = std::exp(log_n);
    return law.MoeLoss(n * expand, C / (6 * n), p.granularity);
  };
  auto dense_loss = [&](double log_n) {
    const double n = std::exp(log_n);
    return law.DenseLoss(n, C / (6 * n));
  };
  const double lo = std::log(1e3), hi = std::log(std::max(1e4, C / 6 / 1e3));
  p.active_params = std::exp(GoldenSectionMinimum(moe_loss, lo, hi, kLogNTolerance));
  p.total_params = p.active_params * expand;
  p.tokens = C / (6 * p.active_params);
  p.loss = moe_loss(std::log(p.active_params));
  p.dense_params = std::exp(GoldenSectionMinimum(dense_loss, lo, hi, kLogNTolerance));
  p.dense_tokens = C / (6 * p.dense_params);
  p.dense_loss = dense_loss(std::log(p.dense_params));
  // The published range (Krajewski et al. 2024 Sec. 4: 129M-3.7B parameters, 16B-130B tokens,
  // G 1-16, expansion rate 64; 16 in their App. B).
  if (p.total_params < law.min_params || p.total_params > law.max_params)
    p.extrapolation.push_back(
        MoeRangeText(p.total_params, law.min_params, law.max_params, "total parameters"));
  if (p.tokens < law.min_tokens || p.tokens > law.max_tokens)
    p.extrapolation.push_back(MoeRangeText(p.tokens, law.min_tokens, law.max_tokens, "tokens"));
  if (p.granularity > law.max_granularity)
    p.extrapolation.push_back("granularity G = K = " + std::to_string(option.top_k) +
                              " is beyond the fitted 1-16");
  if (p.expansion_rate != law.expansion_rates[0] && p.expansion_rate != law.expansion_rates[1]) {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "expansion rate E/K = %.3g was not fitted (the law's runs use 64, an appendix 16)",
                  p.expansion_rate);
    p.extrapolation.push_back(buf);
  }
  p.extrapolated = !p.extrapolation.empty();

  // The shape: the dense shape search at N_active (non-embedding), its MLP split into E experts of
  // ffn / K (rounded to 16) of which each token uses K: the active count stays the dense one's.
  ShapeSearchOptions so;
  so.vocab = dense.shape.vocab;
  so.seq_len = dense.shape.seq_len;
  so.mlp = dense.shape.mlp;
  so.tp_divisor = tp_divisor;
  so.convention = ParamsConvention::kNonEmbedding;
  std::vector<ModelShape> shapes = ShapesForParams(p.active_params, so);
  for (int width : {64, 32, 16}) {
    if (!shapes.empty()) break;
    so.width_multiple = width;
    so.head_dim = width;
    so.tolerance = 0.10;
    shapes = ShapesForParams(p.active_params, so);
  }
  if (shapes.empty())
    return Status::FailedPrecondition("--moe: no transformer shape has " + FormatCount(p.active_params) +
                                      " active parameters");
  ModelShape m = shapes.front();
  m.experts = option.experts;
  m.experts_per_token = option.top_k;
  m.expert_ffn = std::max(16, (m.effective_ffn() / option.top_k + 8) / 16 * 16);
  m.moe_layer_every = 1;
  m.name = "moe-" + std::to_string(option.experts) + "x" + std::to_string(option.top_k);
  std::string error;
  if (!m.IsValid(&error)) return Status::Internal("--moe shape: " + error);
  p.shape = m;
  p.flops_per_token = 6 * m.ParamsActive();
  p.train_tokens = C / p.flops_per_token;

  LayoutPlan lp;
  Status st = PlanLayouts(m, p.train_tokens, C, std::isfinite(dense.loss_pred) ? dense.loss_pred : 0, cluster,
                          layout_options, &lp);
  if (!st.ok())
    return st.WithContext("--moe " + std::to_string(option.experts) + ":" + std::to_string(option.top_k));
  p.layout = lp.chosen;
  p.gpus_allocated = lp.gpus_allocated;
  p.steps = lp.steps;
  p.wall_clock_s = lp.wall_clock_s;
  p.gpu_hours = lp.gpu_hours;
  p.cost_usd = lp.cost_usd;
  p.energy_kwh = lp.energy.total_kwh;

  ServeOptions so_serve = serve;
  so_serve.precision = WeightPrecision::kBf16;
  if (so_serve.context == 0) so_serve.context = m.seq_len;
  ISOFLOP_RETURN_IF_ERROR(EvaluateServing(m, cluster, so_serve, &p.serving));
  ISOFLOP_RETURN_IF_ERROR(EvaluateServing(dense.shape, cluster, so_serve, &p.dense_serving));
  return p;
}

}  // namespace internal

std::string MoePlan::ToJson() const {
  nlohmann::json j;
  j["experts"] = option.experts;
  j["top_k"] = option.top_k;
  j["granularity"] = granularity;
  j["expansion_rate"] = expansion_rate;
  j["law"] = {{"name", law},
              {"citation", citation},
              {"equation", equation},
              {"published_range",
               {{"total_params", {129e6, 3.7e9}},
                {"tokens", {16e9, 130e9}},
                {"granularity", {1, 16}},
                {"expansion_rate", {64, 16}}}},
              {"extrapolated", extrapolated},
              {"extrapolation", extrapolation}};
  if (extrapolated)
    j["warning"] = "EXTRAPOLATED: the MoE law is used outside its published range (" +
                   std::to_string(extrapolation.size()) + " reasons in law.extrapolation)";
  j["law_optimum"] = {{"moe",
                       {{"active_params", active_params},
                        {"total_params", total_params},
                        {"tokens", tokens},
                        {"loss", loss}}},
                      {"dense", {{"params", dense_params}, {"tokens", dense_tokens}, {"loss", dense_loss}}},
                      {"loss_moe_minus_dense", loss - dense_loss}};
  const ParamCounts counts = shape.Params();
  j["shape"] = {{"layers", shape.layers},
                {"d_model", shape.d_model},
                {"heads", shape.heads},
                {"kv_heads", shape.effective_kv_heads()},
                {"ffn", shape.effective_ffn()},
                {"experts", shape.experts},
                {"experts_per_token", shape.experts_per_token},
                {"expert_ffn", shape.effective_expert_ffn()},
                {"vocab", shape.vocab},
                {"seq_len", shape.seq_len},
                {"params_total", counts.total},
                {"params_active", counts.active}};
  j["train_tokens"] = train_tokens;
  j["flops_per_token"] = flops_per_token;
  j["layout"] = nlohmann::json::parse(layout.ToJson());
  j["gpus_allocated"] = gpus_allocated;
  j["steps"] = steps;
  j["wall_clock_s"] = wall_clock_s;
  j["gpu_hours"] = gpu_hours;
  j["cost_usd"] = cost_usd;
  j["energy_kwh"] = energy_kwh;
  j["memory_per_gpu_bytes"] = layout.memory.total();
  j["serving_bf16"] = nlohmann::json::parse(serving.ToJson());
  j["dense_serving_bf16"] = nlohmann::json::parse(dense_serving.ToJson());
  return j.dump();
}

}  // namespace isoflop::planner
