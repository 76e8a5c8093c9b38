// Serving predicted against published decode throughput (tests/data/serving_published.csv:
// gpt-fast's README tables, Llama 2/3.1 7B-405B and Mixtral 8x7B on A100-80GB at bf16, int8 and
// int4, batch 1):
// the calibration on the calibration rows gives the shipped defaults, every held-out row is
// within 25%, and the published fit / out-of-memory results agree.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "isoflop/planner.h"
#include "isoflop/serving.h"

using namespace isoflop::planner;

namespace {

const std::string kCsv = std::string(ISOFLOP_TEST_DATA_DIR) + "/serving_published.csv";
const std::string kClusters = std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters";
// The one held-out row outside 25%: Llama 3.1 405B int8 on 8 A100s, predicted 20.4 tok/s against
// 15.6 published. gpt-fast's own bandwidth column says each GPU streamed its 50.6 GB of weights at
// 816 GB/s, where the 70B int8 row on one GPU reached 1,323 GB/s: a kernel or clock effect the
// model's terms do not have (docs/planner.md "Serving").
const std::string kKnownMiss = "gptfast-llama3.1-405b-int8-tp8";

}  // namespace

TEST(ServingValidation, CalibrationGivesTheShippedDefaults) {
  auto rows = LoadPublishedServing(kCsv);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  int calibration = 0, held_out = 0;
  for (const auto& r : *rows) {
    if (std::isnan(r.published_tokens_per_s)) continue;
    (r.held_out() ? held_out : calibration)++;
  }
  EXPECT_LE(calibration, held_out);  // at most half of the throughput rows calibrate
  ServeOptions start;
  auto fitted = CalibrateServing(*rows, kClusters, start);
  ASSERT_TRUE(fitted.ok()) << fitted.status().ToString();
  // The defaults are the fit, rounded (docs/planner.md "Serving").
  EXPECT_NEAR(fitted->decode_bandwidth_efficiency, start.decode_bandwidth_efficiency, 0.005);
  for (int p = 0; p < 3; ++p)
    EXPECT_NEAR(fitted->layer_overhead_us[p], start.layer_overhead_us[p], 0.05) << p;
  EXPECT_NEAR(fitted->allreduce_base_us, start.allreduce_base_us, 0.05);
  EXPECT_NEAR(fitted->allreduce_per_peer_us, start.allreduce_per_peer_us, 0.05);
}

TEST(ServingValidation, HeldOutRowsWithin25Percent) {
  auto rows = LoadPublishedServing(kCsv);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  auto results = ValidateServing(*rows, kClusters, ServeOptions{});
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  std::cout << ServingValidationMarkdown(*results);  // the table in docs/planner.md "Serving"
  int checked = 0, seventy_b_bf16 = 0, seventy_b_int4 = 0, moe = 0;
  for (const auto& v : *results) {
    EXPECT_TRUE(v.fit_agrees) << v.row.id << ": published " << v.row.published_fit << ", predicted "
                              << (v.predicted.fits ? "fits" : "OOM") << " " << v.predicted.fit_reason;
    if (std::isnan(v.error)) continue;
    if (v.row.id == kKnownMiss) {
      // Documented in docs/planner.md "Serving" (+30%): asserted so that a change shows.
      EXPECT_GT(v.error, 0.25) << "the known miss is gone: update docs/planner.md";
      EXPECT_LT(v.error, 0.35) << v.row.id;
      continue;
    }
    // Calibration rows too: the fit is no excuse for a row far off.
    EXPECT_LT(std::abs(v.error), 0.25)
        << v.row.id << " (" << v.row.split << "): predicted " << v.predicted.decode_tokens_per_s
        << " tok/s, published " << v.row.published_tokens_per_s;
    if (!v.row.held_out()) continue;
    ++checked;
    if (v.row.model.is_moe()) ++moe;
    if (v.row.model.d_model == 8192 && v.row.options.precision == WeightPrecision::kBf16) ++seventy_b_bf16;
    if (v.row.model.d_model == 8192 && v.row.options.precision == WeightPrecision::kInt4) ++seventy_b_int4;
  }
  EXPECT_EQ(checked, 18);        // 19 held-out throughput rows, the known miss apart
  EXPECT_EQ(moe, 7);             // Mixtral 8x7B, never calibrated on: the routed experts' reads
  EXPECT_GE(seventy_b_bf16, 4);  // Llama-class 70B at bf16 ...
  EXPECT_GE(seventy_b_int4, 1);  // ... and at int4, held out
}

TEST(ServingValidation, SeventyBMemoryTermsAddUpToThePublishedFit) {
  // Llama 2 70B on one A100-80GB: bf16 does not fit (gpt-fast: OOM), int8 and int4 do.
  auto rows = LoadPublishedServing(kCsv);
  ASSERT_TRUE(rows.ok());
  auto cluster = LoadClusterYaml(kClusters + "/a100-80gb.yaml");
  ASSERT_TRUE(cluster.ok());
  const ModelShape* llama70 = nullptr;
  for (const auto& r : *rows)
    if (r.id == "gptfast-llama2-70b-bf16-tp1") llama70 = &r.model;
  ASSERT_NE(llama70, nullptr);
  const double gib = 1024.0 * 1024 * 1024;
  for (WeightPrecision p : kAllPrecisions) {
    ServeOptions o;
    o.precision = p;
    o.tp = 1;
    o.pp = 1;
    o.context = 205;
    o.output_tokens = 200;
    o.int4_group_size = 32;
    o.int4_group_bytes = 4;
    o.quantize_output_layer = true;
    ServeSummary s;
    ASSERT_TRUE(EvaluateServing(*llama70, *cluster, o, &s).ok());
    // The terms add up, and the fit is total <= usable.
    EXPECT_DOUBLE_EQ(s.memory.total(),
                     s.memory.weights + s.memory.kv_cache + s.memory.activations + s.memory.reserved);
    EXPECT_EQ(s.fits, s.memory.total() <= s.memory_capacity_bytes);
    // Weights: 68.98e9 parameters (Params()), matmuls at the precision's bytes.
    const double params = llama70->ParamsTotal();
    EXPECT_NEAR(params / 1e9, 68.98, 0.01);
    if (p == WeightPrecision::kBf16) {
      EXPECT_NEAR(s.memory.weights, 2 * params, 1e6);
      EXPECT_FALSE(s.fits) << s.memory.total() / gib;
      EXPECT_NE(s.fit_reason.find("weights"), std::string::npos);
    } else {
      EXPECT_TRUE(s.fits) << PrecisionName(p) << " " << s.memory.total() / gib << " GiB";
    }
    if (p == WeightPrecision::kInt8) EXPECT_NEAR(s.memory.weights / 1e9, 69.5, 0.5);
    if (p == WeightPrecision::kInt4) EXPECT_NEAR(s.memory.weights / 1e9, 43.6, 0.5);  // 0.625 B/weight
    // KV cache: 2 x 80 layers x 8 KV heads x 128 x 2 bytes = 320 KiB per token.
    EXPECT_NEAR(s.kv_bytes_per_token, 2.0 * 80 * 8 * 128 * 2, 1e-6);
  }
}

TEST(ServingValidation, BadRowsNameFileLineAndColumn) {
  auto missing = LoadPublishedServing(kCsv + ".nope");
  EXPECT_FALSE(missing.ok());
}
