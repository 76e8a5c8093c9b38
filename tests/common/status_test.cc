#include "isoflop/status.h"

#include <gtest/gtest.h>

namespace isoflop {
namespace {

StatusOr<int> ParsePositive(int v) {
  if (v <= 0) return Status::InvalidArgument("runs.csv:3: column 'loss': must be positive");
  return v;
}

TEST(StatusTest, OkAndErrorCarryCodeAndMessage) {
  EXPECT_TRUE(Status::OK().ok());
  Status s = Status::InvalidArgument("runs.csv:3: column 'loss'");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.ToString(), "invalid argument: runs.csv:3: column 'loss'");
  EXPECT_EQ(s.WithContext("fit").message(), "fit: runs.csv:3: column 'loss'");
}

TEST(StatusTest, StatusOrHoldsValueOrError) {
  auto good = ParsePositive(4);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 4);
  auto bad = ParsePositive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace isoflop
