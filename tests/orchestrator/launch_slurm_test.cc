// Issue 12 item 2 on a REAL Slurm 22.05 cluster (scripts/slurm-local, CTest fixture
// orchestrator_slurm): the run.sbatch `isoflop plan --launch` writes passes `sbatch --test-only` for
// three shipped clusters at 1e22, 1e24 and 3.8e25 FLOPs (Megatron-LM and torchtitan), and a requeued
// job resumes from its checkpoint because the signal reaches the engine.
//
// What is not the real thing, and why: the test cluster is one node with 2 CPUs and no GPUs, so the
// scripts are written with --no-gres and submitted with --nodes=1 --ntasks-per-node=1 on the command
// line (which overrides the script's geometry; every other directive, the time limit, the signal,
// --requeue, partition, account and qos, is the script's own); the geometry itself is checked
// against the plan. The engine is tests/orchestrator/fake_megatron.sh, a stand-in that reads the
// emitted megatron.args and keeps Megatron's checkpoint contract (no Megatron, no GPU here).
// `isoflop train` is the real thing where this build has it (TheRealTrainer... below).
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "backend.h"
#include "test_util.h"

namespace isoflop::orchestrator {
namespace {

using testing::ReadFile;
using testing::TempDir;

class LaunchSlurmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* state = std::getenv("ISOFLOP_TEST_SLURM_STATE");
    if (state == nullptr) GTEST_SKIP() << "Slurm binaries were not found at configure time";
    conf_ = std::string(state) + "/slurm.conf";
    ASSERT_TRUE(std::filesystem::exists(conf_)) << conf_ << ": the slurm fixture did not start the cluster";
  }
  void TearDown() override {
    if (conf_.empty()) return;
    for (const std::string& job : jobs_) Run({"scancel", job});
  }
  std::string Run(const std::vector<std::string>& argv, int* code = nullptr,
                  const std::vector<std::string>& env = {}) {
    int c = 0;
    std::vector<std::string> e = {"SLURM_CONF=" + conf_};
    e.insert(e.end(), env.begin(), env.end());
    auto out = RunProgram(argv, &c, e);
    if (code) *code = c;
    return out.ok() ? *out : "";
  }
  // `isoflop plan ... --launch ENGINE --launch-dir DIR`; returns the exit code.
  int Plan(const std::string& engine, const std::string& cluster, const std::string& budget,
           const std::string& dir, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {
        ISOFLOP_BINARY,   "plan",
        "--budget-flops", budget,
        "--law",          "epoch",
        "--cluster",      std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/" + cluster + ".yaml",
        "--launch",       engine,
        "--launch-dir",   dir,
        "--no-gres",      "--partition",
        "debug",          "--account",
        "isoflop",        "--qos",
        "normal",         "--json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    int code = 0;
    plan_json_ = Run(argv, &code);
    return code;
  }
  std::string Scontrol(const std::string& job) { return Run({"scontrol", "show", "job", job}); }
  std::string conf_, plan_json_;
  std::vector<std::string> jobs_;
};

int Directive(const std::string& script, const std::string& name) {
  std::smatch m;
  const std::regex re("#SBATCH --" + name + "=([0-9]+)\n");
  return std::regex_search(script, m, re) ? std::stoi(m[1]) : -1;
}

TEST_F(LaunchSlurmTest, EverySbatchPassesTestOnly) {
  TempDir tmp;
  for (const char* engine : {"megatron", "torchtitan"}) {
    for (const char* cluster : {"h100-sxm", "a100-80gb", "h200"}) {
      for (const char* budget : {"1e22", "1e24", "3.8e25"}) {
        SCOPED_TRACE(std::string(engine) + " " + cluster + " " + budget);
        const std::string dir = tmp / (std::string(engine) + "-" + cluster + "-" + budget);
        ASSERT_EQ(Plan(engine, cluster, budget, dir), 0) << plan_json_;
        const std::string script = ReadFile(dir + "/run.sbatch");
        // The geometry is the plan's: nodes x tasks = the chosen layout's GPUs.
        const auto plan = nlohmann::json::parse(plan_json_);
        const auto& layout = plan.at("layouts").at(0).at("config");
        const int gpus = layout.at("tp").get<int>() * layout.at("pp").get<int>() *
                         layout.at("dp").get<int>() * layout.at("cp").get<int>();
        EXPECT_EQ(Directive(script, "nodes") * Directive(script, "ntasks-per-node"), gpus);
        EXPECT_EQ(script.find("--gpus-per-node"), std::string::npos);
        int code = 0;
        Run({"sbatch", "--test-only", "--nodes=1", "--ntasks-per-node=1", dir + "/run.sbatch"}, &code);
        EXPECT_EQ(code, 0) << "sbatch --test-only refused " << dir << "/run.sbatch";
      }
    }
  }
  // The same check catches a broken directive: a partition the cluster does not have.
  const std::string dir = tmp / "bad";
  ASSERT_EQ(Plan("megatron", "h100-sxm", "1e22", dir), 0);
  std::string script = ReadFile(dir + "/run.sbatch");
  script = std::regex_replace(script, std::regex("--partition=debug"), "--partition=nosuch");
  testing::WriteFile(dir + "/run.sbatch", script);
  int code = 0;
  Run({"sbatch", "--test-only", "--nodes=1", "--ntasks-per-node=1", dir + "/run.sbatch"}, &code);
  EXPECT_NE(code, 0);
}

TEST_F(LaunchSlurmTest, ARequeuedJobResumesFromItsCheckpointBecauseTheSignalReachesTheEngine) {
  TempDir tmp;
  const std::string dir = tmp / "run";
  ASSERT_EQ(Plan("megatron", "h100-sxm", "1e19", dir, {"--gpus", "8", "--allow-extrapolation"}), 0)
      << plan_json_;
  const std::string ready = tmp / "engine-ready";
  int code = 0;
  // As Slurm does at the time limit minus --signal's lead: USR1 to the batch shell only (B:).
  const std::string job = Run(
      {"sbatch", "--parsable", "--nodes=1", "--ntasks-per-node=1", dir + "/run.sbatch"}, &code,
      {"ISOFLOP_ENGINE_COMMAND=" + std::string(ISOFLOP_SOURCE_DIR) + "/tests/orchestrator/fake_megatron.sh",
       "FAKE_ENGINE_READY=" + ready, "FAKE_ENGINE_ITERS_PER_TICK=50"});
  ASSERT_EQ(code, 0);
  const std::string id = job.substr(0, job.find_first_not_of("0123456789"));
  ASSERT_FALSE(id.empty()) << job;
  jobs_.push_back(id);
  ASSERT_TRUE(testing::WaitFor([&] { return std::filesystem::exists(ready); }, 60))
      << "the engine never started";
  std::filesystem::remove(ready);
  Run({"scancel", "--batch", "--signal=USR1", id}, &code);
  ASSERT_EQ(code, 0);
  const std::string log = dir + "/slurm-" + id + ".out";
  ASSERT_TRUE(
      testing::WaitFor([&] { return Scontrol(id).find("JobState=COMPLETED") != std::string::npos; }, 120))
      << Scontrol(id) << "\n"
      << ReadFile(log);
  const std::string out = ReadFile(log);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("exiting on signal at iteration ([0-9]+)"))) << out;
  const std::string at = m[1];
  EXPECT_GT(std::stoll(at), 0);
  EXPECT_NE(out.find("isoflop: requeueing job " + id), std::string::npos) << out;
  EXPECT_NE(out.find("restart 1"), std::string::npos) << out;
  EXPECT_NE(out.find("loaded checkpoint from " + dir + "/checkpoints at iteration " + at), std::string::npos)
      << out;
  // The resumed run finishes the plan's steps (--train-iters) and checkpoints there.
  const std::string args = ReadFile(dir + "/megatron.args");
  ASSERT_TRUE(std::regex_search(args, m, std::regex("--train-iters ([0-9]+)\n")));
  const std::string iters = m[1];
  EXPECT_GT(std::stoll(iters), std::stoll(at));
  EXPECT_NE(out.find("fake_megatron: finished at iteration " + iters), std::string::npos) << out;
  EXPECT_EQ(ReadFile(dir + "/checkpoints/latest_checkpointed_iteration.txt"), iters + "\n");
  EXPECT_NE(Scontrol(id).find("Restarts=1"), std::string::npos) << Scontrol(id);
}

