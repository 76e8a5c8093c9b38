// The build's tokenizer (decide stage): trained on a bounded, deterministic sample of the kept
// documents — those of smallest content hash, until tokenizer.max_train_bytes is reached (the
// document that crosses it included; every document when they are fewer). A content hash is a
// uniform draw, so the sample spreads over the whole corpus (not its first files), and it is
// the same whatever the order of the inputs' groups, tasks or threads. Counting runs on every
// thread (one BpeTrainer each, merged: counts are sums); the merges are learned once.
#include <algorithm>
#include <queue>

#include "build_stages.h"
#include "isoflop/hf_tokenizer.h"
#include "isoflop/parallel_for.h"

namespace isoflop::data {
namespace {

struct Candidate {
  uint64_t high = 0, low = 0, global = 0, bytes = 0;
  bool operator<(const Candidate& o) const {  // by content hash, then document
    if (high != o.high) return high < o.high;
    if (low != o.low) return low < o.low;
    return global < o.global;
  }
};

}  // namespace

Status TrainBuildTokenizer(const BuildPlan& plan, const GroupIndex& groups, const std::vector<Drop>& drops,
                           int threads, bool progress, json* result) {
  const BuildOptions& options = plan.options;
  const std::string path = plan.work_dir + "/tokenizer.json";
  if (!options.tokenizer_path.empty()) {
    const std::string given = plan.Resolve(options.tokenizer_path);
    auto loaded = LoadTokenizerFile(given, options.tokenizer_eos);  // isoflop's or Hugging Face's
    if (!loaded.ok()) return Status::InvalidArgument("--tokenizer " + loaded.status().message());
    // A Hugging Face file is the shards' tokenizer.json as it is (its own ids, byte for byte);
    // isoflop's is rewritten canonically.
    std::string file = loaded->ToJson();
    if (!loaded->is_isoflop_layout()) {
      auto bytes = ReadText(given);
      if (!bytes.ok()) return bytes.status();
      file = std::move(*bytes);
    }
    ISOFLOP_RETURN_IF_ERROR(WriteTaskFile(plan, path, file));
    (*result)["tokenizer"] = {{"trained", false}, {"train_bytes", 0}, {"train_documents", 0}};
    return Status::OK();
  }
  // The sample: a max-heap of the smallest hashes holding just enough bytes.
  const uint64_t cap = static_cast<uint64_t>(options.tokenizer.max_train_bytes);
  std::priority_queue<Candidate> sample;
  uint64_t sample_bytes = 0;
  size_t next_drop = 0;
  for (int g = 0; g < plan.num_groups(); ++g) {
    auto metas = ReadRecords<DocMeta>(StageFile(plan, "scan", TaskName(g) + ".meta"));
    if (!metas.ok()) return metas.status();
    for (size_t d = 0; d < metas->size(); ++d) {
      const uint64_t global = groups.base[g] + d;
      while (next_drop < drops.size() && drops[next_drop].local < global) ++next_drop;
      if (next_drop < drops.size() && drops[next_drop].local == global) continue;
      const DocMeta& m = (*metas)[d];
      sample.push({m.hash.high, m.hash.low, global, m.text_bytes});
      sample_bytes += m.text_bytes;
      while (sample_bytes - sample.top().bytes >= cap) {
        sample_bytes -= sample.top().bytes;
        sample.pop();
      }
    }
  }
  std::vector<uint64_t> docs;
  while (!sample.empty()) {
    docs.push_back(sample.top().global);
    sample.pop();
  }
  std::sort(docs.begin(), docs.end());  // read in file order
  if (progress) {
    std::fprintf(stderr, "isoflop data build: tokenizer  counting %zu documents (%.1f MB) on %d thread(s)\n",
                 docs.size(), sample_bytes / 1e6, threads);
  }
  BpeTrainerOptions counting = options.tokenizer;
  counting.max_train_bytes = INT64_MAX;  // the sample is the bound
  const int workers = std::max(1, std::min<int>(threads, static_cast<int>(docs.size())));
  struct alignas(64) Counter {  // a cache line of its own: each thread writes its trainer per chunk
    explicit Counter(const BpeTrainerOptions& options) : trainer(options) {}
    BpeTrainer trainer;
    Status status;
  };
  std::vector<Counter> counters;
  counters.reserve(workers);
  for (int w = 0; w < workers; ++w) counters.emplace_back(counting);
  DocStore store(plan, groups);
  ParallelFor(workers, workers, [&](int, size_t w) {
    std::string id, text;
    for (size_t i = w; i < docs.size(); i += workers) {  // interleaved: equal shares of the work
      Status s = store.Read(docs[i], &id, &text);
      if (!s.ok()) {
        counters[w].status = s;
        return;
      }
      counters[w].trainer.Add(text);
    }
  });
  for (const Counter& c : counters) ISOFLOP_RETURN_IF_ERROR(c.status);
  for (int w = 1; w < workers; ++w) counters[0].trainer.Merge(counters[w].trainer);
  BpeTokenizer tokenizer = counters[0].trainer.Train();
  ISOFLOP_RETURN_IF_ERROR(WriteTaskFile(plan, path, tokenizer.ToJson()));
  (*result)["tokenizer"] = {
      {"trained", true}, {"train_bytes", sample_bytes}, {"train_documents", docs.size()}};
  return Status::OK();
}

}  // namespace isoflop::data
