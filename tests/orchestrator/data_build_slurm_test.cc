// `isoflop data build --backend slurm` on the REAL one-node Slurm cluster the test suite starts
// (scripts/slurm-local; CTest fixture orchestrator_slurm): each stage a job array of `isoflop
// data stage` tasks. A 4-task build equals the one-process build byte for byte (shards, index,
// tokenizer, manifest, report), and a task SIGKILLed while it writes its outputs is retried by
// the driver and the output is still the same (issue 17). libslurm in one test, the CLI in the
// other.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "backend.h"
#include "isoflop/data_build_slurm.h"
#include "isoflop/data_pipeline.h"
#include "slurm_api.h"
#include "test_util.h"

namespace isoflop::orchestrator {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;

std::map<std::string, std::string> Files(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) files[e.path().filename().string()] = ReadFile(e.path().string());
  }
  return files;
}

class DataBuildSlurm : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* state = std::getenv("ISOFLOP_TEST_SLURM_STATE");
    if (state == nullptr) GTEST_SKIP() << "Slurm binaries were not found at configure time";
    conf_ = std::string(state) + "/slurm.conf";
    ASSERT_TRUE(fs::exists(conf_)) << conf_ << ": the slurm fixture did not start the cluster";
    ::setenv("SLURM_CONF", conf_.c_str(), 1);
    ::unsetenv("ISOFLOP_SLURM_API");
    MakeCorpus();
    // The reference: the one-process build of the same input and config.
    data::BuildOptions reference = Options("reference");
    reference.threads = 2;
    auto built = data::BuildDataset(reference);
    ASSERT_TRUE(built.ok()) << built.status().ToString();
    ASSERT_GT(built->counters.at("exact_dup"), 0);
    ASSERT_GT(built->counters.at("near_dup"), 0);
    reference_ = Files(dir_ / "reference");
    ASSERT_GE(reference_.size(), 6u);
  }
  void TearDown() override {
    ::unsetenv("ISOFLOP_SLURM_API");
    ::unsetenv("ISOFLOP_FAULT_HOLD");
    if (conf_.empty()) return;
    int code = 0;
    (void)RunProgram({"scancel", "--full", "--user=" + std::to_string(::getuid())}, &code,
                     {"SLURM_CONF=" + conf_});
  }

  // ~3 MB of JSONL in 3 files: real chapters repeated with word edits (near duplicates) and
  // verbatim copies (exact duplicates).
  void MakeCorpus() {
    std::vector<std::string> chapters;
    std::ifstream in(std::string(ISOFLOP_TEST_DATA_DIR) + "/austen_chapters.jsonl");
    for (std::string line; std::getline(in, line);) chapters.push_back(nlohmann::json::parse(line)["text"]);
    std::mt19937 rng(17);
    for (int f = 0; f < 3; ++f) {
      std::ofstream out(dir_ / ("part" + std::to_string(f) + ".jsonl"));
      for (int copy = 0; copy < 6; ++copy) {
        for (size_t c = 0; c < chapters.size(); ++c) {
          std::string text = chapters[c];
          // A verbatim copy (exact duplicate), a light edit (a near duplicate), or a heavy one
          // (a document of its own).
          const int kind = static_cast<int>(rng() % 3);
          const int edits = kind == 0   ? 0
                            : kind == 1 ? 1 + static_cast<int>(rng() % 8)
                                        : 300 + static_cast<int>(rng() % 200);
          static const char* kWords[] = {"indeed", "perhaps", "certainly", "moreover", "however", "surely"};
          for (int e = 0; e < edits; ++e) {
            size_t at = text.find(' ', rng() % text.size());
            if (at != std::string::npos) text.insert(at, std::string(" ") + kWords[rng() % 6]);
          }
          out << nlohmann::json{{"id",
                                 std::to_string(f) + "/" + std::to_string(copy) + "/" + std::to_string(c)},
                                {"text", text}}
                     .dump()
              << '\n';
        }
      }
    }
  }
  data::BuildOptions Options(const std::string& out) {
    data::BuildOptions o;
    o.inputs = {dir_ / "part0.jsonl", dir_ / "part1.jsonl", dir_ / "part2.jsonl"};
    o.out_dir = dir_ / out;
    o.report_path = dir_ / (out + "-dropped.jsonl");
    o.progress = false;
    o.tokenizer.vocab_size = 600;
    o.tokenizer.max_train_bytes = 1 << 20;  // a sample
    o.max_tokens_per_shard = 50000;         // several shards
    o.val_fraction = 0.05;
    return o;
  }
  DataBuildSlurmOptions SlurmOptions(const std::string& out) {
    DataBuildSlurmOptions o;
    o.build = Options(out);
    o.build.threads = 1;
    o.tasks = 4;
    o.isoflop_command = {ISOFLOP_BINARY};
    o.slurm_conf = conf_;
    o.mem_mb = 512;
    o.time_limit_min = 5;
    o.poll_s = 0.2;
    o.progress = true;
    return o;
  }
  void ExpectSameAsReference(const std::string& out) {
    auto files = Files(dir_ / out);
    ASSERT_EQ(files.size(), reference_.size());
    for (const auto& [name, bytes] : reference_) EXPECT_TRUE(files[name] == bytes) << name << " differs";
    EXPECT_EQ(ReadFile(dir_ / (out + "-dropped.jsonl")), ReadFile(dir_ / "reference-dropped.jsonl"));
    EXPECT_FALSE(fs::exists(dir_ / (out + "/.isoflop-build")));
  }
  TempDir dir_;
  std::string conf_;
  std::map<std::string, std::string> reference_;
};

