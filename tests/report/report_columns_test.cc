// LoadRunsCsv with --columns/--where (the fitter's syntax): the Llama 3 IsoFLOP points, whose
// columns are named compute_budget/training_tokens/validation_loss, read under those names, and a
// filter keeps one budget; unknown names are errors naming the file and the flag.
#include <gtest/gtest.h>

#include "isoflop/report.h"

namespace isoflop::report {
namespace {

const std::string kLlama3 = std::string(ISOFLOP_TEST_DATA_DIR) + "/llama3_isoflops_points_ericczech.csv";

TEST(ReportColumns, MappedColumnsAndWhere) {
  RunsCsvOptions o;
  o.columns = {{"flops", "compute_budget"}, {"tokens", "training_tokens"}, {"loss", "validation_loss"}};
  auto all = LoadRunsCsv(kLlama3, o);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->size(), 133u);  // tests/data/PROVENANCE.md: 133 points, 10 budgets
  EXPECT_DOUBLE_EQ(all->front().flops, 6e18);
  EXPECT_DOUBLE_EQ(all->front().tokens, 1579500858.99);
  EXPECT_DOUBLE_EQ(all->front().loss, 0.919843406813);
  EXPECT_DOUBLE_EQ(all->front().params, 6e18 / (6 * 1579500858.99));  // C = 6ND

  o.where = {{"compute_budget", "6e18"}};
  auto one = LoadRunsCsv(kLlama3, o);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_GT(one->size(), 5u);
  EXPECT_LT(one->size(), all->size());
  for (const auto& r : *one) EXPECT_DOUBLE_EQ(r.flops, 6e18);
}

TEST(ReportColumns, UnknownNamesAreBadInput) {
  RunsCsvOptions o;
  o.columns = {{"loss", "no_such_column"}};
  auto bad = LoadRunsCsv(kLlama3, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("--columns"), std::string::npos);
  EXPECT_NE(bad.status().message().find("llama3_isoflops_points_ericczech.csv"), std::string::npos);
  o.columns = {{"flops", "compute_budget"}, {"tokens", "training_tokens"}, {"loss", "validation_loss"}};
  o.where = {{"compute_budget", "1"}};
  auto none = LoadRunsCsv(kLlama3, o);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("--where"), std::string::npos);
}

}  // namespace
}  // namespace isoflop::report
