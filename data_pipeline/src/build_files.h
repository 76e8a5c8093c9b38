// The files the build's stages hand to each other, under the plan's work directory
// (OUT/.isoflop-build/). All binary records are little-endian, fixed-size unless noted; a file
// is written under a temporary name and renamed, and a task's `.done` marker (JSON: its
// counters) is written last, so a killed task leaves nothing a later stage could take for done.
//
//   scan/GGGGG.docs        per filter-passed document, in input order: [u32 id length][id]
//                          [u64 text length][text][16-byte content hash] (variable size)
//   scan/GGGGG.meta        DocMeta per document (its record's offset, text bytes, content hash)
//   scan/GGGGG.sig         the MinHash signature per document (NumHashes() × u32)
//   scan/GGGGG.keys-BB     LSH bucket keys of band BB (BandKey, sorted runs); keys-xx: ExactKey
//   scan/GGGGG.runs        the run lengths of each keys file (text)
//   scan/GGGGG.report      dropped.jsonl lines of the documents the scan dropped (text)
//   bands/ITEM.prop        candidate proposals (Proposal records, variable size), by target doc
//   bands/ITEM.index       u64 offsets of the first proposal of each group in ITEM.prop
//   bands/ITEM.dups        ExactDup per exact duplicate (the exact pseudo-band's items)
//   verify/GGGGG.edges     Edge per verified near-duplicate pair
//   decide/GGGGG.drops     Drop per dropped document of group G, by local index
//   encode/GGGGG.{train,val}        token ids; .ends: u64 end offset of each document
//   assemble/SPLIT-NNNNN.json       one shard's tokens, documents, sha256
//   STAGE/TTTTT.done       the task's counters (JSON)
#ifndef ISOFLOP_DATA_PIPELINE_BUILD_FILES_H_
#define ISOFLOP_DATA_PIPELINE_BUILD_FILES_H_

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "build_plan.h"
#include "isoflop/dedup.h"
#include "isoflop/status.h"

namespace isoflop::data {

using json = nlohmann::json;

struct DocMeta {
  uint64_t offset = 0;  // of the document's record in GGGGG.docs
  uint64_t text_bytes = 0;
  ContentHash hash;
};
static_assert(sizeof(DocMeta) == 32);

struct BandKey {  // one document's bucket in one band
  uint64_t key = 0;
  uint32_t local = 0;  // document index within its group
  uint32_t unused = 0;
  bool operator<(const BandKey& o) const { return key != o.key ? key < o.key : local < o.local; }
};
static_assert(sizeof(BandKey) == 16);

struct ExactKey {  // one document's content hash (the exact-duplicate pseudo-band)
  uint64_t low = 0, high = 0;
  uint32_t local = 0, unused = 0;
  bool operator<(const ExactKey& o) const {
    if (low != o.low) return low < o.low;
    return high != o.high ? high < o.high : local < o.local;
  }
};
static_assert(sizeof(ExactKey) == 24);

struct ExactDup {  // `dup` has the same content as the earlier `first`
  uint64_t dup = 0, first = 0;
};
struct Edge {  // a verified near-duplicate pair of two documents (global indices, later > earlier)
  uint64_t later = 0, earlier = 0;
};
enum class DropReason : uint8_t { kExact = 1, kNear = 2 };
struct Drop {
  uint64_t local = 0;
  uint64_t kept = 0;  // global index of the document kept instead
  uint8_t reason = 0;
  uint8_t unused[7] = {};
};
static_assert(sizeof(Drop) == 24);

// Names.
std::string TaskName(int task);  // "00007"
std::string BandName(int band);  // "03": keys-03 holds band 3's bucket keys ("xx": exact)
std::string StageDir(const BuildPlan& plan, const std::string& stage);
std::string StageFile(const BuildPlan& plan, const std::string& stage, const std::string& name);

// A file written under `path`.tmp.PID, renamed to `path` by Commit(); removed if never committed.
class OutFile {
 public:
  OutFile() = default;
  ~OutFile();
  OutFile(const OutFile&) = delete;
  OutFile& operator=(const OutFile&) = delete;
  Status Open(const std::string& path);
  Status Write(const void* data, size_t size);
  Status Write(std::string_view bytes) { return Write(bytes.data(), bytes.size()); }
  template <typename T>
  Status WriteRecords(const std::vector<T>& records) {
    return Write(records.data(), records.size() * sizeof(T));
  }
  uint64_t size() const { return size_; }
  // Hands what was written so far to the kernel and asks it to start writing it to disk
  // (Linux: sync_file_range(SYNC_FILE_RANGE_WRITE), which does not wait): a file that will be
  // fsynced later (an output shard, at commit) is then mostly on disk by that time, instead
  // of the fsync writing all of it while nothing else runs.
  Status StartWriteback();
  Status Commit();  // flush, close, rename

