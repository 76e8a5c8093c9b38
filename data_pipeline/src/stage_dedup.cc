// Stages 2–4: near and exact deduplication, decided per document so that the work splits
// into tasks and the result does not depend on the split (docs/data.md, "Near dedup").
//
//  bands  (per item: one band, or the exact pseudo-band, and one key range of it): merges the
//         groups' sorted key runs; in each bucket (documents whose band rows are equal) every
//         member is proposed with the bucket's first min(i, 16) earlier members as anchors. The
//         exact pseudo-band's buckets are documents of equal content hash: every later member is
//         an exact duplicate of the first.
//  verify (per group of target documents): for each document that is not an exact duplicate,
//         its proposals in band order; within a band its anchors are checked in order until one
//         passes (exact Jaccard of the shingle sets ≥ verify_threshold by default). A pair is
//         checked at most once per document, and an anchor with the content of one already
//         checked is not checked again. Each passing pair is an edge.
//  decide (one task): the connected components of the edges (union–find; the root is the
//         earliest document), the drops of every group, and the tokenizer, trained on a bounded
//         sample of the kept documents: those of smallest content hash until
//         tokenizer.max_train_bytes (all of them when they are fewer).
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <filesystem>
#include <queue>
#include <unordered_map>

#include "build_stages.h"
#include "isoflop/parallel_for.h"

namespace isoflop::data {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxAnchors = 16;  // earlier bucket members a document is compared with, per band
// Shingle sets kept per verify thread (~24 KB each for a 17 KB document).
constexpr size_t kShingleCacheDocs = 2048;
// Records a merge cursor buffers per sorted run (16 KiB of BandKey): a bands task holds one per
// run of every group.
constexpr uint64_t kCursorRecords = 1024;

// Items of the bands stage: item / partitions is the band (0: exact pseudo-band, b + 1: band b),
// item % partitions the key range.
int NumItems(const BuildPlan& plan) {
  return (1 + (plan.options.skip_near ? 0 : plan.options.minhash.num_bands)) * plan.band_partitions;
}
int ItemBand(const BuildPlan& plan, int item) {
  return item / plan.band_partitions - 1;
}  // -1: exact
uint64_t PartitionStart(const BuildPlan& plan, int partition) {
  if (partition <= 0) return 0;
  return static_cast<uint64_t>((static_cast<unsigned __int128>(partition) << 64) / plan.band_partitions);
}
std::string ItemName(int item) {
  return "i" + TaskName(item);
}  // not a task's name

// A read cursor over one sorted run of Key records inside a keys file.
template <typename Key>
class RunCursor {
 public:
  Status Open(int fd, uint64_t first, uint64_t count, uint64_t key_begin, const std::string& what) {
    fd_ = fd;
    what_ = what;
    end_ = first + count;
    // The first record with key >= key_begin (binary search with pread).
    uint64_t lo = first, hi = end_;
    while (lo < hi) {
      uint64_t mid = lo + (hi - lo) / 2;
      Key k;
      ISOFLOP_RETURN_IF_ERROR(PRead(fd_, mid * sizeof(Key), &k, sizeof(Key), what_));
      if (KeyOf(k) < key_begin) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    next_ = lo;
    return Fill();
  }
  bool done() const { return pos_ == buffer_.size(); }
  const Key& current() const { return buffer_[pos_]; }
  Status Advance() {
    ++pos_;
    return pos_ == buffer_.size() ? Fill() : Status::OK();
  }
  static uint64_t KeyOf(const Key& k) {
    if constexpr (std::is_same_v<Key, ExactKey>) {
      return k.low;
    } else {
      return k.key;
    }
  }

 private:
  Status Fill() {
    buffer_.clear();
    pos_ = 0;
    const uint64_t take = std::min<uint64_t>(kCursorRecords, end_ - next_);
    if (take == 0) return Status::OK();
    buffer_.resize(take);
    ISOFLOP_RETURN_IF_ERROR(PRead(fd_, next_ * sizeof(Key), buffer_.data(), take * sizeof(Key), what_));
    next_ += take;
    return Status::OK();
  }
  int fd_ = -1;
  std::string what_;
  uint64_t next_ = 0, end_ = 0;
  std::vector<Key> buffer_;
  size_t pos_ = 0;
};

// Merges every group's runs of one band in (key, global document) order, within [lo, hi).
template <typename Key>
class BandMerge {
 public:
  ~BandMerge() {
    for (int fd : fds_) ::close(fd);
  }
  Status Open(const BuildPlan& plan, const GroupIndex& groups, const std::string& band_name, uint64_t lo,
              uint64_t hi, bool last_partition) {
    hi_ = hi;
    last_partition_ = last_partition;
    for (int g = 0; g < plan.num_groups(); ++g) {
      auto scan = ReadTaskResult(plan, "scan", g);
      if (!scan.ok()) return scan.status();
      const json& runs = scan->at("runs");
      if (!runs.contains(band_name)) continue;
      const std::string path = StageFile(plan, "scan", TaskName(g) + ".keys-" + band_name);
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
      fds_.push_back(fd);
      uint64_t first = 0;
      for (uint64_t count : runs.at(band_name).get<std::vector<uint64_t>>()) {
        auto cursor = std::make_unique<RunCursor<Key>>();
        ISOFLOP_RETURN_IF_ERROR(cursor->Open(fd, first, count, lo, path));
        first += count;
        base_.push_back(groups.base[g]);
        cursors_.push_back(std::move(cursor));
        Push(cursors_.size() - 1);
      }
    }
    return Status::OK();
  }
  // The next (key record, global document); false at the end of the range.
  StatusOr<bool> Next(Key* key, uint64_t* global) {
    if (heap_.empty()) return false;
    const size_t c = heap_.top().second;
    heap_.pop();
    *key = cursors_[c]->current();
    *global = base_[c] + key->local;
    ISOFLOP_RETURN_IF_ERROR(cursors_[c]->Advance());
    Push(c);
    return true;
  }

