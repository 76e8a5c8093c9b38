// Stages 5–7: the output.
//
//  encode   (per group): the kept documents' token ids, each followed by the end-of-document
//           id, appended to the group's train or val stream (split by content hash); encoding
//           runs on every thread, writing in document order (an ordered pipeline).
//  assemble (per range of shards): the split's stream is the groups' streams in order; shard s
//           holds its tokens [s·M, (s+1)·M) (M = max_tokens_per_shard) and counts the documents
//           whose end it holds — exactly what ShardWriter writes in one process.
//  finalize (one task): index.tsv, manifest.json, the dropped-documents report.
#include <algorithm>
#include <filesystem>
#include <map>
#include <tuple>

#include "build_stages.h"
#include "isoflop/hf_tokenizer.h"
#include "isoflop/parallel_for.h"
#include "isoflop/shard_writer.h"
#include "ordered_pipeline.h"
#include "sha256.h"

namespace isoflop::data {
namespace {

namespace fs = std::filesystem;

struct EncodeBatch {
  std::vector<std::string> texts;
  std::vector<ContentHash> hashes;
  std::vector<std::string> ids;  // --skip tokenize only
  std::vector<std::vector<uint32_t>> tokens;
};

// Reads a group's kept documents in order (dropped ones skipped).
class KeptDocuments {
 public:
  Status Open(const BuildPlan& plan, int group) {
    ISOFLOP_RETURN_IF_ERROR(reader_.Open(StageFile(plan, "scan", TaskName(group) + ".docs")));
    auto drops = ReadRecords<Drop>(StageFile(plan, "decide", TaskName(group) + ".drops"));
    if (!drops.ok()) return drops.status();
    drops_ = std::move(*drops);
    return Status::OK();
  }
  StatusOr<bool> Next(std::string* id, std::string* text, ContentHash* hash) {
    while (true) {
      auto more = reader_.Next(id, text, hash);
      if (!more.ok() || !*more) return more;
      const uint64_t local = next_local_++;
      while (next_drop_ < drops_.size() && drops_[next_drop_].local < local) ++next_drop_;
      if (next_drop_ < drops_.size() && drops_[next_drop_].local == local) continue;
      return true;
    }
  }

