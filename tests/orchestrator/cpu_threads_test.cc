// A CPU run is started with as many intra-op threads as the cores its spec gives it
// (`--threads <resources.cpus>`), so runs side by side on the local executor do not each start
// one thread per core of the machine; a trainer_command that sets --threads itself is left
// alone, and a GPU run gets no --threads. What is checked is the trainer's real command line,
// recorded by the stand-in trainer (fake_trainer.sh writes RUN_DIR/fake_threads).
#include <gtest/gtest.h>

#include <filesystem>

#include "isoflop/orchestrator.h"
#include "test_util.h"

namespace isoflop::orchestrator {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

std::string Spec(const std::string& out_dir, const std::string& device, int cpus,
                 const std::string& extra_trainer_args) {
  return "name: threads\nbackend: local\nout_dir: \"" + out_dir + "\"\ndata: \"" + testing::ShardsDir() +
         "\"\nbudgets_flops: [1e13]\n"
         "models:\n"
         "  - {layers: 2, d_model: 32, heads: 2}\n"
         "  - {layers: 2, d_model: 64, heads: 2}\n"
         "train:\n  vocab: 256\n  seq_len: 64\n"
         "trainer_command: [\"" ISOFLOP_FAKE_TRAINER "\"" +
         extra_trainer_args +
         "]\n"
         "device: " +
         device +
         "\n"
         "retry: {max_attempts: 1, backoff_s: 0.05, backoff_max_s: 0.2}\n"
         "local: {slots: 2}\nresources: {cpus: " +
         std::to_string(cpus) + ", gpus: 0, mem_mb: 256, time_limit_min: 5}\n";
}

// Runs the sweep to completion and returns each run's recorded --threads ("" when none was given).
std::vector<std::string> ThreadsGiven(const std::string& spec_text) {
  TempDir dir;
  WriteFile(dir / "s.yaml", spec_text);
  auto spec = ParseSweepSpec(dir / "s.yaml");
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  if (!spec.ok()) return {};
  SubmitOptions o;
  o.db_path = dir / "state.db";
  EXPECT_TRUE(SubmitSweep(*spec, o).ok());
  EXPECT_EQ(testing::RunDaemonToIdle(o.db_path, dir / "daemon.log"), 0) << ReadFile(dir / "daemon.log");
  auto report = GetStatus(o.db_path);
  EXPECT_TRUE(report.ok());
  if (!report.ok()) return {};
  EXPECT_EQ(report->counts["done"], 2) << report->ToText();
  std::vector<std::string> out;
  for (const RunStatus& r : report->runs) {
    const std::string path = r.run_dir + "/fake_threads";
    std::string t = std::filesystem::exists(path) ? ReadFile(path) : "";
    while (!t.empty() && t.back() == '\n') t.pop_back();
    out.push_back(t);
  }
  return out;
}

TEST(DaemonCpuThreadsTest, CpuRunGetsOneThreadPerCoreItWasGiven) {
  TempDir dir;
  EXPECT_EQ(ThreadsGiven(Spec(dir / "runs", "cpu", 3, "")), (std::vector<std::string>{"3", "3"}));
}

TEST(DaemonCpuThreadsTest, DefaultSingleCoreRunGetsOneThread) {
  TempDir dir;
  EXPECT_EQ(ThreadsGiven(Spec(dir / "runs", "cpu", 1, "")), (std::vector<std::string>{"1", "1"}));
}

TEST(DaemonCpuThreadsTest, TrainerCommandThatSetsThreadsWins) {
  TempDir dir;
  EXPECT_EQ(ThreadsGiven(Spec(dir / "runs", "cpu", 3, ", \"--threads\", \"5\"")),
            (std::vector<std::string>{"5", "5"}));
}

TEST(DaemonCpuThreadsTest, GpuRunGetsNoThreadsFlag) {
  TempDir dir;
  EXPECT_EQ(ThreadsGiven(Spec(dir / "runs", "cuda", 2, "")), (std::vector<std::string>{"", ""}));
}

}  // namespace
}  // namespace isoflop::orchestrator
