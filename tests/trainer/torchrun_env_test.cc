// torchrun's environment (torch/distributed/run.py sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and
// MASTER_PORT for each worker): two ranks started with only those variables — no --rank flags, no
// --rendezvous file — meet through a TCP store at MASTER_ADDR:MASTER_PORT hosted by rank 0 and train
// the same curve as one rank at the same global batch (Gloo on CPU; the NCCL path is compiled only).
// torchrun itself is not used: its workers' environment is reproduced exactly, which is what the
// trainer reads.
#include <netinet/in.h>
#include <sys/socket.h>

#include "trainer_test_util.h"

namespace isoflop::trainer::testing {
namespace {

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

pid_t SpawnWithEnv(const std::vector<std::string>& args, const std::vector<std::string>& extra_env,
                   const std::string& log_path) {
  std::vector<std::string> all = {ISOFLOP_TRAIN_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = extra_env;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const std::string key = kv.substr(0, kv.find('='));
    // The test's own Slurm or torchrun variables (if any) must not leak in.
    if (key.rfind("SLURM_", 0) == 0 || key == "RANK" || key == "WORLD_SIZE" || key == "LOCAL_RANK" ||
        key == "MASTER_ADDR" || key == "MASTER_PORT" || key.rfind("TORCHELASTIC_", 0) == 0)
      continue;
    env_strings.push_back(kv);
  }
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, ISOFLOP_TRAIN_BINARY, &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

TEST(TorchrunEnv, RanksFromTheEnvironmentMeetAtMasterAddr) {
  TempDir dir;
  WriteCorpusShards(dir.Join("shards"));
  const int64_t tokens = 20 * 256;
  const std::string one = WriteFile(dir.Join("one.yaml"), TinyConfig(tokens, /*micro_batch=*/8));
  const std::string two = WriteFile(dir.Join("two.yaml"), TinyConfig(tokens, /*micro_batch=*/4));
  ASSERT_EQ(
      RunTrainer({"--config", one, "--data", dir.Join("shards"), "--out", dir.Join("r1"), "--threads", "1"},
                 dir.Join("r1.log")),
      0)
      << ReadFile(dir.Join("r1.log"));

  const std::string out = dir.Join("r2");
  const std::string port = std::to_string(FreePort());
  std::vector<pid_t> ranks;
  for (int r = 0; r < 2; ++r) {
    ranks.push_back(
        SpawnWithEnv({"--config", two, "--data", dir.Join("shards"), "--out", out, "--threads", "1"},
                     {"RANK=" + std::to_string(r), "WORLD_SIZE=2", "LOCAL_RANK=" + std::to_string(r),
                      "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + port, "TORCHELASTIC_RUN_ID=isoflop-test",
                      "TORCHELASTIC_RESTART_COUNT=0"},
                     dir.Join("rank" + std::to_string(r) + ".log")));
    ASSERT_GT(ranks.back(), 0);
  }
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(Wait(ranks[r]), 0) << ReadFile(dir.Join("rank" + std::to_string(r) + ".log"));
  }
  const auto single = ReadMetrics(dir.Join("r1") + "/metrics.jsonl");
  const auto dp = ReadMetrics(out + "/metrics.jsonl");
  ASSERT_EQ(single.size(), 20u);
  ASSERT_EQ(dp.size(), 20u);
  for (size_t i = 0; i < single.size(); ++i) {
    EXPECT_NEAR(dp[i].train_loss, single[i].train_loss, 2e-4) << "step " << single[i].step;
  }
  EXPECT_NE(ReadFile(out + "/summary.json").find("\"world_size\": 2"), std::string::npos);
  // No rendezvous file: the ranks met over TCP.
  for (const auto& entry : std::filesystem::directory_iterator(out)) {
    EXPECT_EQ(entry.path().filename().string().rfind("rendezvous", 0), std::string::npos) << entry.path();
  }
}

TEST(TorchrunEnv, AnInvalidPairIsBadInput) {
  TempDir dir;
  WriteCorpusShards(dir.Join("shards"));
  const std::string cfg = WriteFile(dir.Join("c.yaml"), TinyConfig(256, 8));
  pid_t pid = SpawnWithEnv({"--config", cfg, "--data", dir.Join("shards"), "--out", dir.Join("r")},
                           {"RANK=3", "WORLD_SIZE=2"}, dir.Join("r.log"));
  ASSERT_GT(pid, 0);
  EXPECT_EQ(Wait(pid), 2);
  EXPECT_NE(ReadFile(dir.Join("r.log")).find("RANK/WORLD_SIZE"), std::string::npos)
      << ReadFile(dir.Join("r.log"));
}

}  // namespace
}  // namespace isoflop::trainer::testing
