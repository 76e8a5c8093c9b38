// Cluster and model files: the shipped clusters load; model YAML round-trips with the shared keys.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "isoflop/planner.h"

using namespace isoflop::planner;

TEST(ConfigIo, ShippedClustersLoad) {
  for (const char* name : {"a100-80gb", "h100-sxm", "h200"}) {
    auto c = LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/" + name + ".yaml");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(c->name, name);
    EXPECT_GT(c->total_gpus(), 0);
  }
  auto h100 = LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/h100-sxm.yaml");
  EXPECT_DOUBLE_EQ(h100->peak_bf16_tflops, 989);
  EXPECT_EQ(h100->total_gpus(), 16384);
}

TEST(ConfigIo, ModelYamlRoundTripsWithTrainerKeys) {
  ModelShape m{32, 4096, 32, 8, 14336, 128256, 8192, Mlp::kSwiglu};
  const std::string path = testing::TempDir() + "/model.yaml";
  ASSERT_TRUE(SaveModelYaml(m, path).ok());
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  for (const char* key :
       {"layers:", "d_model:", "heads:", "kv_heads:", "ffn:", "vocab:", "seq_len:", "mlp: swiglu"})
    EXPECT_NE(text.str().find(key), std::string::npos) << key;
  auto back = LoadModelYaml(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->layers, 32);
  EXPECT_EQ(back->kv_heads, 8);
  EXPECT_EQ(back->ffn, 14336);
  EXPECT_EQ(back->mlp, Mlp::kSwiglu);
}

TEST(ConfigIo, ShippedModelsLoad) {
  for (const char* name : {"gpt3-175b", "llama3-405b"}) {
    auto m = LoadModelYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/models/" + name + ".yaml");
    ASSERT_TRUE(m.ok()) << m.status().ToString();
  }
}

TEST(ConfigIo, BadMlpIsNamed) {
  const std::string path = testing::TempDir() + "/bad_model.yaml";
  {
    std::ofstream out(path);
    out << "layers: 2\nd_model: 64\nheads: 2\nffn: 256\nvocab: 100\nseq_len: 32\nmlp: relu\n";
  }
  auto m = LoadModelYaml(path);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("'mlp'"), std::string::npos);
}
