// Serving cost (planner/src/serving.cc): the replica is the fewest GPUs that hold the model, a
// decode step at small batch is memory-bound and at large batch compute-bound, quantisation
// shrinks memory and raises the decode rate, cost and energy follow from the rate, the JSON has the
// keys `isoflop serve-perf --json` documents, and a plan with a serving demand prices it.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "isoflop/planner.h"
#include "isoflop/serving.h"

using namespace isoflop::planner;

namespace {

const std::string kClusters = std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters";
const std::string kModels = std::string(ISOFLOP_SOURCE_DIR) + "/configs/models";

ClusterSpec H100() {
  auto c = LoadClusterYaml(kClusters + "/h100-sxm.yaml");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return *c;
}

ModelShape Llama70() {
  auto m = LoadModelYaml(kModels + "/llama2-70b.yaml");
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return *m;
}

}  // namespace

TEST(Serving, FewestGpusThatHoldTheModel) {
  ServeOptions o;
  o.context = 4096;
  auto rows = EvaluateServingPrecisions(Llama70(), H100(), o);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 3u);
  // bf16: 128.5 GiB of weights need two 80 GB GPUs; int8 (64.7 GiB) and int4 (about 34 GiB) one.
  EXPECT_EQ((*rows)[0].gpus_per_replica, 2);
  EXPECT_EQ((*rows)[1].gpus_per_replica, 1);
  EXPECT_EQ((*rows)[2].gpus_per_replica, 1);
  for (const auto& s : *rows) {
    EXPECT_TRUE(s.fits) << s.fit_reason;
    EXPECT_LE(s.memory.total(), s.memory_capacity_bytes);
    EXPECT_TRUE(s.decode_memory_bound);
    EXPECT_GT(s.max_batch, 1);
  }
  // Quantised weights: less memory and a faster decode per GPU, same FLOPs.
  EXPECT_LT((*rows)[2].weight_bytes_total, (*rows)[1].weight_bytes_total);
  EXPECT_LT((*rows)[1].weight_bytes_total, (*rows)[0].weight_bytes_total);
  EXPECT_GT((*rows)[2].decode_tokens_per_s_per_gpu, (*rows)[0].decode_tokens_per_s_per_gpu);
  EXPECT_LT((*rows)[2].usd_per_million_tokens, (*rows)[0].usd_per_million_tokens);
}

TEST(Serving, DecodeRooflineAndCost) {
  const ClusterSpec h100 = H100();
  ServeOptions o;
  o.precision = WeightPrecision::kBf16;
  o.tp = 8;
  o.pp = 1;
  o.context = 2048;
  o.batch = 1;
  ServeSummary small;
  ASSERT_TRUE(EvaluateServing(Llama70(), h100, o, &small).ok());
  EXPECT_TRUE(small.decode_memory_bound);
  // Batch 1: the weights' read dominates; the step is at least weights / bandwidth.
  EXPECT_GT(small.decode_weights_s, 10 * small.decode_kv_s);
  EXPECT_GE(small.decode_step_s, small.decode_weights_s);
  EXPECT_NEAR(small.decode_tokens_per_s, 1.0 / small.decode_step_s, 1e-9);
  // Cost per million tokens = replica $/s x 1e6 / tokens/s; energy likewise.
  EXPECT_NEAR(small.usd_per_million_tokens, 8 * 2.5 / 3600 * 1e6 / small.decode_tokens_per_s, 1e-9);
  EXPECT_NEAR(small.kwh_per_million_tokens, small.replica_kw * 1e6 / small.decode_tokens_per_s / 3600, 1e-9);
  // A large batch amortises the weights: more tokens/s, and past the ridge point compute-bound.
  o.batch = 512;
  o.context = 512;
  ServeSummary large;
  ASSERT_TRUE(EvaluateServing(Llama70(), h100, o, &large).ok());
  EXPECT_GT(large.decode_tokens_per_s, 50 * small.decode_tokens_per_s);
  EXPECT_FALSE(large.decode_memory_bound);
  EXPECT_GT(large.compute_utilization, small.compute_utilization);
}

