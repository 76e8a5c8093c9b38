// FitOptions: defaults are valid, bad values are named, too few points is an input error.
#include <gtest/gtest.h>

#include "isoflop/fitter.h"

namespace isoflop {
namespace {

TEST(FitOptionsTest, DefaultsAreValidAndFollowHoffmann) {
  FitOptions o;
  std::string error;
  EXPECT_TRUE(o.IsValid(&error)) << error;
  EXPECT_EQ(o.huber_delta, 1e-3);
  EXPECT_EQ(o.method, FitMethod::kApproach3);
  EXPECT_GT(o.max_iterations, 50);  // Ceres' default (50) would stop starts early
  EXPECT_EQ(HoffmannGrid().size(), 4500u);
}

TEST(FitOptionsTest, BadValuesAreNamed) {
  std::string error;
  FitOptions o;
  o.huber_delta = 0;
  EXPECT_FALSE(o.IsValid(&error));
  EXPECT_NE(error.find("huber_delta"), std::string::npos);
  o = FitOptions{};
  o.drop_highest_loss = -1;
  EXPECT_FALSE(o.IsValid(&error));
  EXPECT_NE(error.find("drop_highest_loss"), std::string::npos);
  o = FitOptions{};
  o.method = FitMethod::kPublished;  // names a published law: nothing to fit
  EXPECT_FALSE(o.IsValid(&error));
  EXPECT_NE(error.find("published"), std::string::npos);
  o = FitOptions{};
  o.bootstrap_resamples = 10;  // every method has intervals with a bootstrap (issue 11)
  o.method = FitMethod::kParabola;
  EXPECT_TRUE(o.IsValid(&error)) << error;
}

TEST(FitOptionsTest, FewerPointsThanParametersIsInvalidArgument) {
  std::vector<RunPoint> runs(4);
  for (int i = 0; i < 4; ++i) {
    runs[i].params = 1e8 * (i + 1);
    runs[i].tokens = 1e9;
    runs[i].loss = 3.0 - 0.1 * i;
  }
  FitSummary summary;
  const Status s = Fit(runs, FitOptions{}, &summary);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("4 points"), std::string::npos) << s.message();
}

TEST(FitOptionsTest, NamesRoundTrip) {
  for (auto m : {FitMethod::kApproach3, FitMethod::kEnvelope, FitMethod::kParabola, FitMethod::kAll})
    EXPECT_EQ(*ParseFitMethod(FitMethodName(m)), m);
  EXPECT_FALSE(ParseFitMethod("approach4").ok());
  EXPECT_EQ(*ParseLawForm("data-constrained"), LawForm::kDataConstrained);
  EXPECT_FALSE(ParseLawForm("kaplan").ok());
}

}  // namespace
}  // namespace isoflop
