// The batch sizes of the build's pipelines (NextBatchBytes): never more than batch_bytes (the
// memory bound of docs/data.md), smaller first and last batches only with several threads, and
// the whole stream still read in a handful of batches.
#include <gtest/gtest.h>

#include <vector>

#include "ordered_pipeline.h"

namespace isoflop::data {
namespace {

// The sizes a pipeline asks for while reading a stream of `total` bytes (each batch as big as
// asked for, the last one what is left).
std::vector<size_t> Batches(size_t batch, int64_t total, int threads) {
  std::vector<size_t> sizes;
  int64_t done = 0;
  for (uint64_t item = 0; done < total; ++item) {
    const size_t size = NextBatchBytes(batch, item, done, total, threads);
    sizes.push_back(size);
    done += static_cast<int64_t>(size);
  }
  return sizes;
}

TEST(PipelineBatchSizes, OneThreadReadsFullBatches) {
  for (size_t size : Batches(8 << 20, 200'000'000, 1)) EXPECT_EQ(size, size_t{8} << 20);
}

TEST(PipelineBatchSizes, SeveralThreadsRampUpAndDownWithinTheBound) {
  const size_t batch = 8 << 20;
  for (int threads : {2, 3, 8}) {
    const std::vector<size_t> sizes = Batches(batch, 200'000'000, threads);
    ASSERT_GE(sizes.size(), 4u);
    EXPECT_EQ(sizes[0], batch / 8);
    EXPECT_EQ(sizes[1], batch / 4);
    EXPECT_EQ(sizes[2], batch / 2);
    for (size_t size : sizes) {
      EXPECT_LE(size, batch);
      EXPECT_GE(size, batch / 8);
    }
    EXPECT_EQ(sizes.back(), batch / 8) << threads << " threads: the last batches are small";
    // Full batches in the middle (24 of them with one thread); the smaller ones at the ends
    // add 14 with 2 threads, 48 with 8.
    EXPECT_LE(sizes.size(), 25u + 3u + 9u * threads) << threads << " threads";
    EXPECT_GE(sizes.size(), 25u) << threads << " threads";
  }
}

TEST(PipelineBatchSizes, UnknownOrPassedTotalKeepsTheBound) {
  const size_t batch = 1000;
  EXPECT_EQ(NextBatchBytes(batch, 10, 5000, 0, 2), batch);         // total unknown: full batches
  EXPECT_EQ(NextBatchBytes(batch, 10, 9000, 8000, 2), batch / 8);  // read past the estimate
  EXPECT_EQ(NextBatchBytes(5, 0, 0, 100, 2), 5u);                  // tiny batches are not split
}

}  // namespace
}  // namespace isoflop::data