TEST(Serving, JsonHasTheDocumentedKeys) {
  ServeOptions o;
  o.precision = WeightPrecision::kInt4;
  ServeSummary s;
  ASSERT_TRUE(EvaluateServing(Llama70(), H100(), o, &s).ok());
  auto j = nlohmann::json::parse(s.ToJson());
  for (const char* key :
       {"gpus_per_replica", "memory_per_gpu_bytes", "decode_tokens_per_s", "prefill_tokens_per_s",
        "usd_per_million_tokens", "kwh_per_million_tokens", "memory_bytes", "fits", "time_per_output_token_s",
        "ttft_s", "memory_utilization", "bandwidth_utilization", "compute_utilization", "precision"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["precision"], "int4");
  EXPECT_DOUBLE_EQ(j["memory_per_gpu_bytes"].get<double>(), s.memory.total());
  EXPECT_GT(j["prefill_tokens_per_s"].get<double>(), j["decode_tokens_per_s"].get<double>());
}

TEST(Serving, DoesNotFitSaysWhyTermByTerm) {
  ServeOptions o;
  o.tp = 1;
  o.pp = 1;  // 70B at bf16 on one GPU
  ServeSummary s;
  ASSERT_TRUE(EvaluateServing(Llama70(), H100(), o, &s).ok());
  EXPECT_FALSE(s.fits);
  for (const char* term : {"weights", "KV cache", "activations", "reserved", "exceeds by"})
    EXPECT_NE(s.fit_reason.find(term), std::string::npos) << term << " in: " << s.fit_reason;
}

TEST(Serving, BadOptionsAreInvalidArgument) {
  ServeSummary s;
  ServeOptions o;
  o.batch = 0;
  EXPECT_EQ(EvaluateServing(Llama70(), H100(), o, &s).code(), isoflop::Status::Code::kInvalidArgument);
  o = ServeOptions{};
  o.tp = 3;  // does not divide 64 heads
  EXPECT_EQ(EvaluateServing(Llama70(), H100(), o, &s).code(), isoflop::Status::Code::kInvalidArgument);
  o = ServeOptions{};
  o.output_tokens = o.context;
  EXPECT_EQ(EvaluateServing(Llama70(), H100(), o, &s).code(), isoflop::Status::Code::kInvalidArgument);
  EXPECT_FALSE(ParsePrecision("fp4").ok());
}

TEST(Serving, DemandCostsReplicasAndLifetime) {
  ServeOptions o;
  o.context = 4096;
  o.output_tokens = 512;
  o.batch = 16;
  ServingDemand demand;
  demand.lifetime_tokens = 1e12;
  demand.requests_per_s = 20;
  auto costs = CostServing(Llama70(), H100(), o, demand);
  ASSERT_TRUE(costs.ok()) << costs.status().ToString();
  ASSERT_EQ(costs->size(), 3u);
  for (const auto& c : *costs) {
    const ServeSummary& s = c.replica;
    ASSERT_TRUE(s.fits);
    const double busy = (s.prefill_s + 512 * s.decode_step_s) / 16;
    EXPECT_EQ(c.replicas, std::ceil(20 * busy));
    EXPECT_EQ(c.gpus, c.replicas * s.gpus_per_replica);
    EXPECT_NEAR(c.lifetime_usd, 1e6 * s.usd_per_million_tokens, 1e-6 * c.lifetime_usd);
    EXPECT_NEAR(c.lifetime_gpu_hours * s.replica_usd_per_hour / s.gpus_per_replica, c.lifetime_usd,
                1e-6 * c.lifetime_usd);
  }
  o.output_tokens = 0;
  EXPECT_FALSE(CostServing(Llama70(), H100(), o, demand).ok());  // a request rate needs output tokens
}

TEST(Serving, PlanPricesServingWhenAsked) {
  auto law = isoflop::LoadLaw("hoffmann");
  ASSERT_TRUE(law.ok());
  PlanOptions options;
  options.budget = 1e23;
  options.gpus = 256;
  PlanSummary without;
  ASSERT_TRUE(Plan(options, *law, H100(), &without).ok());
  EXPECT_TRUE(without.serving.empty());
  EXPECT_FALSE(nlohmann::json::parse(without.ToJson()).contains("serving"));
  options.serve_demand.lifetime_tokens = 1e12;
  options.serve_demand.requests_per_s = 10;
  options.serve.batch = 8;
  PlanSummary with;
  ASSERT_TRUE(Plan(options, *law, H100(), &with).ok());
  ASSERT_EQ(with.serving.size(), 3u);
  EXPECT_EQ(with.serving[0].replica.options.context, with.shape.seq_len);  // --context default
  EXPECT_EQ(with.serving[0].replica.options.output_tokens, 512);           // min(512, 2048 / 2)
  auto j = nlohmann::json::parse(with.ToJson());
  ASSERT_TRUE(j.contains("serving"));
  EXPECT_EQ(j["serving"]["precisions"].size(), 3u);
  EXPECT_TRUE(j["serving"]["precisions"][0].contains("lifetime_usd"));
  EXPECT_NE(with.FullReport().find("== serving"), std::string::npos);
  // The training half is unchanged by asking about serving.
  EXPECT_EQ(with.shape.layers, without.shape.layers);
  EXPECT_DOUBLE_EQ(with.cost_usd, without.cost_usd);
}

TEST(Serving, MixtureOfExpertsReadsTheRoutedExperts) {
  auto mixtral = LoadModelYaml(kModels + "/mixtral-8x7b.yaml");
  ASSERT_TRUE(mixtral.ok()) << mixtral.status().ToString();
  EXPECT_NEAR(mixtral->ParamsTotal() / 1e9, 46.70, 0.01);
  EXPECT_NEAR(mixtral->ParamsActive() / 1e9, 12.88, 0.01);
  ServeOptions o;
  o.precision = WeightPrecision::kInt8;
  o.tp = 1;
  o.pp = 1;
  o.context = 1024;
  ServeSummary one, many;
  ASSERT_TRUE(EvaluateServing(*mixtral, H100(), o, &one).ok());
  // Memory holds every expert; a batch-1 step reads two of eight per layer.
  EXPECT_NEAR(one.memory.weights / 1e9, 46.7, 0.3);
  const double expert_bytes = 3.0 * 4096 * 14336;  // one expert at int8
  const double dense_read =
      one.decode_weights_s * H100().hbm_bandwidth_gb_s * 1e9 * o.decode_bandwidth_efficiency;
  const double input_embedding = 32000.0 * 4096 * 2;  // held (bf16), not read by a decode step's matmuls
  EXPECT_NEAR(dense_read, one.memory.weights - 32 * 6 * expert_bytes - input_embedding, 0.001 * dense_read);
  // At batch 64 nearly every expert is read: E (1 - (1 - k/E)^64) = 8 (1 - 0.75^64).
  o.batch = 64;
  ASSERT_TRUE(EvaluateServing(*mixtral, H100(), o, &many).ok());
  EXPECT_GT(many.decode_weights_s, 3.5 * one.decode_weights_s);
  // The training model prices a mixture of experts by its active parameters, never as dense
  // (issue 14 item 2; planner_moe_perf_test covers expert parallelism).
  PerfSummary perf;
  ParallelConfig cfg;
  ASSERT_TRUE(EvaluatePerf(*mixtral, H100(), cfg, PerfOptions{}, &perf).ok());
  EXPECT_NEAR(perf.model_flops_per_step, mixtral->ModelFlopsPerToken() * mixtral->seq_len, 1e3);
  EXPECT_LT(perf.model_flops_per_step, 6 * mixtral->ParamsTotal() * mixtral->seq_len * 0.5);
}
