// Data pipeline benchmark (docs/benchmarks.md, "Data pipeline").
//
//   data_pipeline_bench --source build/corpus/austen.jsonl --corpus /tmp/isoflop-bench.jsonl
//       --mb 520 --out /tmp/isoflop-bench-out [--threads 1,2] [--minhash-mb 100] [--repeat 3]
//       [--stage-model 4] [--builds-only]
//   (one command line; --threads "" skips the builds)
//
// 1. Makes the corpus if missing: the real chapters repeated with mutations (1–20% of words
//    replaced per copy, paragraphs shuffled in some), so it holds near-duplicates, exact
//    duplicates and unique text — a deduplication workload, not one file copied.
// 2. The limit: read the file and XXH3-64 every byte (one core).
// 3. MinHash alone: signatures (112 hashes, word 5-grams) of the first --minhash-mb of
//    documents (text already parsed; one core) — the same documents the Python reference reads.
//    Then BPE alone on the same texts: pre-token counting, merge learning, cached encoding.
// 4. `isoflop data build` end to end with each --threads value, the values interleaved over
//    --repeat rounds: wall MB/s, CPU, per-stage seconds ("_cpu": the process in that stage),
//    peak RSS, the 1-minute load average before each run.
// 5. --stage-model N: the build as N tasks per stage, each task in a child process: CPU
//    seconds, peak RSS and bytes written per stage (the distributed build's model).
//    --builds-only skips 2 and 3.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>
#include <xxhash.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "isoflop/data_pipeline.h"

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;
using namespace isoflop::data;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// CPU seconds: the development machine is shared (load ~15 on 2 cores while others build),
// so rates are computed from CPU time, which descheduling does not inflate; wall is reported too.
double ThreadCpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}
double ProcessCpu() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec * 1e-6 + usage.ru_stime.tv_sec +
         usage.ru_stime.tv_usec * 1e-6;
}

std::vector<std::string> SplitParagraphs(const std::string& text) {
  std::vector<std::string> out;
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find("\n\n", start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 2;
  }
  return out;
}

bool MakeCorpus(const std::string& source, const std::string& path, double megabytes) {
  std::ifstream in(source);
  if (!in) return false;
  std::vector<std::string> chapters;
  std::string line;
  while (std::getline(in, line)) chapters.push_back(json::parse(line)["text"].get<std::string>());
  // Replacement words: the corpus's own vocabulary, so mutated text stays English-like.
  std::vector<std::string> vocabulary;
  {
    std::istringstream words(chapters[0] + " " + chapters[1]);
    std::string w;
    while (words >> w) vocabulary.push_back(w);
  }
  std::ofstream out(path + ".tmp", std::ios::binary);
  std::mt19937_64 rng(20261124);
  const size_t target = static_cast<size_t>(megabytes * 1e6);
  size_t written = 0;
  for (int copy = 0; written < target; ++copy) {
    for (size_t c = 0; c < chapters.size() && written < target; ++c) {
      std::string text;
      if (copy == 0 || rng() % 10 == 0) {
        text = chapters[c];  // original, or an exact duplicate
      } else {
        double rate = 0.01 + (rng() % 1000) / 1000.0 * 0.19;
        auto paragraphs = SplitParagraphs(chapters[c]);
        if (rng() % 4 == 0 && paragraphs.size() > 2)
          std::swap(paragraphs[0], paragraphs[paragraphs.size() / 2]);
        for (size_t p = 0; p < paragraphs.size(); ++p) {
          std::istringstream words(paragraphs[p]);
          std::string w, rebuilt;
          while (words >> w) {
            if (std::uniform_real_distribution<>(0, 1)(rng) < rate) w = vocabulary[rng() % vocabulary.size()];
            rebuilt += (rebuilt.empty() ? "" : " ") + w;
          }
          text += (p ? "\n\n" : "") + rebuilt;
        }
      }
      std::string record =
          json{{"id", "c" + std::to_string(copy) + "/" + std::to_string(c)}, {"text", text}}.dump();
      out << record << '\n';
      written += record.size() + 1;
    }
  }
  out.close();
  std::filesystem::rename(path + ".tmp", path);
  return true;
}

double ReadAndHashMBps(const std::string& path, double* megabytes) {
  double t = ThreadCpu();
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  std::vector<char> buffer(1 << 20);
  size_t total = 0, got;
  uint64_t h = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), f.get())) > 0) {
    h ^= XXH3_64bits(buffer.data(), got);
    total += got;
  }
  double s = ThreadCpu() - t;
  *megabytes = total / 1e6;
  std::fprintf(stderr, "read+hash: %.1f MB, xor %016llx\n", total / 1e6, static_cast<unsigned long long>(h));
  return total / 1e6 / s;
}

