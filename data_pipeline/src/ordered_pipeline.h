// read → process → write over a stream of items, on `threads` threads: read and write are
// serial and in order, process runs in parallel. Each thread takes whichever role has work
// (writing first, then processing, then reading: the serial_in_order filters of TBB's
// parallel_pipeline), so `threads` cores stay busy on `threads` threads and threads = 1 is a
// plain loop. At most `max_in_flight` items exist at once: memory is bounded by the items, not
// by the stream. The output order is the input order, whatever the thread count.
#ifndef ISOFLOP_DATA_PIPELINE_ORDERED_PIPELINE_H_
#define ISOFLOP_DATA_PIPELINE_ORDERED_PIPELINE_H_

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "isoflop/status.h"

namespace isoflop::data {

template <typename Item>
struct PipelineStages {
  // Fills a fresh item; false at the end of the stream (that item is dropped).
  std::function<StatusOr<bool>(Item*)> read;
  // Any thread, any order; `worker` in [0, threads) (per-thread caches).
  std::function<void(Item*, int worker)> process;
  // In read order.
  std::function<Status(Item*)> write;
};

template <typename Item>
Status RunOrderedPipeline(int threads, int max_in_flight, const PipelineStages<Item>& stages) {
  threads = std::max(1, threads);
  max_in_flight = std::max(1, max_in_flight);
  std::mutex mu;
  std::condition_variable cv;
  bool reading = false, writing = false, input_done = false;
  Status error;
  uint64_t next_read = 0, next_write = 0;
  int in_flight = 0;
  std::deque<std::pair<uint64_t, std::unique_ptr<Item>>> ready;  // read, not yet processed
  std::map<uint64_t, std::unique_ptr<Item>> processed;           // processed, not yet written

  auto worker = [&](int w) {
    std::unique_lock<std::mutex> lock(mu);
    while (error.ok() && !(input_done && in_flight == 0)) {
      if (!writing && !processed.empty() && processed.begin()->first == next_write) {
        writing = true;
        while (error.ok() && !processed.empty() && processed.begin()->first == next_write) {
          std::unique_ptr<Item> item = std::move(processed.begin()->second);
          processed.erase(processed.begin());
          lock.unlock();
          Status s = stages.write(item.get());
          item.reset();
          lock.lock();
          if (!s.ok() && error.ok()) error = s;
          ++next_write;
          --in_flight;
        }
        writing = false;
        cv.notify_all();
        continue;
      }
      if (!ready.empty()) {
        auto [seq, item] = std::move(ready.front());
        ready.pop_front();
        lock.unlock();
        stages.process(item.get(), w);
        lock.lock();
        processed.emplace(seq, std::move(item));
        cv.notify_all();
        continue;
      }
      if (!reading && !input_done && in_flight < max_in_flight) {
        reading = true;
        auto item = std::make_unique<Item>();
        lock.unlock();
        StatusOr<bool> more = stages.read(item.get());
        lock.lock();
        reading = false;
        if (!more.ok()) {
          if (error.ok()) error = more.status();
        } else if (!*more) {
          input_done = true;
        } else {
          ready.emplace_back(next_read++, std::move(item));
          ++in_flight;
        }
        cv.notify_all();
        continue;
      }
      cv.wait(lock);
    }
    cv.notify_all();
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < threads; ++w) pool.emplace_back(worker, w);
  worker(0);
  for (auto& t : pool) t.join();
  return error;
}

// How much to read into the next item of a pipeline whose items are `batch` bytes: with
// several threads, the first items are smaller (batch/8, /4, /2: the other threads start
// processing after a short read instead of a full one), and so are the last (once less than
// threads·batch is left, a quarter of what is left per thread, at least batch/8: the threads
// finish together instead of one processing the last full item alone). `done` and `total`
// (bytes; total <= 0: unknown) estimate where the stream is. Items never exceed `batch`, and
// the results do not depend on the sizes (every decision is per document).
inline size_t NextBatchBytes(size_t batch, uint64_t item, int64_t done, int64_t total, int threads) {
  if (threads <= 1 || batch < 8) return batch;
  size_t size = item < 3 ? batch >> (3 - item) : batch;
  if (total > 0) {
    const uint64_t left = done < total ? static_cast<uint64_t>(total - done) : 0;
    if (left < static_cast<uint64_t>(threads) * batch) size = std::min<size_t>(size, left / (4 * threads));
  }
  return std::max(size, batch / 8);
}

}  // namespace isoflop::data

#endif  // ISOFLOP_DATA_PIPELINE_ORDERED_PIPELINE_H_
