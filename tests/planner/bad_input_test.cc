// Bad input gets a clear error naming the file and field, or the reason no layout fits.
#include <gtest/gtest.h>

#include <fstream>

#include "isoflop/planner.h"

using namespace isoflop::planner;

namespace {
std::string Cluster(const std::string& name) {
  return std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/" + name;
}

// Copies the H100 cluster file with one line replaced (or removed when `replacement` is empty).
std::string ClusterWith(const std::string& key_prefix, const std::string& replacement) {
  std::ifstream in(Cluster("h100-sxm.yaml"));
  const std::string path = testing::TempDir() + "/cluster_" +
                           std::to_string(std::hash<std::string>{}(key_prefix + replacement)) + ".yaml";
  std::ofstream out(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(key_prefix) != std::string::npos) {
      if (!replacement.empty()) out << replacement << "\n";
    } else {
      out << line << "\n";
    }
  }
  return path;
}
}  // namespace

TEST(BadInput, MissingClusterFileIsNotFoundAndNamed) {
  auto c = LoadClusterYaml("/nonexistent/cluster.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), isoflop::Status::Code::kNotFound);
  EXPECT_NE(c.status().message().find("/nonexistent/cluster.yaml"), std::string::npos);
}

TEST(BadInput, MissingFieldNamesFileAndField) {
  const std::string path = ClusterWith("hbm_bandwidth_gb_s", "");
  auto c = LoadClusterYaml(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), isoflop::Status::Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find(path), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("gpu.hbm_bandwidth_gb_s"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("missing"), std::string::npos) << c.status().message();
}

TEST(BadInput, NegativeFieldNamesFileAndField) {
  const std::string path = ClusterWith("peak_bf16_tflops", "  peak_bf16_tflops: -989");
  auto c = LoadClusterYaml(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), isoflop::Status::Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("gpu.peak_bf16_tflops"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("-989"), std::string::npos) << c.status().message();
  const std::string nodes = ClusterWith("nodes:", "nodes: -2");
  auto c2 = LoadClusterYaml(nodes);
  ASSERT_FALSE(c2.ok());
  EXPECT_NE(c2.status().message().find("'nodes'"), std::string::npos) << c2.status().message();
}

TEST(BadInput, BudgetSmallerThanOneOptimiserStep) {
  auto c = LoadClusterYaml(Cluster("h100-sxm.yaml"));
  ASSERT_TRUE(c.ok());
  ClusterSpec huge = *c;
  huge.nodes = 40000;  // 320,000 GPUs
  // 2e14 FLOPs: a ~1.7M-parameter model (byte vocabulary) on ~19M tokens = ~9,400 sequences, but
  // one step on 320,000 GPUs needs at least one sequence on each of thousands more replicas.
  PlanOptions options;
  options.budget = 2e14;
  options.vocab = 256;
  options.gpus = 320000;  // a fixed allocation: all of it
  PlanSummary plan;
  isoflop::Status st = Plan(options, isoflop::HoffmannRecord(), huge, &plan);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), isoflop::Status::Code::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("smaller than one optimiser step"), std::string::npos) << st.message();
  // The same budget on one node plans fine, and so does the sweep (it picks a small allocation).
  options.gpus = 8;
  EXPECT_TRUE(Plan(options, isoflop::HoffmannRecord(), huge, &plan).ok());
  options.gpus = 0;
  options.max_gpus = 64;
  ASSERT_TRUE(Plan(options, isoflop::HoffmannRecord(), huge, &plan).ok());
  EXPECT_LE(plan.gpus_allocated, 64);
}

TEST(BadInput, BudgetTooSmallForAnyShape) {
  auto c = LoadClusterYaml(Cluster("h100-sxm.yaml"));
  ASSERT_TRUE(c.ok());
  PlanOptions options;
  options.budget = 1e9;
  PlanSummary plan;
  isoflop::Status st = Plan(options, isoflop::HoffmannRecord(), *c, &plan);
  EXPECT_EQ(st.code(), isoflop::Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("too small"), std::string::npos) << st.message();
}

TEST(BadInput, ModelThatFitsNoLayoutSaysWhy) {
  auto c = LoadClusterYaml(Cluster("a100-80gb.yaml"));
  ASSERT_TRUE(c.ok());
  ModelShape huge{128, 25600, 160, 160, 102400, 51200, 2048, Mlp::kGelu};  // 1T parameters
  LayoutSearchOptions options;
  options.gpus = 8;  // one node
  options.global_batch = 512;
  auto r = SearchLayouts(huge, *c, PerfOptions{}, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), isoflop::Status::Code::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("no parallel layout"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("GiB"), std::string::npos) << r.status().message();
}

TEST(BadInput, InfeasibleLayoutNamesTheTermAndExcess) {
  auto c = LoadClusterYaml(Cluster("a100-80gb.yaml"));
  ASSERT_TRUE(c.ok());
  ModelShape m{96, 12288, 96, 96, 49152, 51200, 2048, Mlp::kGelu};  // GPT-3 175B
  ParallelConfig cfg;
  cfg.tp = 8;
  cfg.pp = 1;
  cfg.dp = 1;
  cfg.micro_batch = 1;
  cfg.global_batch = 1;
  cfg.zero = 0;
  PerfSummary s;
  ASSERT_TRUE(EvaluatePerf(m, *c, cfg, PerfOptions{}, &s).ok());
  EXPECT_FALSE(s.feasible);
  EXPECT_NE(s.infeasible_reason.find("exceeds by"), std::string::npos) << s.infeasible_reason;
  EXPECT_NE(s.infeasible_reason.find("optimizer states"), std::string::npos) << s.infeasible_reason;
}

TEST(BadInput, MalformedLayoutIsInvalidArgument) {
  auto c = LoadClusterYaml(Cluster("a100-80gb.yaml"));
  ASSERT_TRUE(c.ok());
  ModelShape m{24, 2304, 24, 24, 9216, 51200, 2048, Mlp::kGelu};
  ParallelConfig cfg;
  cfg.tp = 16;  // does not divide 24 heads
  PerfSummary s;
  isoflop::Status st = EvaluatePerf(m, *c, cfg, PerfOptions{}, &s);
  EXPECT_EQ(st.code(), isoflop::Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("--tp"), std::string::npos);
  cfg.tp = 1;
  cfg.dp = 4;
  cfg.micro_batch = 3;
  cfg.global_batch = 10;
  st = EvaluatePerf(m, *c, cfg, PerfOptions{}, &s);
  EXPECT_NE(st.message().find("--global-batch"), std::string::npos);
}

TEST(BadInput, FitJsonMissingKeyIsNamed) {
  const std::string path = testing::TempDir() + "/fit_missing_beta.json";
  {
    std::ofstream out(path);
    out << R"({"law": {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34}})";
  }
  auto law = isoflop::LoadLaw(path);
  ASSERT_FALSE(law.ok());
  EXPECT_NE(law.status().message().find("law.beta"), std::string::npos) << law.status().message();
  EXPECT_NE(law.status().message().find(path), std::string::npos);
}