// `plan --sbatch` (isoflop train): the same signal path with the orchestrator's stand-in trainer
// (fake_trainer.sh follows isoflop train's contract: checkpoint and exit 75 on SIGTERM, --resume).
TEST_F(LaunchSlurmTest, TheIsoflopSbatchRequeuesAndResumesTheTrainer) {
  TempDir tmp;
  int code = 0;
  Run({ISOFLOP_BINARY, "plan", "--budget-flops", "1e20", "--cluster",
       std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/h100-sxm.yaml", "--gpus", "64", "--sbatch",
       tmp / "big-run.sh", "--no-gres", "--partition", "debug"},
      &code);
  ASSERT_EQ(code, 0);
  const std::string script = ReadFile(tmp / "big-run.sh");
  EXPECT_NE(script.find("#SBATCH --partition=debug\n"), std::string::npos);
  EXPECT_EQ(script.find("--gpus-per-node"), std::string::npos);
  // The stand-in waits for the signal on its first attempt (a test knob of fake_trainer.sh).
  std::ofstream(tmp / "big-run.yaml", std::ios::app) << "fake_wait_signal: 2\n";
  const std::string out = tmp / "run";
  const std::string job = Run(
      {"sbatch", "--parsable", "--nodes=1", "--ntasks-per-node=1", tmp / "big-run.sh"}, &code,
      {"ISOFLOP_ENGINE_COMMAND=" + std::string(ISOFLOP_FAKE_TRAINER), "DATA=" + tmp.path(), "OUT=" + out});
  ASSERT_EQ(code, 0);
  const std::string id = job.substr(0, job.find_first_not_of("0123456789"));
  jobs_.push_back(id);
  ASSERT_TRUE(testing::WaitFor([&] { return std::filesystem::exists(out + "/metrics.jsonl"); }, 60));
  Run({"scancel", "--batch", "--signal=USR1", id}, &code);
  ASSERT_EQ(code, 0);
  const std::string log = tmp / ("slurm-" + id + ".out");
  ASSERT_TRUE(
      testing::WaitFor([&] { return Scontrol(id).find("JobState=COMPLETED") != std::string::npos; }, 120))
      << Scontrol(id) << "\n"
      << ReadFile(log);
  const std::string text = ReadFile(log);
  EXPECT_NE(text.find("fake_trainer: checkpointed"), std::string::npos) << text;
  EXPECT_NE(text.find("isoflop: engine exited 75"), std::string::npos) << text;
  EXPECT_NE(text.find("fake_trainer attempt 2 resume=1"), std::string::npos) << text;
  EXPECT_TRUE(std::filesystem::exists(out + "/summary.json"));  // the resumed attempt finished
  EXPECT_TRUE(std::filesystem::exists(out + "/checkpoint.pt"));
  EXPECT_NE(Scontrol(id).find("Restarts=1"), std::string::npos);
}