std::vector<std::string> LoadTexts(const std::string& path, double megabytes) {
  std::ifstream in(path);
  std::vector<std::string> texts;
  size_t line_bytes = 0;
  std::string line;
  while (line_bytes < megabytes * 1e6 && std::getline(in, line)) {
    line_bytes += line.size() + 1;
    texts.push_back(json::parse(line)["text"].get<std::string>());
  }
  return texts;
}

double MinHashOnlyMBps(const std::vector<std::string>& texts, double* text_mb) {
  size_t bytes = 0;
  for (const auto& text : texts) bytes += text.size();
  MinHasher hasher(MinHashOptions{});
  std::vector<uint32_t> signature(112);
  uint64_t check = 0;
  double t = ThreadCpu();
  for (const auto& text : texts) {
    hasher.Signature(text, signature.data());
    check += signature[0];
  }
  double s = ThreadCpu() - t;
  *text_mb = bytes / 1e6;
  std::fprintf(stderr, "minhash: %zu docs, %.1f MB text, check %llu\n", texts.size(), bytes / 1e6,
               static_cast<unsigned long long>(check));
  return bytes / 1e6 / s;
}

// BPE alone on the same texts (one core): counting pre-tokens (BpeTrainer::Add), learning the
// merges (Train, vocab 8192), then encoding every text with one cache, as the build does.
json BpeOnly(const std::vector<std::string>& texts) {
  size_t bytes = 0;
  for (const auto& text : texts) bytes += text.size();
  BpeTrainer trainer(BpeTrainerOptions{});
  double t = ThreadCpu();
  for (const auto& text : texts) trainer.Add(text);
  const double count_s = ThreadCpu() - t;
  t = ThreadCpu();
  BpeTokenizer tokenizer = trainer.Train();
  const double merge_s = ThreadCpu() - t;
  BpeEncodeCache cache;
  std::vector<uint32_t> ids;
  size_t tokens = 0;
  t = ThreadCpu();
  for (const auto& text : texts) {
    ids.clear();
    tokenizer.Encode(text, &ids, &cache);
    tokens += ids.size();
  }
  const double encode_s = ThreadCpu() - t;
  std::fprintf(stderr, "bpe: %.1f MB text, vocab %u, %zu tokens\n", bytes / 1e6, tokenizer.vocab_size(),
               tokens);
  return {{"text_mb", bytes / 1e6},
          {"train_count_mb_per_s", bytes / 1e6 / count_s},
          {"train_count_s", count_s},
          {"train_merges_s", merge_s},
          {"encode_mb_per_s", bytes / 1e6 / encode_s},
          {"tokens", tokens}};
}

long PeakRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

// The distributed build's model (docs/data.md, "Scale"): every task of every stage runs in a
// child process, so the kernel reports each task's CPU time and peak RSS (wait4); bytes
// written are the stage's new files. Tasks run one after another.
json StageModel(const std::string& corpus, const std::string& out, int tasks, int threads) {
  BuildOptions options;
  options.inputs = {corpus};
  options.out_dir = out;
  options.threads = threads;
  options.progress = false;
  auto build = StagedBuild::Prepare(options, tasks, /*resume=*/false);
  if (!build.ok()) {
    std::fprintf(stderr, "stage model: %s\n", build.status().ToString().c_str());
    return {};
  }
  auto dir_bytes = [&] {
    uint64_t total = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator((*build)->work_dir())) {
      if (e.is_regular_file()) total += e.file_size();
    }
    return total;
  };
  json model = json::object();
  for (const BuildStageInfo& stage : (*build)->stages()) {
    const uint64_t before = dir_bytes();
    double cpu = 0, max_rss_mib = 0;
    const auto start = Clock::now();
    for (int t = 0; t < stage.tasks; ++t) {
      pid_t child = ::fork();
      if (child == 0) {
        isoflop::Status s = RunBuildTask((*build)->work_dir(), stage.name, t, threads);
        if (!s.ok()) std::fprintf(stderr, "%s %d: %s\n", stage.name.c_str(), t, s.ToString().c_str());
        ::_exit(s.ok() ? 0 : 1);
      }
      int status = 0;
      rusage usage{};
      ::wait4(child, &status, 0, &usage);
      cpu += usage.ru_utime.tv_sec + usage.ru_utime.tv_usec * 1e-6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec * 1e-6;
      max_rss_mib = std::max(max_rss_mib, usage.ru_maxrss / 1024.0);
      (void)status;
    }
    model[stage.name] = {{"tasks", stage.tasks},
                         {"cpu_s", cpu},
                         {"wall_s", Since(start)},
                         {"max_task_rss_mib", max_rss_mib},
                         {"bytes_written", dir_bytes() - before}};
  }
  auto summary = (*build)->Commit();
  if (!summary.ok()) std::fprintf(stderr, "stage model commit: %s\n", summary.status().ToString().c_str());
  else model["input_text_mb"] = summary->input_bytes / 1e6, model["counters"] = summary->counters;
  return model;
}

}  // namespace

