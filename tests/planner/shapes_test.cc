// The shape search: N within 2%, widths in multiples of 128, heads divisible by TP (8), aspect
// inside Kaplan et al. 2020's flat region; alternatives listed.
#include <gtest/gtest.h>

#include <cmath>

#include "isoflop/planner.h"

using namespace isoflop::planner;

TEST(Shapes, WithinTwoPercentAndHardwareFriendly) {
  for (double n : {1.2e8, 1e9, 7e9, 7e10, 4.05e11}) {
    ShapeSearchOptions o;
    auto shapes = ShapesForParams(n, o);
    ASSERT_FALSE(shapes.empty()) << n;
    EXPECT_GE(shapes.size(), 2u) << "alternatives for " << n;
    for (const ModelShape& m : shapes) {
      EXPECT_LE(std::abs(m.ParamsTotal() / n - 1), 0.02) << n;
      EXPECT_EQ(m.d_model % 128, 0);
      EXPECT_EQ(m.ffn % 128, 0);
      EXPECT_EQ(m.heads % std::min(8, m.heads), 0);
      EXPECT_EQ(m.heads % m.kv_heads, 0);
      const double aspect = static_cast<double>(m.d_model) / m.layers;
      EXPECT_GE(aspect, o.min_aspect);
      EXPECT_LE(aspect, o.max_aspect);
      std::string error;
      EXPECT_TRUE(m.IsValid(&error)) << error;
    }
  }
}

TEST(Shapes, GeluShapesUseFourTimesWidth) {
  ShapeSearchOptions o;
  o.mlp = Mlp::kGelu;
  auto shapes = ShapesForParams(1.3e9, o);
  ASSERT_FALSE(shapes.empty());
  EXPECT_EQ(shapes[0].ffn, 4 * shapes[0].d_model);
  EXPECT_EQ(shapes[0].kv_heads, shapes[0].heads);
}

TEST(Shapes, LlamaThree405BCountsItsParameters) {
  // LLaMA-3 405B (Dubey et al. 2024, Table 3): 126 layers, d 16384, 128 heads, 8 KV heads,
  // FFN 53248, vocab 128256 -> ~405B parameters.
  ModelShape m{126, 16384, 128, 8, 53248, 128256, 8192, Mlp::kSwiglu};
  EXPECT_NEAR(m.ParamsTotal() / 1e9, 405.9, 1.0);
}

TEST(Shapes, TooSmallGivesNothing) {
  EXPECT_TRUE(ShapesForParams(1000, {}).empty());
}
