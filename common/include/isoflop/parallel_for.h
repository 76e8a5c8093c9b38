// The one parallel-for of the project (issue 15): `threads` workers pull indices from an atomic
// counter, so each index runs exactly once, and results written by index never depend on the thread
// count or the scheduling. Header-only (a template); standard library only, so the standalone trainer
// build can use it too.
#ifndef ISOFLOP_PARALLEL_FOR_H_
#define ISOFLOP_PARALLEL_FOR_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <type_traits>
#include <vector>

namespace isoflop {

// Calls fn(i), or fn(worker, i) when fn takes two arguments, for every i in [0, n); worker is in
// [0, threads) and identifies the calling thread (per-thread scratch space). threads <= 1 or n <= 1:
// runs inline, in order, on the calling thread. The calling thread is worker 0.
template <typename Index, typename Fn>
void ParallelFor(Index n, int threads, Fn&& fn) {
  static_assert(std::is_integral_v<Index>, "ParallelFor: the count must be an integer");
  auto call = [&fn](int worker, Index i) {
    if constexpr (std::is_invocable_v<Fn&, int, Index>) {
      fn(worker, i);
    } else {
      (void)worker;
      fn(i);
    }
  };
  if (n <= 0) return;
  const long long count = static_cast<long long>(n);
  const int workers = static_cast<int>(std::max(1LL, std::min<long long>(threads, count)));
  if (workers == 1) {
    for (Index i = 0; i < n; ++i) call(0, i);
    return;
  }
  std::atomic<long long> next{0};
  auto work = [&](int worker) {
    for (long long i = next.fetch_add(1); i < count; i = next.fetch_add(1))
      call(worker, static_cast<Index>(i));
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(workers - 1));
  for (int w = 1; w < workers; ++w) pool.emplace_back(work, w);
  work(0);
  for (auto& t : pool) t.join();
}

}  // namespace isoflop

#endif  // ISOFLOP_PARALLEL_FOR_H_