int main(int argc, char** argv) {
  std::string source = "build/corpus/austen.jsonl", corpus = "/tmp/isoflop-bench.jsonl",
              out = "/tmp/isoflop-bench-out";
  double megabytes = 520, minhash_mb = 100;
  std::vector<int> threads{1, 2};
  int repeat = 1, model_tasks = 0;
  bool builds_only = false;
  for (int i = 1; i < argc; i += 2) {
    std::string flag = argv[i], value = i + 1 < argc ? argv[i + 1] : "";
    if (flag == "--builds-only") {  // no read+hash / MinHash / BPE parts
      builds_only = true;
      --i;
      continue;
    }
    if (flag == "--source")
      source = value;
    else if (flag == "--corpus")
      corpus = value;
    else if (flag == "--out")
      out = value;
    else if (flag == "--mb")
      megabytes = std::stod(value);
    else if (flag == "--minhash-mb")
      minhash_mb = std::stod(value);
    else if (flag == "--repeat")
      repeat = std::stoi(value);
    else if (flag == "--stage-model")
      model_tasks = std::stoi(value);
    else if (flag == "--threads") {
      threads.clear();
      std::stringstream list(value);
      std::string t;
      while (std::getline(list, t, ',')) threads.push_back(std::stoi(t));
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (!std::filesystem::exists(corpus)) {
    if (!std::filesystem::exists(source)) {
      std::fprintf(stderr, "SKIP: %s not found (run scripts/corpus first)\n", source.c_str());
      return 0;
    }
    auto t = Clock::now();
    if (!MakeCorpus(source, corpus, megabytes)) return 1;
    std::fprintf(stderr, "made %s in %.1f s\n", corpus.c_str(), Since(t));
  }
  json result;
  result["note"] = "rates are MB per CPU-second (one core) unless named _wall";
  if (!builds_only) {
    double file_mb = 0;
    result["read_and_hash_mb_per_s"] = ReadAndHashMBps(corpus, &file_mb);
    result["corpus_mb"] = file_mb;
    double text_mb = 0;
    const auto texts = LoadTexts(corpus, minhash_mb);
    result["minhash_only_mb_per_s"] = MinHashOnlyMBps(texts, &text_mb);
    result["minhash_only_text_mb"] = text_mb;
    result["bpe_only"] = BpeOnly(texts);
  }
  // Builds: the thread counts interleaved, `repeat` rounds (a busy machine slows runs unevenly;
  // interleaving spreads that over every thread count).
  for (int round = 0; round < repeat; ++round) {
    for (int t : threads) {
      BuildOptions options;
      options.inputs = {corpus};
      options.out_dir = out + "-t" + std::to_string(t);
      options.threads = t;
      options.progress = repeat == 1;
      double load[3] = {0, 0, 0};
      ::getloadavg(load, 3);
      auto start = Clock::now();
      double cpu_start = ProcessCpu();
      auto summary = BuildDataset(options);
      double cpu = ProcessCpu() - cpu_start;
      if (!summary.ok()) {
        std::fprintf(stderr, "build failed: %s\n", summary.status().ToString().c_str());
        return 1;
      }
      double wall = Since(start);
      json run;
      run["wall_s"] = wall;
      run["load_average_1min_before"] = load[0];
      run["input_text_mb"] = summary->input_bytes / 1e6;
      run["end_to_end_mb_per_s"] = summary->input_bytes / 1e6 / wall;
      run["cpu_s"] = cpu;
      run["end_to_end_mb_per_cpu_s"] = summary->input_bytes / 1e6 / cpu;
      json stages;
      for (const auto& [name, seconds] : summary->stage_seconds) {
        stages[name] = {{"seconds", seconds},
                        {"input_mb_per_s", seconds > 0 ? summary->input_bytes / 1e6 / seconds : 0}};
      }
      run["stages"] = stages;
      run["counters"] = summary->counters;
      run["peak_rss_mib_so_far"] = PeakRssMiB();
      std::string key = "build_threads_" + std::to_string(t);
      if (repeat > 1) key += "_round" + std::to_string(round);
      result[key] = run;
      std::fprintf(stderr, "threads %d round %d: wall %.2f s, cpu %.2f s (load %.1f)\n", t, round, wall, cpu, load[0]);
    }
  }
  if (model_tasks > 0) result["stage_model"] = StageModel(corpus, out + "-model", model_tasks, 1);
  std::cout << result.dump(2) << std::endl;
  return 0;
}