TEST_F(DataBuildSlurm, FourTaskBuildEqualsTheOneProcessBuild) {
  auto summary = RunDataBuildOnSlurm(SlurmOptions("slurm4"));
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->arrays_submitted, 7);  // one job array per stage
  EXPECT_EQ(summary->retries, 0);
  ExpectSameAsReference("slurm4");
}

// Through the Slurm CLI (sbatch --array, scontrol's ArrayTaskId) this time; the test above
// uses libslurm.
TEST_F(DataBuildSlurm, ATaskKilledMidStageIsRetriedAndTheOutputIsTheSame) {
  ::setenv("ISOFLOP_SLURM_API", "cli", 1);
  // Scan task 1 of this small corpus lasts a few milliseconds: a poll could miss it (it did, on
  // a CI machine). ISOFLOP_FAULT_HOLD stops it with its outputs open (00001.*.tmp.PID) until
  // the release file exists: the kill below lands mid-stage every time, and the retry, with the
  // release file present, runs straight through.
  const std::string release = dir_ / "release-scan-1";
  ::setenv("ISOFLOP_FAULT_HOLD", ("scan:1:" + release).c_str(), 1);
  StatusOr<DataBuildSlurmSummary> summary = Status::Internal("not run");
  DataBuildSlurmOptions options = SlurmOptions("killed");
  options.tasks = 2;  // half the jobs of the test above (each task starts an isoflop process)
  std::thread driver([&] { summary = RunDataBuildOnSlurm(options); });
  // The held task's outputs are named 00001.*.tmp.PID: the first such file names the process.
  const std::string scan = dir_ / "killed/.isoflop-build/scan";
  pid_t victim = 0;
  bool done_before_kill = true;
  testing::WaitFor(
      [&] {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(scan, ec)) {
          const std::string name = e.path().filename().string();
          auto tmp = name.find(".tmp.");
          if (!name.starts_with("00001.") || tmp == std::string::npos) continue;
          victim = static_cast<pid_t>(std::stol(name.substr(tmp + 5)));
          done_before_kill = fs::exists(scan + "/00001.done");
          ::kill(victim, SIGKILL);
          return true;
        }
        return false;
      },
      120);
  testing::WriteFile(release, "");
  driver.join();
  ::unsetenv("ISOFLOP_FAULT_HOLD");
  ASSERT_GT(victim, 0) << "scan task 1 was never seen at work";
  EXPECT_FALSE(done_before_kill) << "the task had already finished";
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_GE(summary->retries, 1);
  ExpectSameAsReference("killed");
}

// Job array task expressions as Slurm prints them (scontrol's ArrayTaskId, libslurm's
// array_task_str), "%N" throttle included.
TEST(SlurmArrayTasks, ExpressionsExpand) {
  EXPECT_EQ(ParseArrayTasks("0-3"), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(ParseArrayTasks("1,3,5-6"), (std::vector<int>{1, 3, 5, 6}));
  EXPECT_EQ(ParseArrayTasks("2-4%2"), (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(ParseArrayTasks("7"), (std::vector<int>{7}));
  EXPECT_TRUE(ParseArrayTasks("0x1F").empty());
  EXPECT_TRUE(ParseArrayTasks("").empty());
}

}  // namespace
}  // namespace isoflop::orchestrator