#ifdef ISOFLOP_TRAIN_BINARY
// `plan --launch isoflop` with the REAL trainer (isoflop train, libtorch on CPU): USR1 at the batch
// shell reaches `isoflop train` as SIGTERM through the script's trap, the trainer checkpoints and
// exits 75, the job requeues itself, and the second attempt (`--resume`) continues from the
// checkpoint's step to the end. Not the plan's own model: its 650M parameters cannot train on the
// test cluster's 2 CPUs, so run.yaml is replaced by a 2-layer model (the script is the subject).
TEST_F(LaunchSlurmTest, TheRealTrainerIsSignalledCheckpointsRequeuesAndResumes) {
  TempDir tmp;
  const std::string dir = tmp / "run";
  ASSERT_EQ(Plan("isoflop", "h100-sxm", "1e20", dir, {"--gpus", "64"}), 0) << plan_json_;
  int code = 0;
  Run({ISOFLOP_BINARY, "data", "build", "--config",
       std::string(ISOFLOP_SOURCE_DIR) + "/configs/data/tiny.yaml", "--input",
       std::string(ISOFLOP_SOURCE_DIR) + "/tests/data/austen_chapters.jsonl", "--out", tmp / "shards"},
      &code);
  ASSERT_EQ(code, 0);
  // 400 steps of 256 tokens, a checkpoint every 20: the signal comes at the first checkpoint, long
  // before the end on any machine.
  testing::WriteFile(dir + "/run.yaml",
                     "layers: 2\nd_model: 64\nheads: 4\nkv_heads: 2\nffn: 192\nvocab: 512\nseq_len: 32\n"
                     "mlp: swiglu\nmicro_batch: 8\nbatch_tokens: 256\ntokens: 102400\nlr: 0.01\n"
                     "warmup_steps: 10\nlog_every: 10\neval_every: 1000\neval_batches: 2\n"
                     "checkpoint_every: 20\nseed: 7\n");
  const std::string out = tmp / "out";
  const std::string job =
      Run({"sbatch", "--parsable", "--nodes=1", "--ntasks-per-node=1", dir + "/run.sbatch"}, &code,
          {"ISOFLOP_ENGINE_COMMAND=" + std::string(ISOFLOP_BINARY) + " train --threads 1",
           "DATA=" + tmp / "shards", "OUT=" + out});
  ASSERT_EQ(code, 0) << job;
  const std::string id = job.substr(0, job.find_first_not_of("0123456789"));
  ASSERT_FALSE(id.empty()) << job;
  jobs_.push_back(id);
  const std::string log = dir + "/slurm-" + id + ".out";
  ASSERT_TRUE(testing::WaitFor([&] { return std::filesystem::exists(out + "/checkpoint.json"); }, 120))
      << ReadFile(log);
  // As Slurm does at the time limit minus --signal's lead: USR1 to the batch shell only (B:).
  Run({"scancel", "--batch", "--signal=USR1", id}, &code);
  ASSERT_EQ(code, 0);
  ASSERT_TRUE(
      testing::WaitFor([&] { return Scontrol(id).find("JobState=COMPLETED") != std::string::npos; }, 240))
      << Scontrol(id) << "\n"
      << ReadFile(log);
  const std::string text = ReadFile(log);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex("signal 15: checkpointed at step ([0-9]+)"))) << text;
  const long long at = std::stoll(m[1]);
  EXPECT_GT(at, 0);
  EXPECT_LT(at, 400);
  EXPECT_NE(text.find("isoflop: engine exited 75"), std::string::npos) << text;
  EXPECT_NE(text.find("isoflop: requeueing job " + id), std::string::npos) << text;
  EXPECT_NE(text.find("restart 1"), std::string::npos) << text;
  EXPECT_NE(Scontrol(id).find("Restarts=1"), std::string::npos) << Scontrol(id);
  // The second attempt finished the run from the checkpoint: one curve, each step logged once, in
  // order, to step 400 (a restart from scratch would log steps 10, 20, ... a second time).
  const auto summary = nlohmann::json::parse(ReadFile(out + "/summary.json"));
  EXPECT_EQ(summary.at("status"), "done") << summary.dump();
  std::istringstream metrics(ReadFile(out + "/metrics.jsonl"));
  std::string line;
  long long last = 0;
  int lines = 0;
  while (std::getline(metrics, line)) {
    if (line.find("\"step\":") == std::string::npos) continue;
    const long long step = nlohmann::json::parse(line).at("step").get<long long>();
    EXPECT_GT(step, last) << line;
    last = step;
    ++lines;
  }
  EXPECT_EQ(last, 400);
  EXPECT_GE(lines, 40);
  const std::string after = text.substr(text.find("restart 1"));
  ASSERT_TRUE(std::regex_search(after, m, std::regex("step ([0-9]+)/400"))) << after;
  EXPECT_GT(std::stoll(m[1]), at) << "the resumed attempt started over";
  std::cout << "signal: checkpointed at step " << at << " of 400; resumed attempt's first step line: " << m[0]
            << "; " << lines << " metric lines, last step " << last << "\n";
}
#endif

