// A minimal parallel-for: `threads` workers pull indices from an atomic counter. Results
// are written by index, so the output never depends on the thread count or scheduling.
#ifndef ISOFLOP_DATA_PIPELINE_PARALLEL_H_
#define ISOFLOP_DATA_PIPELINE_PARALLEL_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace isoflop::data {

// Calls fn(worker, index) for every index in [0, n); worker is in [0, threads).
template <typename Fn>
void ParallelFor(size_t n, int threads, Fn&& fn) {
  threads = std::max(1, std::min<int>(threads, static_cast<int>(std::max<size_t>(n, 1))));
  std::atomic<size_t> next{0};
  auto work = [&](int worker) {
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(worker, i);
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < threads; ++w) pool.emplace_back(work, w);
  work(0);
  for (auto& t : pool) t.join();
}

}  // namespace isoflop::data

#endif  // ISOFLOP_DATA_PIPELINE_PARALLEL_H_
