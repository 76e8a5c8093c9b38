// Shared by the trainer tests: real shards from a real text, run configs, and running the
// real isoflop-train binary as a child process (so a test can kill it, resume it, or run
// two ranks of it side by side).
#ifndef ISOFLOP_TESTS_TRAINER_TRAINER_TEST_UTIL_H_
#define ISOFLOP_TESTS_TRAINER_TRAINER_TEST_UTIL_H_

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "isoflop/shard_writer.h"

extern char** environ;

namespace isoflop::trainer::testing {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("isoflop-trainer-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path() const { return path_.string(); }
  std::string Join(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// Byte-level shards (vocab 256, end-of-document id 0) of the GPL-3 text shipped in
// tests/data: paragraphs are documents, every 8th one goes to the "val" split.
inline void WriteCorpusShards(const std::string& dir) {
  std::ifstream in(std::string(ISOFLOP_TEST_DATA_DIR) + "/trainer_corpus_gpl3.txt");
  ASSERT_TRUE(in) << "missing tests/data/trainer_corpus_gpl3.txt";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::vector<std::vector<uint32_t>> docs;
  std::vector<std::string> splits;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find("\n\n", start);
    if (end == std::string::npos) end = text.size();
    std::vector<uint32_t> doc;
    for (size_t i = start; i < end; ++i) doc.push_back(static_cast<unsigned char>(text[i]));
    if (!doc.empty()) {
      splits.push_back(docs.size() % 8 == 7 ? "val" : "train");
      docs.push_back(std::move(doc));
    }
    start = end + 2;
  }
  auto summary = data::WriteShards(
      {.out_dir = dir, .vocab_size = 256, .eos_id = 0, .max_tokens_per_shard = 8192}, docs, splits);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
}

// The ~100K-parameter model of the tests (115,008 parameters at vocab 256), trained for
// `tokens` / 256 steps; `extra` adds keys.
inline std::string TinyConfig(int64_t tokens = 51200, int64_t micro_batch = 8,
                              const std::string& extra = "") {
  return "layers: 2\nd_model: 64\nheads: 4\nkv_heads: 2\nffn: 192\nseq_len: 32\nmlp: swiglu\n"
         "micro_batch: " +
         std::to_string(micro_batch) + "\nbatch_tokens: 256\ntokens: " + std::to_string(tokens) +
         "\nlr: 0.01\nwarmup_steps: 10\nlog_every: 1\neval_every: 50\neval_batches: 4\ncheckpoint_every: 10\n"
         "seed: 7\n" +
         extra;
}

inline std::string WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path) << content;
  return path;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Starts isoflop-train with `args`; stderr goes to `log_path`.
inline pid_t SpawnTrainer(const std::vector<std::string>& args, const std::string& log_path) {
  std::vector<std::string> all = {ISOFLOP_TRAIN_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, ISOFLOP_TRAIN_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// Exit code of a child, or 128 + signal when a signal ended it.
inline int Wait(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

inline int RunTrainer(const std::vector<std::string>& args, const std::string& log_path) {
  pid_t pid = SpawnTrainer(args, log_path);
  return pid < 0 ? -1 : Wait(pid);
}

// One metrics.jsonl line, the keys the tests read.
struct MetricsLine {
  int64_t step = 0;
  double train_loss = 0;
  double eval_loss = -1;
  double lr = 0;
  std::map<std::string, double> all;  // every numeric key
};

inline std::vector<MetricsLine> ReadMetrics(const std::string& path) {
  std::vector<MetricsLine> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.back() != '}') continue;
    MetricsLine m;
    // Flat object of "key":number pairs, as the trainer writes it.
    size_t pos = 0;
    while ((pos = line.find('"', pos)) != std::string::npos) {
      size_t end = line.find('"', pos + 1);
      std::string key = line.substr(pos + 1, end - pos - 1);
      size_t colon = line.find(':', end);
      m.all[key] = std::strtod(line.c_str() + colon + 1, nullptr);
      pos = line.find_first_of(",}", colon);
    }
    m.step = static_cast<int64_t>(m.all["step"]);
    m.train_loss = m.all["train_loss"];
    m.lr = m.all["lr"];
    if (m.all.count("eval_loss")) m.eval_loss = m.all["eval_loss"];
    out.push_back(m);
  }
  return out;
}

}  // namespace isoflop::trainer::testing

#endif  // ISOFLOP_TESTS_TRAINER_TRAINER_TEST_UTIL_H_