 private:
  struct Order {
    uint64_t key_low, key_high, global;
    bool operator>(const Order& o) const {
      if (key_low != o.key_low) return key_low > o.key_low;
      if (key_high != o.key_high) return key_high > o.key_high;
      return global > o.global;
    }
  };
  void Push(size_t c) {
    if (cursors_[c]->done()) return;
    const Key& k = cursors_[c]->current();
    const uint64_t key = RunCursor<Key>::KeyOf(k);
    if (!last_partition_ && key >= hi_) return;
    uint64_t high = 0;
    if constexpr (std::is_same_v<Key, ExactKey>) high = k.high;
    heap_.push({Order{key, high, base_[c] + k.local}, c});
  }
  struct Greater {
    bool operator()(const std::pair<Order, size_t>& a, const std::pair<Order, size_t>& b) const {
      return a.first > b.first;
    }
  };
  uint64_t hi_ = 0;
  bool last_partition_ = true;
  std::vector<int> fds_;
  std::vector<uint64_t> base_;
  std::vector<std::unique_ptr<RunCursor<Key>>> cursors_;
  std::priority_queue<std::pair<Order, size_t>, std::vector<std::pair<Order, size_t>>, Greater> heap_;
};

// A document proposed for checking against its anchors, in one band. In memory the anchors of
// every proposal live in one array (most proposals have one or two); on disk a proposal is its
// 16-byte header (target, band, count) followed by its anchors.
struct Proposal {
  uint64_t target = 0;
  uint32_t band = 0;
  uint32_t num_anchors = 0;
  uint64_t first_anchor = 0;  // index into Proposals::anchors (in memory only)
};
constexpr size_t kProposalHeaderBytes = 16;

struct Proposals {
  std::vector<Proposal> items;
  std::vector<uint64_t> anchors;
  const uint64_t* AnchorsOf(const Proposal& p) const { return anchors.data() + p.first_anchor; }
};

Status RunBandItem(const BuildPlan& plan, const GroupIndex& groups, int item, json* result) {
  const int band = ItemBand(plan, item);
  const int partition = item % plan.band_partitions;
  const uint64_t lo = PartitionStart(plan, partition);
  const uint64_t hi = PartitionStart(plan, partition + 1);
  const bool last = partition == plan.band_partitions - 1;
  const std::string stem = StageFile(plan, "bands", ItemName(item));
  if (band < 0) {  // exact duplicates: equal content hash
    if (plan.options.skip_exact) return Status::OK();
    BandMerge<ExactKey> merge;
    ISOFLOP_RETURN_IF_ERROR(merge.Open(plan, groups, "xx", lo, hi, last));
    std::vector<ExactDup> dups;
    ExactKey key, first_key;
    uint64_t global = 0, first = 0;
    bool have = false;
    while (true) {
      auto more = merge.Next(&key, &global);
      if (!more.ok()) return more.status();
      if (!*more) break;
      if (have && key.low == first_key.low && key.high == first_key.high) {
        dups.push_back({global, first});
      } else {
        first_key = key;
        first = global;
        have = true;
      }
    }
    std::sort(dups.begin(), dups.end(), [](const ExactDup& a, const ExactDup& b) { return a.dup < b.dup; });
    OutFile out;
    ISOFLOP_RETURN_IF_ERROR(out.Open(stem + ".dups"));
    ISOFLOP_RETURN_IF_ERROR(out.WriteRecords(dups));
    ISOFLOP_RETURN_IF_ERROR(out.Commit());
    (*result)["exact_dups"] = dups.size();
    return Status::OK();
  }
  BandMerge<BandKey> merge;
  ISOFLOP_RETURN_IF_ERROR(merge.Open(plan, groups, BandName(band), lo, hi, last));
  Proposals proposals;
  BandKey key;
  uint64_t global = 0, bucket_key = 0;
  uint64_t anchors[kMaxAnchors];
  int members = 0;  // in the current bucket so far
  while (true) {
    auto more = merge.Next(&key, &global);
    if (!more.ok()) return more.status();
    if (!*more) break;
    if (members == 0 || key.key != bucket_key) {
      bucket_key = key.key;
      members = 0;
    }
    if (members > 0) {
      Proposal p;
      p.target = global;
      p.band = static_cast<uint32_t>(band);
      p.num_anchors = static_cast<uint32_t>(std::min(members, kMaxAnchors));
      p.first_anchor = proposals.anchors.size();
      proposals.anchors.insert(proposals.anchors.end(), anchors, anchors + p.num_anchors);
      proposals.items.push_back(p);
    }
    if (members < kMaxAnchors) anchors[members] = global;
    ++members;
  }
  // A document has one key per band: one proposal per target here.
  std::sort(proposals.items.begin(), proposals.items.end(),
            [](const Proposal& a, const Proposal& b) { return a.target < b.target; });
  // Written compactly (target, band, count, anchors) with the offset of each group's first.
  OutFile out, index;
  ISOFLOP_RETURN_IF_ERROR(out.Open(stem + ".prop"));
  ISOFLOP_RETURN_IF_ERROR(index.Open(stem + ".index"));
  std::vector<uint64_t> offsets(plan.num_groups() + 1, 0);
  size_t next = 0;
  const size_t count = proposals.items.size();
  for (int g = 0; g <= plan.num_groups(); ++g) {
    while (next < count && (g == plan.num_groups() || proposals.items[next].target < groups.base[g])) {
      const Proposal& p = proposals.items[next++];
      ISOFLOP_RETURN_IF_ERROR(out.Write(&p, kProposalHeaderBytes));
      ISOFLOP_RETURN_IF_ERROR(out.Write(proposals.AnchorsOf(p), p.num_anchors * sizeof(uint64_t)));
    }
    if (g < plan.num_groups()) offsets[g] = out.size();
  }
  offsets[plan.num_groups()] = out.size();
  ISOFLOP_RETURN_IF_ERROR(index.WriteRecords(offsets));
  ISOFLOP_RETURN_IF_ERROR(out.Commit());
  ISOFLOP_RETURN_IF_ERROR(index.Commit());
  (*result)["proposals"] = count;
  return Status::OK();
}

// The proposals for the targets of group `g` in item `item`, appended to `out`.
Status ReadProposals(const BuildPlan& plan, int item, int g, Proposals* out) {
  const std::string stem = StageFile(plan, "bands", ItemName(item));
  auto offsets = ReadRecords<uint64_t>(stem + ".index");
  if (!offsets.ok()) return offsets.status();
  if (offsets->size() != static_cast<size_t>(plan.num_groups()) + 1) {
    return Status::Corruption(stem + ".index");
  }
  const uint64_t begin = (*offsets)[g], end = (*offsets)[g + 1];
  if (end == begin) return Status::OK();
  std::string bytes(end - begin, '\0');
  int fd = ::open((stem + ".prop").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot open " + stem + ".prop");
  Status s = PRead(fd, begin, bytes.data(), bytes.size(), stem + ".prop");
  ::close(fd);
  ISOFLOP_RETURN_IF_ERROR(s);
  for (size_t at = 0; at < bytes.size();) {
    Proposal p;
    if (at + kProposalHeaderBytes > bytes.size()) return Status::Corruption(stem + ".prop: truncated");
    std::memcpy(&p.target, bytes.data() + at, 8);
    std::memcpy(&p.band, bytes.data() + at + 8, 4);
    std::memcpy(&p.num_anchors, bytes.data() + at + 12, 4);
    const size_t size = kProposalHeaderBytes + p.num_anchors * sizeof(uint64_t);
    if (p.num_anchors < 1 || p.num_anchors > kMaxAnchors || at + size > bytes.size()) {
      return Status::Corruption(stem + ".prop: bad record");
    }
    p.first_anchor = out->anchors.size();
    out->anchors.resize(out->anchors.size() + p.num_anchors);
    std::memcpy(out->anchors.data() + p.first_anchor, bytes.data() + at + kProposalHeaderBytes,
                p.num_anchors * sizeof(uint64_t));
    out->items.push_back(p);
    at += size;
  }
  return Status::OK();
}

// The exact duplicates among documents [begin, end) (all of them: begin = 0, end = max).
Status ReadExactDups(const BuildPlan& plan, uint64_t begin, uint64_t end, std::vector<ExactDup>* out) {
  if (plan.options.skip_exact) return Status::OK();
  for (int p = 0; p < plan.band_partitions; ++p) {
    auto dups = ReadRecords<ExactDup>(StageFile(plan, "bands", ItemName(p) + ".dups"));
    if (!dups.ok()) return dups.status();
    for (const ExactDup& d : *dups) {
      if (d.dup >= begin && d.dup < end) out->push_back(d);
    }
  }
  std::sort(out->begin(), out->end(), [](const ExactDup& a, const ExactDup& b) { return a.dup < b.dup; });
  return Status::OK();
}

// Per-thread state of the verify stage: shingle sets of recently seen documents.
struct alignas(64) Verifier {  // per thread, on cache lines of its own
  std::unordered_map<uint64_t, std::vector<uint64_t>> shingles;
  std::vector<uint32_t> sig_a, sig_b;
  std::string id, text;
};

double Jaccard(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  size_t common = 0;
  for (size_t i = 0, j = 0; i < a.size() && j < b.size();) {
    if (a[i] == b[j]) {
      ++common, ++i, ++j;
    } else if (a[i] < b[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  const size_t total = a.size() + b.size() - common;
  return total == 0 ? 1.0 : static_cast<double>(common) / total;
}

}  // namespace

Status RunBandsTask(const BuildPlan& plan, int task, int threads, bool progress) {
  if (TaskIsDone(plan, "bands", task)) return Status::OK();
  std::error_code ec;
  fs::create_directories(StageDir(plan, "bands"), ec);
  auto groups = GroupIndex::Load(plan);
  if (!groups.ok()) return groups.status();
  std::vector<int> items;
  for (int item = task; item < NumItems(plan); item += plan.tasks) items.push_back(item);
  std::vector<Status> statuses(items.size());
  std::vector<json> results(items.size(), json::object());
  const double cpu_start = ThreadCpuSeconds();
  std::vector<double> cpu(items.size(), 0);
  ParallelFor(items.size(), threads, [&](int, size_t i) {
    RemoveTaskOutputs(plan, "bands", ItemName(items[i]) + ".");
    const double t = ThreadCpuSeconds();
    statuses[i] = RunBandItem(plan, *groups, items[i], &results[i]);
    cpu[i] = ThreadCpuSeconds() - t;
  });
  (void)cpu_start;
  json done = {{"items", items}, {"results", results}};
  double total_cpu = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    ISOFLOP_RETURN_IF_ERROR(statuses[i]);
    total_cpu += cpu[i];
  }
  done["seconds"] = {{"bands_core", total_cpu}};
  if (progress) std::fprintf(stderr, "isoflop data build: bands      %zu item(s) done\n", items.size());
  return MarkTaskDone(plan, "bands", task, done);
}

Status RunVerifyTask(const BuildPlan& plan, int group, int threads, bool progress_enabled) {
  if (TaskIsDone(plan, "verify", group)) return Status::OK();
  std::error_code ec;
  fs::create_directories(StageDir(plan, "verify"), ec);
  RemoveTaskOutputs(plan, "verify", TaskName(group) + ".");
  auto groups = GroupIndex::Load(plan);
  if (!groups.ok()) return groups.status();
  const uint64_t begin = groups->base[group], end = groups->base[group + 1];
  std::vector<ExactDup> dups;
  ISOFLOP_RETURN_IF_ERROR(ReadExactDups(plan, begin, end, &dups));
  std::vector<uint64_t> exact_dups;
  for (const ExactDup& d : dups) exact_dups.push_back(d.dup);
  Proposals all;
  for (int item = plan.band_partitions; item < NumItems(plan); ++item) {
    ISOFLOP_RETURN_IF_ERROR(ReadProposals(plan, item, group, &all));
  }
  std::vector<Proposal>& proposals = all.items;
  std::stable_sort(proposals.begin(), proposals.end(), [](const Proposal& a, const Proposal& b) {
    return a.target != b.target ? a.target < b.target : a.band < b.band;
  });
  // Targets: [first proposal, end of its proposals).
  std::vector<size_t> starts;
  for (size_t i = 0; i < proposals.size(); ++i) {
    if (i == 0 || proposals[i].target != proposals[i - 1].target) starts.push_back(i);
  }
  starts.push_back(proposals.size());
  const size_t targets = starts.size() - 1;
  const BuildOptions& options = plan.options;
  const int num_hashes = options.minhash.NumHashes();
  DocStore store(plan, *groups);
  std::vector<std::vector<Edge>> edges(targets);
  std::vector<int64_t> checked(targets, 0);
  std::vector<Status> statuses(threads);
  std::vector<Verifier> verifiers(threads);
  std::vector<double> cpu(threads, 0);
  Progress progress(progress_enabled, "verify");
  std::atomic<int64_t> finished{0};
  constexpr size_t kChunk = 64;
  ParallelFor((targets + kChunk - 1) / kChunk, threads, [&](int w, size_t chunk) {
    if (!statuses[w].ok()) return;
    const double t0 = ThreadCpuSeconds();
    Verifier& v = verifiers[w];
    auto shingles_of = [&](uint64_t doc) -> StatusOr<const std::vector<uint64_t>*> {
      auto it = v.shingles.find(doc);
      if (it != v.shingles.end()) return &it->second;
      if (v.shingles.size() >= kShingleCacheDocs) v.shingles.clear();
      ISOFLOP_RETURN_IF_ERROR(store.Read(doc, &v.id, &v.text));
      return &(v.shingles[doc] = ShingleHashes(v.text, options.minhash.ngram));
    };
    // Whether anchor k passes for target j (target_shingles: j's, computed on first use).
    std::vector<uint64_t> target_shingles;
    bool have_target = false;
    auto similar = [&](uint64_t k, uint64_t j) -> StatusOr<bool> {
      if (options.minhash.verify == "none") return true;
      if (options.minhash.verify == "estimate") {
        v.sig_a.resize(num_hashes);
        v.sig_b.resize(num_hashes);
        ISOFLOP_RETURN_IF_ERROR(store.Signature(k, v.sig_a.data(), num_hashes));
        ISOFLOP_RETURN_IF_ERROR(store.Signature(j, v.sig_b.data(), num_hashes));
        return EstimatedJaccard(v.sig_a.data(), v.sig_b.data(), num_hashes) >=
               options.minhash.verify_threshold;
      }
      if (!have_target) {
        ISOFLOP_RETURN_IF_ERROR(store.Read(j, &v.id, &v.text));
        target_shingles = ShingleHashes(v.text, options.minhash.ngram);
        have_target = true;
      }
      auto sk = shingles_of(k);
      if (!sk.ok()) return sk.status();
      return Jaccard(target_shingles, **sk) >= options.minhash.verify_threshold;
    };
    const size_t first = chunk * kChunk, last = std::min(targets, first + kChunk);
    for (size_t t = first; t < last && statuses[w].ok(); ++t) {
      const uint64_t j = proposals[starts[t]].target;
      have_target = false;
      if (std::binary_search(exact_dups.begin(), exact_dups.end(), j)) continue;  // dropped as exact
      std::unordered_map<uint64_t, bool> by_anchor;                               // anchor → passed
      std::vector<std::pair<ContentHash, bool>> by_content;
      for (size_t p = starts[t]; p < starts[t + 1]; ++p) {
        const Proposal& prop = proposals[p];
        const uint64_t* anchors = all.AnchorsOf(prop);
        for (uint32_t a = 0; a < prop.num_anchors; ++a) {
          const uint64_t k = anchors[a];
          bool passed;
          if (auto it = by_anchor.find(k); it != by_anchor.end()) {
            passed = it->second;
          } else {
            DocMeta meta;
            Status s = store.Meta(k, &meta);
            if (!s.ok()) {
              statuses[w] = s;
              return;
            }
            auto same = std::find_if(by_content.begin(), by_content.end(),
                                     [&](const auto& c) { return c.first == meta.hash; });
            if (same != by_content.end()) {
              passed = same->second;  // an exact copy of an anchor already checked
            } else {
              auto result = similar(k, j);
              if (!result.ok()) {
                statuses[w] = result.status();
                return;
              }
              passed = *result;
              ++checked[t];
              by_content.emplace_back(meta.hash, passed);
            }
            by_anchor[k] = passed;
          }
          if (passed) {
            Edge e{j, k};
            if (std::none_of(edges[t].begin(), edges[t].end(),
                             [&](const Edge& x) { return x.earlier == k; })) {
              edges[t].push_back(e);
            }
            break;
          }
        }
      }
      finished.fetch_add(1, std::memory_order_relaxed);
    }
    cpu[w] += ThreadCpuSeconds() - t0;
    if (w == 0)
      progress.Update(finished.load(), 0, targets ? static_cast<double>(finished.load()) / targets : 1.0);
  });
  for (const Status& s : statuses) ISOFLOP_RETURN_IF_ERROR(s);
  OutFile out;
  ISOFLOP_RETURN_IF_ERROR(out.Open(StageFile(plan, "verify", TaskName(group) + ".edges")));
  int64_t candidate_pairs = 0, verified_pairs = 0;
  for (size_t t = 0; t < targets; ++t) {
    candidate_pairs += checked[t];
    verified_pairs += static_cast<int64_t>(edges[t].size());
    ISOFLOP_RETURN_IF_ERROR(out.WriteRecords(edges[t]));
  }
  ISOFLOP_RETURN_IF_ERROR(out.Commit());
  double total_cpu = 0;
  for (double c : cpu) total_cpu += c;
  return MarkTaskDone(plan, "verify", group,
                      {{"candidate_pairs", candidate_pairs},
                       {"verified_pairs", verified_pairs},
                       {"targets", targets},
                       {"seconds", {{"verify_core", total_cpu}}}});
}

Status RunDecideTask(const BuildPlan& plan, int threads, bool progress) {
  if (TaskIsDone(plan, "decide", 0)) return Status::OK();
  std::error_code ec;
  fs::create_directories(StageDir(plan, "decide"), ec);
  RemoveTaskOutputs(plan, "decide", "");
  const double cpu0 = ThreadCpuSeconds();
  const BuildOptions& options = plan.options;
  auto groups = GroupIndex::Load(plan);
  if (!groups.ok()) return groups.status();
  json counters = ZeroCounters();
  for (int g = 0; g < plan.num_groups(); ++g) {
    auto scan = ReadTaskResult(plan, "scan", g);
    if (!scan.ok()) return scan.status();
    AddCounters(scan->at("counters"), &counters);
  }
  if (counters["documents_read"].get<int64_t>() == 0) {
    return Status::InvalidArgument("no documents in the input (" + std::to_string(options.inputs.size()) +
                                   " path(s) given; empty files, or every line blank?)");
  }
  // Exact duplicates, then the near-duplicate components.
  std::vector<ExactDup> exact;
  ISOFLOP_RETURN_IF_ERROR(ReadExactDups(plan, 0, UINT64_MAX, &exact));
  std::vector<Edge> edges;
  int64_t candidate_pairs = 0, verified_pairs = 0;
  for (int g = 0; g < plan.num_groups(); ++g) {
    auto verify = ReadTaskResult(plan, "verify", g);
    if (!verify.ok()) return verify.status();
    candidate_pairs += verify->at("candidate_pairs").get<int64_t>();
    verified_pairs += verify->at("verified_pairs").get<int64_t>();
    auto part = ReadRecords<Edge>(StageFile(plan, "verify", TaskName(g) + ".edges"));
    if (!part.ok()) return part.status();
    edges.insert(edges.end(), part->begin(), part->end());
  }
  std::vector<uint64_t> nodes;
  for (const Edge& e : edges) {
    nodes.push_back(e.later);
    nodes.push_back(e.earlier);
  }
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  auto dense = [&](uint64_t doc) {
    return static_cast<uint32_t>(std::lower_bound(nodes.begin(), nodes.end(), doc) - nodes.begin());
  };
  UnionFind clusters(nodes.size());  // the root is the smallest index: the earliest document
  for (const Edge& e : edges) clusters.Union(dense(e.later), dense(e.earlier));
  std::vector<Drop> drops;  // global index in Drop::local for now
  for (const ExactDup& d : exact) drops.push_back({d.dup, d.first, static_cast<uint8_t>(DropReason::kExact)});
  std::vector<uint8_t> has_members(nodes.size(), 0);
  int64_t near_dup = 0, clusters_with_duplicates = 0;
  for (uint32_t n = 0; n < nodes.size(); ++n) {
    const uint32_t root = clusters.Find(n);
    if (root == n) continue;
    drops.push_back({nodes[n], nodes[root], static_cast<uint8_t>(DropReason::kNear)});
    ++near_dup;
    if (!has_members[root]) {
      has_members[root] = 1;
      ++clusters_with_duplicates;
    }
  }
  std::sort(drops.begin(), drops.end(), [](const Drop& a, const Drop& b) { return a.local < b.local; });
  for (size_t i = 1; i < drops.size(); ++i) {
    if (drops[i].local == drops[i - 1].local) return Status::Internal("a document dropped twice");
  }
  size_t next = 0;
  for (int g = 0; g < plan.num_groups(); ++g) {
    std::vector<Drop> mine;
    while (next < drops.size() && drops[next].local < groups->base[g + 1]) {
      Drop d = drops[next++];
      d.local -= groups->base[g];
      mine.push_back(d);
    }
    OutFile out;
    ISOFLOP_RETURN_IF_ERROR(out.Open(StageFile(plan, "decide", TaskName(g) + ".drops")));
    ISOFLOP_RETURN_IF_ERROR(out.WriteRecords(mine));
    ISOFLOP_RETURN_IF_ERROR(out.Commit());
  }
  const int64_t kept = static_cast<int64_t>(groups->total()) - static_cast<int64_t>(drops.size());
  counters["exact_dup"] = static_cast<int64_t>(exact.size());
  counters["near_dup"] = near_dup;
  counters["near_dup_clusters"] = clusters_with_duplicates;
  counters["near_dup_candidate_pairs"] = candidate_pairs;
  counters["near_dup_verified_pairs"] = verified_pairs;
  counters["kept"] = kept;
  if (kept == 0) return NothingKept(counters, options);
  json result = {{"counters",
                  {{"exact_dup", counters["exact_dup"]},
                   {"near_dup", near_dup},
                   {"near_dup_clusters", clusters_with_duplicates},
                   {"near_dup_candidate_pairs", candidate_pairs},
                   {"near_dup_verified_pairs", verified_pairs},
                   {"kept", kept}}}};
  json seconds = {{"decide_cluster_core", ThreadCpuSeconds() - cpu0}};
  if (!options.skip_tokenize) {
    const double t0 = ThreadCpuSeconds();
    auto trained = TrainBuildTokenizer(plan, *groups, drops, threads, progress, &result);
    if (!trained.ok()) return trained;
    seconds["tokenizer_train_core"] = ThreadCpuSeconds() - t0;
  }
  result["seconds"] = seconds;
  return MarkTaskDone(plan, "decide", 0, result);
}

}  // namespace isoflop::data