 private:
  DocReader reader_;
  std::vector<Drop> drops_;
  size_t next_drop_ = 0;
  uint64_t next_local_ = 0;
};

struct SplitStream {  // one split's token stream of one group (encode)
  OutFile tokens, ends;
  uint64_t count = 0, documents = 0;
  // With one group the split's stream is this group's, so its shards' sha256 are computed
  // here, in the pipeline's in-order write (overlapped with encoding on the other threads),
  // instead of in assemble, where the one large shard of a small build is hashed alone.
  bool hash_shards = false;
  Sha256 shard_hash;
  uint64_t shard_tokens = 0;
  std::vector<std::string> shard_sha256;
  void HashTokens(const uint8_t* data, uint64_t tokens, uint32_t token_bytes, uint64_t per_shard) {
    while (tokens > 0) {
      const uint64_t take = std::min(tokens, per_shard - shard_tokens);
      shard_hash.Update(data, take * token_bytes);
      data += take * token_bytes;
      tokens -= take;
      if ((shard_tokens += take) == per_shard) {
        shard_sha256.push_back(shard_hash.FinishHex());
        shard_tokens = 0;
      }
    }
  }
};

}  // namespace

Status RunEncodeTask(const BuildPlan& plan, int group, int threads, bool progress_enabled) {
  if (TaskIsDone(plan, "encode", group)) return Status::OK();
  const BuildOptions& options = plan.options;
  std::error_code ec;
  fs::create_directories(StageDir(plan, "encode"), ec);
  const std::string prefix = TaskName(group) + ".";
  RemoveTaskOutputs(plan, "encode", prefix);
  KeptDocuments kept;
  ISOFLOP_RETURN_IF_ERROR(kept.Open(plan, group));
  int64_t bytes_kept = 0, documents = 0;
  Progress progress(progress_enabled, "encode");

  if (options.skip_tokenize) {  // the curated text itself, as JSONL
    OutFile out;
    ISOFLOP_RETURN_IF_ERROR(out.Open(StageFile(plan, "encode", prefix + "kept.jsonl")));
    std::string id, text;
    ContentHash hash;
    while (true) {
      auto more = kept.Next(&id, &text, &hash);
      if (!more.ok()) return more.status();
      if (!*more) break;
      bytes_kept += static_cast<int64_t>(text.size());
      ++documents;
      ISOFLOP_RETURN_IF_ERROR(
          out.Write("{\"id\":" + JsonString(id) + ",\"text\":" + JsonString(text) + "}\n"));
    }
    ISOFLOP_RETURN_IF_ERROR(out.Commit());
    return MarkTaskDone(plan, "encode", group, {{"bytes_kept", bytes_kept}, {"documents", documents}});
  }

  auto tokenizer = LoadTokenizerFile(plan.work_dir + "/tokenizer.json", options.tokenizer_eos);
  if (!tokenizer.ok()) return tokenizer.status();
  const uint32_t eos_id = tokenizer->eos_id();
  if (eos_id >= tokenizer->vocab_size())
    return Status::Internal("the build's tokenizer has no end-of-document id");
  const uint32_t token_bytes = TokenBytesFor(tokenizer->vocab_size());
  SplitStream streams[2];  // train, val
  const char* split_names[2] = {"train", "val"};
  const uint64_t per_shard = static_cast<uint64_t>(options.max_tokens_per_shard);
  for (int s = 0; s < 2; ++s) {
    streams[s].hash_shards = plan.num_groups() == 1 && per_shard > 0;
    ISOFLOP_RETURN_IF_ERROR(streams[s].tokens.Open(StageFile(plan, "encode", prefix + split_names[s])));
    ISOFLOP_RETURN_IF_ERROR(
        streams[s].ends.Open(StageFile(plan, "encode", prefix + split_names[s] + ".ends")));
  }
  // Each thread's cache and CPU time on cache lines of their own (a thread writes its cache's
  // vectors on every chunk: no false sharing with its neighbour's).
  struct alignas(64) Worker {
    BpeEncodeCache cache;
    double cpu = 0;
  };
  std::vector<Worker> workers(std::max(1, threads));
  std::vector<uint8_t> bytes;
  PipelineStages<EncodeBatch> stages;
  // Where the reading is, for the batch sizes: the group's documents file holds the kept text
  // and the dropped documents' (a few % more than what is read: the last batches shrink a
  // little early).
  std::error_code size_ec;
  const auto docs_bytes = fs::file_size(StageFile(plan, "scan", TaskName(group) + ".docs"), size_ec);
  const int64_t total_bytes = size_ec ? 0 : static_cast<int64_t>(docs_bytes);
  int64_t read_bytes = 0;
  uint64_t batches_read = 0;
  stages.read = [&](EncodeBatch* batch) -> StatusOr<bool> {
    const size_t batch_bytes =
        NextBatchBytes(options.batch_bytes, batches_read++, read_bytes, total_bytes, threads);
    size_t size = 0;
    std::string id;
    while (size < batch_bytes) {
      std::string text;
      ContentHash hash;
      auto more = kept.Next(&id, &text, &hash);
      if (!more.ok()) return more.status();
      if (!*more) break;
      size += text.size();
      read_bytes += static_cast<int64_t>(text.size());
      batch->texts.push_back(std::move(text));
      batch->hashes.push_back(hash);
    }
    return !batch->texts.empty();
  };
  stages.process = [&](EncodeBatch* batch, int worker) {
    const double t0 = ThreadCpuSeconds();
    batch->tokens.resize(batch->texts.size());
    for (size_t i = 0; i < batch->texts.size(); ++i) {
      tokenizer->Encode(batch->texts[i], &batch->tokens[i], &workers[worker].cache);
    }
    workers[worker].cpu += ThreadCpuSeconds() - t0;
  };
  stages.write = [&](EncodeBatch* batch) -> Status {
    for (size_t i = 0; i < batch->texts.size(); ++i) {
      SplitStream& stream = streams[IsValidation(batch->hashes[i], options.val_fraction) ? 1 : 0];
      std::vector<uint32_t>& ids = batch->tokens[i];
      ids.push_back(eos_id);
      bytes.resize(ids.size() * token_bytes);
      for (size_t t = 0; t < ids.size(); ++t) {
        for (uint32_t b = 0; b < token_bytes; ++b)
          bytes[t * token_bytes + b] = static_cast<uint8_t>(ids[t] >> (8 * b));
      }
      ISOFLOP_RETURN_IF_ERROR(stream.tokens.Write(bytes.data(), bytes.size()));
      if (stream.hash_shards) stream.HashTokens(bytes.data(), ids.size(), token_bytes, per_shard);
      stream.count += ids.size();
      ++stream.documents;
      ISOFLOP_RETURN_IF_ERROR(stream.ends.Write(&stream.count, sizeof(stream.count)));
      bytes_kept += static_cast<int64_t>(batch->texts[i].size());
      ++documents;
    }
    progress.Update(documents, bytes_kept, 0.0);
    return Status::OK();
  };
  ISOFLOP_RETURN_IF_ERROR(RunOrderedPipeline(threads, 2 * threads + 2, stages));
  for (auto& stream : streams) {
    ISOFLOP_RETURN_IF_ERROR(stream.tokens.Commit());
    ISOFLOP_RETURN_IF_ERROR(stream.ends.Commit());
  }
  double total_cpu = 0;
  for (const Worker& w : workers) total_cpu += w.cpu;
  json shard_sha256 = json::object();  // per split, every shard's (one group only)
  for (int s = 0; s < 2; ++s) {
    if (!streams[s].hash_shards) continue;
    if (streams[s].shard_tokens > 0) streams[s].shard_sha256.push_back(streams[s].shard_hash.FinishHex());
    shard_sha256[split_names[s]] = streams[s].shard_sha256;
  }
  return MarkTaskDone(plan, "encode", group,
                      {{"bytes_kept", bytes_kept},
                       {"shard_sha256", shard_sha256},
                       {"documents", documents},
                       {"token_bytes", token_bytes},
                       {"vocab_size", tokenizer->vocab_size()},
                       {"tokens_train", streams[0].count},
                       {"tokens_val", streams[1].count},
                       {"documents_train", streams[0].documents},
                       {"documents_val", streams[1].documents},
                       {"seconds", {{"tokenize_core", total_cpu}}}});
}

namespace {

// Where each group's stream of one split starts in the split's stream.
struct SplitLayout {
  std::vector<uint64_t> start;  // per group, and the total at the end
  uint32_t token_bytes = 2;
  std::vector<std::string> shard_sha256;  // from encode (one group), else empty: hashed here
};

StatusOr<SplitLayout> LoadLayout(const BuildPlan& plan, const std::string& split) {
  SplitLayout layout;
  layout.start.push_back(0);
  for (int g = 0; g < plan.num_groups(); ++g) {
    auto encode = ReadTaskResult(plan, "encode", g);
    if (!encode.ok()) return encode.status();
    layout.token_bytes = encode->at("token_bytes").get<uint32_t>();
    layout.start.push_back(layout.start.back() + encode->at("tokens_" + split).get<uint64_t>());
    if (plan.num_groups() == 1 && encode->contains("shard_sha256") &&
        encode->at("shard_sha256").contains(split))
      layout.shard_sha256 = encode->at("shard_sha256").at(split).get<std::vector<std::string>>();
  }
  const uint64_t m = static_cast<uint64_t>(plan.options.max_tokens_per_shard);
  if (m == 0 || layout.shard_sha256.size() != (layout.start.back() + m - 1) / m) layout.shard_sha256.clear();
  return layout;
}

std::string ShardName(const std::string& split, uint64_t s) {
  char name[64];
  std::snprintf(name, sizeof(name), "%s-%05llu.bin", split.c_str(), static_cast<unsigned long long>(s));
  return name;
}

// Writes shard `s` of `split` into the work directory and its description into assemble/.
Status AssembleShard(const BuildPlan& plan, const std::string& split, const SplitLayout& layout, uint64_t s) {
  const uint64_t m = static_cast<uint64_t>(plan.options.max_tokens_per_shard);
  const uint64_t begin = s * m, end = std::min(begin + m, layout.start.back());
  const std::string name = ShardName(split, s);
  OutFile out;
  ISOFLOP_RETURN_IF_ERROR(out.Open(plan.work_dir + "/" + name));
  Sha256 sha;
  const bool hashed = s < layout.shard_sha256.size();  // by encode
  std::vector<char> buffer(1 << 20);
  uint64_t documents = 0, unsynced = 0;
  for (int g = 0; g < plan.num_groups(); ++g) {
    const uint64_t gb = layout.start[g], ge = layout.start[g + 1];
    const uint64_t from = std::max(begin, gb), to = std::min(end, ge);
    if (from >= to) continue;
    const std::string path = StageFile(plan, "encode", TaskName(g) + "." + split);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::IOError("cannot open " + path);
    Status status;
    for (uint64_t at = from; at < to && status.ok();) {
      const uint64_t take = std::min<uint64_t>(buffer.size() / layout.token_bytes, to - at);
      const size_t size = take * layout.token_bytes;
      status = PRead(fd, (at - gb) * layout.token_bytes, buffer.data(), size, path);
      if (status.ok()) {
        if (!hashed) sha.Update(buffer.data(), size);
        status = out.Write(buffer.data(), size);
      }
      // The commit fsyncs the shard: start writing it to disk now, while the build goes on.
      if (status.ok() && (unsynced += size) >= (16u << 20)) {
        status = out.StartWriteback();
        unsynced = 0;
      }
      at += take;
    }
    ::close(fd);
    ISOFLOP_RETURN_IF_ERROR(status);
    // Documents whose end (the token after their end-of-document id) falls in (begin, end].
    auto ends = ReadRecords<uint64_t>(path + ".ends");
    if (!ends.ok()) return ends.status();
    for (uint64_t e : *ends) documents += (gb + e > begin && gb + e <= end) ? 1 : 0;
  }
  ISOFLOP_RETURN_IF_ERROR(out.StartWriteback());
  ISOFLOP_RETURN_IF_ERROR(out.Commit());
  json info = {{"split", split},
               {"file", name},
               {"tokens", end - begin},
               {"documents", documents},
               {"sha256", hashed ? layout.shard_sha256[s] : sha.FinishHex()}};
  return WriteTaskFile(plan,
                       StageFile(plan, "assemble", split + "-" + TaskName(static_cast<int>(s)) + ".json"),
                       info.dump() + "\n");
}

}  // namespace

Status RunAssembleTask(const BuildPlan& plan, int task, int threads, bool progress) {
  if (TaskIsDone(plan, "assemble", task)) return Status::OK();
  std::error_code ec;
  fs::create_directories(StageDir(plan, "assemble"), ec);
  if (plan.options.skip_tokenize) return MarkTaskDone(plan, "assemble", task, {{"shards", 0}});
  const uint64_t m = static_cast<uint64_t>(plan.options.max_tokens_per_shard);
  std::vector<std::pair<std::string, uint64_t>> mine;
  std::map<std::string, SplitLayout> layouts;
  for (const std::string split : {"train", "val"}) {
    auto layout = LoadLayout(plan, split);
    if (!layout.ok()) return layout.status();
    const uint64_t shards = (layout->start.back() + m - 1) / m;
    for (uint64_t s = static_cast<uint64_t>(task); s < shards; s += static_cast<uint64_t>(plan.tasks)) {
      mine.emplace_back(split, s);
    }
    layouts[split] = std::move(*layout);
  }
  std::vector<Status> statuses(mine.size());
  const double t0 = ThreadCpuSeconds();
  ParallelFor(mine.size(), threads, [&](int, size_t i) {
    statuses[i] = AssembleShard(plan, mine[i].first, layouts[mine[i].first], mine[i].second);
  });
  for (const Status& s : statuses) ISOFLOP_RETURN_IF_ERROR(s);
  if (progress) std::fprintf(stderr, "isoflop data build: assemble   %zu shard(s)\n", mine.size());
  return MarkTaskDone(plan, "assemble", task,
                      {{"shards", mine.size()}, {"seconds", {{"assemble_core", ThreadCpuSeconds() - t0}}}});
}

Status RunFinalizeTask(const BuildPlan& plan, int threads, bool progress) {
  if (TaskIsDone(plan, "finalize", 0)) return Status::OK();
  const BuildOptions& options = plan.options;
  std::error_code ec;
  fs::create_directories(StageDir(plan, "finalize"), ec);
  auto groups = GroupIndex::Load(plan);
  if (!groups.ok()) return groups.status();
  json counters = ZeroCounters();
  json seconds = json::object();
  auto add_seconds = [&](const json& result) {
    if (!result.contains("seconds")) return;
    for (const auto& [key, value] : result["seconds"].items()) {
      seconds[key] = (seconds.contains(key) ? seconds[key].get<double>() : 0.0) + value.get<double>();
    }
  };
  json inputs = json::array();
  for (const auto& f : plan.files) {
    inputs.push_back({{"path", f.path}, {"bytes", f.bytes}, {"sha256", ""}, {"compression", f.compression}});
  }
  int64_t text_bytes = 0;
  for (int g = 0; g < plan.num_groups(); ++g) {
    auto scan = ReadTaskResult(plan, "scan", g);
    if (!scan.ok()) return scan.status();
    AddCounters(scan->at("counters"), &counters);
    add_seconds(*scan);
    text_bytes += scan->at("text_bytes").get<int64_t>();
    for (const auto& [file, info] : scan->at("inputs").items()) {
      json& entry = inputs[std::stoul(file)];
      entry["sha256"] = info["sha256"];
      entry["compression"] = info["compression"];
    }
  }
  for (const char* stage : {"bands", "verify"}) {
    const int tasks = std::string(stage) == "bands" ? plan.tasks : plan.num_groups();
    for (int t = 0; t < tasks; ++t) {
      auto result = ReadTaskResult(plan, stage, t);
      if (!result.ok()) return result.status();
      add_seconds(*result);
    }
  }
  auto decide = ReadTaskResult(plan, "decide", 0);
  if (!decide.ok()) return decide.status();
  for (const auto& [key, value] : decide->at("counters").items()) counters[key] = value;
  add_seconds(*decide);
  if (decide->contains("tokenizer") && (*decide)["tokenizer"]["trained"].get<bool>()) {
    counters["tokenizer_train_bytes"] = (*decide)["tokenizer"]["train_bytes"];
  }
  int64_t bytes_kept = 0;
  json split_counts = {{"tokens_train", 0}, {"tokens_val", 0}, {"documents_train", 0}, {"documents_val", 0}};
  for (int g = 0; g < plan.num_groups(); ++g) {
    auto encode = ReadTaskResult(plan, "encode", g);
    if (!encode.ok()) return encode.status();
    bytes_kept += encode->at("bytes_kept").get<int64_t>();
    add_seconds(*encode);
    if (!options.skip_tokenize) {
      for (auto& [key, value] : split_counts.items())
        value = value.get<int64_t>() + encode->at(key).get<int64_t>();
    }
  }
  counters["bytes_kept"] = bytes_kept;
  for (int t = 0; t < plan.tasks; ++t) {
    auto assemble = ReadTaskResult(plan, "assemble", t);
    if (!assemble.ok()) return assemble.status();
    add_seconds(*assemble);
  }

  json manifest;
  manifest["format"] = "isoflop-data-manifest";
  manifest["version"] = 1;
  manifest["inputs"] = inputs;
  manifest["config"] = ConfigJson(options);
  std::vector<std::string> outputs;
  if (options.skip_tokenize) {
    OutFile out;
    ISOFLOP_RETURN_IF_ERROR(out.Open(plan.work_dir + "/kept.jsonl"));
    for (int g = 0; g < plan.num_groups(); ++g) {
      auto text = ReadText(StageFile(plan, "encode", TaskName(g) + ".kept.jsonl"));
      if (!text.ok()) return text.status();
      ISOFLOP_RETURN_IF_ERROR(out.Write(*text));
    }
    ISOFLOP_RETURN_IF_ERROR(out.Commit());
    outputs.push_back("kept.jsonl");
  } else {
    for (const auto& [key, value] : split_counts.items()) counters[key] = value;
    if (counters["tokens_train"].get<int64_t>() == 0) return NothingKept(counters, options);
    auto tokenizer_json = ReadText(plan.work_dir + "/tokenizer.json");
    if (!tokenizer_json.ok()) return tokenizer_json.status();
    auto tokenizer = LoadTokenizerFile(plan.work_dir + "/tokenizer.json", options.tokenizer_eos);
    if (!tokenizer.ok()) return tokenizer.status();
    ShardSetSummary shards;
    shards.vocab_size = tokenizer->vocab_size();
    shards.token_bytes = TokenBytesFor(shards.vocab_size);
    shards.eos_id = tokenizer->eos_id();
    for (const auto& entry : fs::directory_iterator(StageDir(plan, "assemble"))) {
      const std::string name = entry.path().filename().string();
      if (!name.ends_with(".json")) continue;
      auto text = ReadText(entry.path().string());
      if (!text.ok()) return text.status();
      json info = json::parse(*text, nullptr, false);
      if (info.is_discarded()) return Status::Corruption(entry.path().string() + ": not JSON");
      shards.shards.push_back(ShardInfo{info["split"].get<std::string>(), info["file"].get<std::string>(),
                                        info["tokens"].get<int64_t>(), info["documents"].get<int64_t>(),
                                        info["sha256"].get<std::string>()});
    }
    std::sort(shards.shards.begin(), shards.shards.end(), [](const ShardInfo& a, const ShardInfo& b) {
      return std::tie(a.split, a.file) < std::tie(b.split, b.file);
    });
    if (shards.TokensIn("train") != counters["tokens_train"].get<int64_t>() ||
        shards.TokensIn("val") != counters["tokens_val"].get<int64_t>()) {
      return Status::Internal("assembled shards do not hold the encoded tokens");
    }
    ISOFLOP_RETURN_IF_ERROR(WriteShardIndex(plan.work_dir, shards));
    json files = json::array();
    for (const auto& s : shards.shards) {
      files.push_back({{"split", s.split},
                       {"file", s.file},
                       {"tokens", s.num_tokens},
                       {"documents", s.num_documents},
                       {"sha256", s.sha256}});
      outputs.push_back(s.file);
    }
    manifest["tokenizer"] = {
        {"file", "tokenizer.json"},
        {"sha256", Sha256Hex(*tokenizer_json)},
        {"vocab_size", tokenizer->vocab_size()},
        {"eos_id", tokenizer->eos_id()},
        {"format", tokenizer->is_isoflop_layout() ? "isoflop-byte-bpe" : "huggingface-bpe"},
        {"trained", options.tokenizer_path.empty()}};
    manifest["shards"] = {{"index", "index.tsv"},
                          {"token_bytes", shards.token_bytes},
                          {"eos_id", shards.eos_id},
                          {"files", files}};
    outputs.push_back("index.tsv");
    outputs.push_back("tokenizer.json");
  }
  manifest["counters"] = counters;
  ISOFLOP_RETURN_IF_ERROR(WriteTaskFile(plan, plan.work_dir + "/manifest.json", manifest.dump(2) + "\n"));
  outputs.push_back("manifest.json");

  // The report: the documents the scan dropped (invalid, empty, quality), then the exact and
  // then the near duplicates, each part in input order.
  if (!options.report_path.empty()) {
    OutFile report;
    ISOFLOP_RETURN_IF_ERROR(report.Open(plan.work_dir + "/report.jsonl"));
    for (int g = 0; g < plan.num_groups(); ++g) {
      auto text = ReadText(StageFile(plan, "scan", TaskName(g) + ".report"));
      if (!text.ok()) return text.status();
      ISOFLOP_RETURN_IF_ERROR(report.Write(*text));
    }
    DocStore store(plan, *groups);
    std::string id, kept_id;
    for (DropReason reason : {DropReason::kExact, DropReason::kNear}) {
      for (int g = 0; g < plan.num_groups(); ++g) {
        auto drops = ReadRecords<Drop>(StageFile(plan, "decide", TaskName(g) + ".drops"));
        if (!drops.ok()) return drops.status();
        for (const Drop& d : *drops) {
          if (d.reason != static_cast<uint8_t>(reason)) continue;
          ISOFLOP_RETURN_IF_ERROR(store.Read(groups->base[g] + d.local, &id, nullptr));
          ISOFLOP_RETURN_IF_ERROR(store.Read(d.kept, &kept_id, nullptr));
          ISOFLOP_RETURN_IF_ERROR(report.Write("{\"id\":" + JsonString(id) + ",\"reason\":\"" +
                                               (reason == DropReason::kExact ? "exact_dup" : "near_dup") +
                                               "\",\"kept_id\":" + JsonString(kept_id) + "}\n"));
        }
      }
    }
    ISOFLOP_RETURN_IF_ERROR(report.Commit());
  }
  if (progress) std::fprintf(stderr, "isoflop data build: finalize   manifest, index and report written\n");
  (void)threads;
  return MarkTaskDone(
      plan, "finalize", 0,
      {{"outputs", outputs}, {"counters", counters}, {"input_bytes", text_bytes}, {"seconds", seconds}});
}

}  // namespace isoflop::data