TEST_F(LaunchSlurmTest, BadLaunchFlagsExit2AndWriteNothing) {
  TempDir tmp;
  int code = 0;
  const std::string cluster = std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/h100-sxm.yaml";
  Run({ISOFLOP_BINARY, "plan", "--budget-flops", "1e22", "--law", "epoch", "--cluster", cluster,
       "--launch-dir", tmp / "x"},
      &code);
  EXPECT_EQ(code, 2);
  Run({ISOFLOP_BINARY, "plan", "--budget-flops", "1e22", "--law", "epoch", "--cluster", cluster, "--launch",
       "deepspeed", "--launch-dir", tmp / "x"},
      &code);
  EXPECT_EQ(code, 2);
  Run({ISOFLOP_BINARY, "plan", "--budget-flops", "1e22", "--law", "epoch", "--cluster", cluster, "--launch",
       "megatron", "--engine", "torchtitan", "--launch-dir", tmp / "x"},
      &code);
  EXPECT_EQ(code, 2);
  Run({ISOFLOP_BINARY, "plan", "--budget-flops", "1e22", "--law", "epoch", "--cluster", cluster, "--launch",
       "torchtitan", "--mlp", "gelu", "--launch-dir", tmp / "x"},
      &code);
  EXPECT_EQ(code, 2);
  EXPECT_FALSE(std::filesystem::exists(tmp / "x"));
}

}  // namespace
}  // namespace isoflop::orchestrator
