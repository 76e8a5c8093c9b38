// Cluster, model and law files that are not what they should be (issue 15, findings 4 and 13): a
// directory instead of a file, a number that overflows double, an unknown or a repeated key, a bad
// value — each is kInvalidArgument naming the file and the line, never an exception (which used to
// end the process with SIGABRT). And a budget too large for any shape is called too large.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "isoflop/fit_record.h"
#include "isoflop/planner.h"

using namespace isoflop::planner;
using isoflop::Status;

namespace {

std::string Write(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "/isoflop_file_inputs_" + name;
  std::ofstream(path, std::ios::trunc) << text;
  return path;
}

std::string H100Text() {
  std::ifstream in(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/h100-sxm.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The 1-based line of `needle` in `text` (the shipped cluster file changes; the test follows it).
std::string LineOf(const std::string& text, const std::string& needle) {
  const size_t at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  return std::to_string(1 + std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

TEST(FileInputs, ADirectoryIsBadInputNotACrash) {
  const std::string dir = testing::TempDir();
  auto cluster = LoadClusterYaml(dir);
  ASSERT_FALSE(cluster.ok());
  EXPECT_EQ(cluster.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(cluster.status().message().find("is a directory"), std::string::npos)
      << cluster.status().message();
  auto model = LoadModelYaml(dir);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), Status::Code::kInvalidArgument);
  auto law = isoflop::LoadLaw(dir);
  ASSERT_FALSE(law.ok());
  EXPECT_EQ(law.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(law.status().message().find("is a directory"), std::string::npos) << law.status().message();
}

TEST(FileInputs, AFitJsonNumberThatOverflowsDoubleIsBadInput) {
  const std::string path =
      Write("overflow_fit.json", R"({"law": {"E": 1e999, "A": 1, "B": 1, "alpha": 0.3, "beta": 0.3}})");
  auto law = isoflop::LoadLaw(path);
  ASSERT_FALSE(law.ok());
  EXPECT_EQ(law.status().code(), Status::Code::kInvalidArgument) << law.status().ToString();
  EXPECT_NE(law.status().message().find(path), std::string::npos);
}

TEST(FileInputs, UnknownClusterKeyIsRefusedWithItsLine) {
  const std::string path = Write("typo.yaml", Replace(H100Text(), "  hbm_gib: 80", "  hbm_gb: 80"));
  auto c = LoadClusterYaml(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find(path + ":" + LineOf(H100Text(), "  hbm_gib: 80") + ": field 'gpu.hbm_gb' is not a known key"), std::string::npos)
      << c.status().message();
}

TEST(FileInputs, RepeatedClusterKeyIsRefusedWithItsLine) {
  const std::string text = H100Text();
  const std::string path = Write("twice.yaml", text + "nodes: 4\n");
  auto c = LoadClusterYaml(path);
  ASSERT_FALSE(c.ok());
  const int line = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  EXPECT_NE(c.status().message().find(path + ":" + std::to_string(line) + ": field 'nodes' is written twice"),
            std::string::npos)
      << c.status().message();
}

TEST(FileInputs, BadClusterAndModelValuesNameTheLine) {
  const std::string cluster = Write("neg.yaml", Replace(H100Text(), "pue: 1.10", "pue: 0.5"));
  auto c = LoadClusterYaml(cluster);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(cluster + ":" + LineOf(H100Text(), "pue: 1.10") + ": field 'pue' must be >= 1"), std::string::npos)
      << c.status().message();
  const std::string model =
      Write("model.yaml", "layers: 4\nd_model: 100\nheads: 3\nvocab: 256\nseq_len: 64\n");
  auto m = LoadModelYaml(model);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find(model + ":3: field 'heads' must divide d_model"), std::string::npos)
      << m.status().message();
  const std::string unknown =
      Write("model2.yaml", "layers: 4\nd_model: 128\nheads: 4\nvocab: 256\nseq_len: 64\nlayer: 3\n");
  auto u = LoadModelYaml(unknown);
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.status().message().find(unknown + ":6: field 'layer' is not a known key"), std::string::npos)
      << u.status().message();
}

TEST(FileInputs, ABudgetBeyondEveryShapeIsCalledTooLarge) {
  auto c = LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/h100-sxm.yaml");
  ASSERT_TRUE(c.ok());
  PlanOptions options;
  options.budget = 1e308;
  options.allow_extrapolation = true;  // past the evidence check (its own test), to the shape search
  PlanSummary plan;
  auto hoffmann = isoflop::LoadLaw("hoffmann");
  ASSERT_TRUE(hoffmann.ok());
  Status st = Plan(options, *hoffmann, *c, &plan);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("too large"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("too small"), std::string::npos) << st.message();
}

}  // namespace