 private:
  std::string path_, temp_;
  std::unique_ptr<FILE, int (*)(FILE*)> file_{nullptr, &std::fclose};
  uint64_t size_ = 0;
  bool failed_ = false;
};

// Reads a whole file of fixed-size records.
template <typename T>
StatusOr<std::vector<T>> ReadRecords(const std::string& path) {
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(path, ec);
  if (ec) return Status::IOError("cannot read " + path + ": " + ec.message());
  if (bytes % sizeof(T) != 0) return Status::Corruption(path + ": size is not a whole number of records");
  std::vector<T> records(bytes / sizeof(T));
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f || std::fread(records.data(), 1, bytes, f.get()) != bytes)
    return Status::IOError("cannot read " + path);
  return records;
}

StatusOr<std::string> ReadText(const std::string& path);

// Reads [offset, offset + size) of a file descriptor (thread-safe).
Status PRead(int fd, uint64_t offset, void* out, size_t size, const std::string& what);

// Writes a file of the work directory atomically (isoflop::WriteFileAtomically), fsynced when
// plan.sync_task_files.
Status WriteTaskFile(const BuildPlan& plan, const std::string& path, std::string_view bytes);

// Task markers: `.done` holds the task's result as JSON.
bool TaskIsDone(const BuildPlan& plan, const std::string& stage, int task);
Status MarkTaskDone(const BuildPlan& plan, const std::string& stage, int task, const json& result);
StatusOr<json> ReadTaskResult(const BuildPlan& plan, const std::string& stage, int task);
// Removes a task's outputs of an earlier, unfinished attempt (every file of the stage whose
// name starts with TTTTT.); temporary files of a live duplicate are left alone.
void RemoveTaskOutputs(const BuildPlan& plan, const std::string& stage, const std::string& prefix);

// Fault injection for the crash tests (docs/data.md, "Testing the distributed build"): when
// ISOFLOP_FAULT_HOLD is "STAGE:TASK:RELEASE_FILE" and names this stage and task, the task waits
// here, its outputs open as .tmp.PID files, until RELEASE_FILE exists (at most 120 s). A test
// can then kill it mid-stage at a moment it chooses, instead of racing a task that lasts a few
// milliseconds. Unset (always, outside tests), it costs one getenv.
void HoldIfFaultInjected(const std::string& stage, int task);

// The scan results of every group: documents per group, their global numbering.
struct GroupIndex {
  std::vector<uint64_t> base;  // global index of each group's first document; back() = total
  uint64_t total() const { return base.back(); }
  int GroupOf(uint64_t global) const;
  static StatusOr<GroupIndex> Load(const BuildPlan& plan);
};

// Random access to the scanned documents of every group (pread; thread-safe).
class DocStore {
 public:
  DocStore(const BuildPlan& plan, const GroupIndex& groups) : plan_(plan), groups_(groups) {}
  ~DocStore();
  DocStore(const DocStore&) = delete;
  DocStore& operator=(const DocStore&) = delete;
  Status Meta(uint64_t global, DocMeta* meta);
  // The document's id and (unless null) text.
  Status Read(uint64_t global, std::string* id, std::string* text);
  Status Signature(uint64_t global, uint32_t* signature, int num_hashes);

 private:
  struct Files {
    int meta = -1, docs = -1, sig = -1;
  };
  StatusOr<Files*> Open(int group);
  const BuildPlan& plan_;
  const GroupIndex& groups_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Files>> files_;
};

// Sequential reader of a group's documents file.
class DocReader {
 public:
  Status Open(const std::string& path);
  // False at the end.
  StatusOr<bool> Next(std::string* id, std::string* text, ContentHash* hash);

 private:
  std::unique_ptr<FILE, int (*)(FILE*)> file_{nullptr, &std::fclose};
  std::string path_;
};

// Appends one document's record to a documents file.
Status WriteDocRecord(OutFile* out, std::string_view id, std::string_view text, const ContentHash& hash);

}  // namespace isoflop::data

#endif  // ISOFLOP_DATA_PIPELINE_BUILD_FILES_H_
