// The plotter's axes: log ticks at decades (or 1-2-5 within a decade), readable labels, and
// text escaped so the SVG stays well-formed.
#include <string>

#include <gtest/gtest.h>

#include "isoflop/report.h"
#include "svg_plot.h"

namespace isoflop::report::internal {
namespace {

TEST(ReportSvgAxes, LogTicksAtDecadesWithSuperscripts) {
  const auto ticks = MakeTicks(Scale::kLog, 3e17, 2e22);
  ASSERT_EQ(ticks.size(), 5u);  // 1e18 .. 1e22
  EXPECT_DOUBLE_EQ(ticks.front().value, 1e18);
  EXPECT_DOUBLE_EQ(ticks.back().value, 1e22);
  EXPECT_EQ(ticks.front().label_svg, "10¹⁸");
}

TEST(ReportSvgAxes, NarrowLogRangeGetsPlainNumberTicks) {
  const auto ticks = MakeTicks(Scale::kLog, 1.9, 5.2);  // losses
  ASSERT_GE(ticks.size(), 4u);
  EXPECT_DOUBLE_EQ(ticks.front().value, 2);
  EXPECT_EQ(ticks.front().label_svg, "2");
  EXPECT_DOUBLE_EQ(ticks.back().value, 5);
}

TEST(ReportSvgAxes, CrowdedLogTicksLabelOnlyOneTwoFive) {
  const auto ticks = MakeTicks(Scale::kLog, 11000, 160000);  // the demo's parameter range
  int labelled = 0;
  for (const auto& t : ticks) labelled += !t.label_svg.empty();
  EXPECT_LE(labelled, 6);
  EXPECT_GT(ticks.size(), static_cast<size_t>(labelled));  // unlabelled grid lines remain
}

TEST(ReportSvgAxes, LinearTicksAreNiceNumbers) {
  const auto ticks = MakeTicks(Scale::kLinear, -0.13, 0.21);
  ASSERT_FALSE(ticks.empty());
  for (const auto& t : ticks)
    EXPECT_NEAR(t.value * 20, std::round(t.value * 20), 1e-9) << t.value;  // step 0.05
  bool zero = false;
  for (const auto& t : ticks) zero |= t.label_svg == "0";
  EXPECT_TRUE(zero);
}

TEST(ReportSvgAxes, NumbersFormatForAxesAndTables) {
  EXPECT_EQ(FormatNumberSvg(6e18), "6×10¹⁸");
  EXPECT_EQ(FormatNumberSvg(1e-5), "10⁻⁵");
  EXPECT_EQ(FormatNumberSvg(20), "20");
  EXPECT_EQ(FormatNumber(1.2345e9), "1.23e+09");
  EXPECT_EQ(FormatNumber(0.3473, 4), "0.3473");
}

TEST(ReportSvgAxes, LabelsAreEscaped) {
  SvgPlot plot("p", Axis{"a < b & \"c\"", Scale::kLinear}, Axis{"y", Scale::kLinear}, 600, 400);
  plot.AddPoints("<script>", {1, 2}, {1, 2}, Style{}, {"x & y", "'q'"});
  const std::string svg = plot.Render();
  EXPECT_EQ(svg.find("<script>"), std::string::npos);
  EXPECT_NE(svg.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(svg.find("a &lt; b &amp; &quot;c&quot;"), std::string::npos);
  EXPECT_NE(svg.find("<title>x &amp; y</title>"), std::string::npos);
}

}  // namespace
}  // namespace isoflop::report::internal
