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

// value() on an error aborts with the error's message in every build type (Release included: not an
// assert that vanishes under NDEBUG and leaves undefined behaviour).
TEST(StatusDeathTest, ValueOnAnErrorAbortsWithTheMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto bad = ParsePositive(-1);
  EXPECT_DEATH((void)bad.value(),
               "StatusOr::value\\(\\) on an error: invalid argument: runs.csv:3: column 'loss'");
  EXPECT_DEATH((void)*bad, "runs.csv:3");
}

TEST(StatusTest, StatusOrFromOkStatusIsAnInternalError) {
  StatusOr<int> odd{Status::OK()};
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.status().code(), Status::Code::kInternal);
}

}  // namespace
}  // namespace isoflop
