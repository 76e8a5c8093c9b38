// ParallelFor (common/include/isoflop/parallel_for.h): each index exactly once, any thread count,
// with or without the worker argument; the worker id stays in [0, threads).
#include "isoflop/parallel_for.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace isoflop {
namespace {

TEST(ParallelForTest, EachIndexExactlyOnceForAnyThreadCount) {
  for (int threads : {0, 1, 2, 3, 8, 64}) {
    std::vector<std::atomic<int>> hits(1000);
    ParallelFor(1000, threads, [&](int i) { hits[i].fetch_add(1); });
    for (const auto& h : hits) ASSERT_EQ(h.load(), 1) << threads << " threads";
  }
}

TEST(ParallelForTest, WorkerIdIsBelowTheThreadCount) {
  std::vector<std::atomic<int>> per_worker(4);
  std::atomic<size_t> sum{0};
  ParallelFor(size_t{500}, 4, [&](int worker, size_t i) {
    ASSERT_GE(worker, 0);
    ASSERT_LT(worker, 4);
    per_worker[worker].fetch_add(1);
    sum.fetch_add(i);
  });
  EXPECT_EQ(sum.load(), 500u * 499u / 2);
  int total = 0;
  for (const auto& w : per_worker) total += w.load();
  EXPECT_EQ(total, 500);
}

TEST(ParallelForTest, NothingToDo) {
  int calls = 0;
  ParallelFor(0, 4, [&](int) { ++calls; });
  ParallelFor(-3, 4, [&](int) { ++calls; });
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace isoflop
