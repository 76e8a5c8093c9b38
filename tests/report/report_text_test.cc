// RenderText: the same findings on a terminal — law with intervals next to the published
// values, per-budget minima, flagged runs, the plan.
#include <string>

#include <gtest/gtest.h>

#include "isoflop/report.h"
#include "report_fixtures.h"

namespace isoflop::report {
namespace {

TEST(ReportText, ChinchillaSummaryShowsLawIntervalsAndReferences) {
  ReportSummary summary;
  auto text = RenderText(testing::ChinchillaInput(), ReportOptions{}, &summary);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_NE(text->find("runs: 245 (245 done"), std::string::npos) << *text;
  EXPECT_NE(text->find("Epoch 2024"), std::string::npos);
  EXPECT_NE(text->find("Hoffmann 2022"), std::string::npos);
  EXPECT_NE(text->find("Kaplan 2020"), std::string::npos);
  // Kaplan's exponent a = 0.73 closes the a row, Epoch's and Hoffmann's allocation exponents before it.
  const size_t a_row = text->find("\n  a ");
  ASSERT_NE(a_row, std::string::npos) << *text;
  const std::string a = text->substr(a_row, text->find('\n', a_row + 1) - a_row);
  EXPECT_EQ(a.substr(a.size() - 4), "0.73") << a;
  EXPECT_NE(a.find("0.5126"), std::string::npos) << a;  // Epoch: 0.3658 / (0.3478 + 0.3658)
  EXPECT_NE(a.find("0.4516"), std::string::npos) << a;  // Hoffmann: 0.28 / (0.34 + 0.28)
  // Epoch's published α = 0.3478 and Hoffmann's 0.34 sit in the α row.
  const size_t alpha_row = text->find("\n  α ");
  ASSERT_NE(alpha_row, std::string::npos);
  const std::string row = text->substr(alpha_row, text->find('\n', alpha_row + 1) - alpha_row);
  EXPECT_NE(row.find("0.3478"), std::string::npos) << row;
  EXPECT_NE(row.find("0.34"), std::string::npos) << row;
  EXPECT_NE(row.find("["), std::string::npos) << row;  // the bootstrap interval
  EXPECT_NE(text->find("Plan: C = 1.00e+23 FLOP"), std::string::npos) << *text;
  EXPECT_NE(text->find("predicted MFU [%]                   45.04"), std::string::npos) << *text;
  EXPECT_NE(text->find("wall-clock [h]                      64.35"), std::string::npos);
  EXPECT_NE(text->find("Flagged runs"), std::string::npos);
}

TEST(ReportText, LiveSweepListsBudgetMinimaAndTheDivergedRun) {
  auto text = RenderText(testing::LlamaSweepInput(), ReportOptions{});
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_NE(text->find("1 running"), std::string::npos);
  EXPECT_NE(text->find("1 failed"), std::string::npos);
  EXPECT_NE(text->find("in 10 compute budgets"), std::string::npos);
  EXPECT_NE(text->find("llama3-008"), std::string::npos);  // the diverged one, flagged
  EXPECT_NE(text->find("diverged"), std::string::npos);
}

}  // namespace
}  // namespace isoflop::report
