// Shared helpers for the orchestrator tests: temp dirs, spec files, running the daemon helper.
#ifndef ISOFLOP_TESTS_ORCHESTRATOR_TEST_UTIL_H_
#define ISOFLOP_TESTS_ORCHESTRATOR_TEST_UTIL_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "isoflop/shard_writer.h"

extern char** environ;

namespace isoflop::orchestrator::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "isoflop-orch-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    if (std::getenv("ISOFLOP_KEEP_TMP") == nullptr) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void WriteFile(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Real token shards for the specs' `data:` (sweep submit refuses a path that is not token shards):
// 64 short documents of byte ids written by the data pipeline's shard writer, once per test process.
// The fake trainer does not read them; the real trainer tests build their own from a corpus.
inline std::string ShardsDir() {
  struct Shards {
    std::string dir;
    Shards() {
      std::string tmpl = (std::filesystem::temp_directory_path() / "isoflop-orch-shards-XXXXXX").string();
      dir = ::mkdtemp(tmpl.data());
      std::vector<std::vector<uint32_t>> docs;
      std::vector<std::string> splits;
      for (uint32_t i = 0; i < 64; ++i) {
        docs.push_back({1 + i % 200, 2 + i % 100, 3, 4, 5});
        splits.push_back(i % 8 == 7 ? "val" : "train");
      }
      data::ShardWriterOptions o;
      o.out_dir = dir;
      o.vocab_size = 256;
      o.eos_id = 0;
      (void)data::WriteShards(o, docs, splits);
    }
    ~Shards() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  };
  static const Shards shards;
  return shards.dir;
}

// A sweep spec over five explicit shapes and two budgets, run by the fake trainer.
inline std::string TinySpec(const std::string& name, const std::string& out_dir, const std::string& backend,
                            const std::string& extra_train = "", int budgets = 2,
                            const std::string& extra = "") {
  std::string b = budgets == 1 ? "[1e13]" : "[1e13, 3e13]";
  return "name: " + name + "\nbackend: " + backend + "\nout_dir: \"" + out_dir + "\"\ndata: \"" +
         ShardsDir() + "\"\n" + "budgets_flops: " + b + "\n" +
         "models:\n"
         "  - {layers: 2, d_model: 32, heads: 2}\n"
         "  - {layers: 2, d_model: 64, heads: 2}\n"
         "  - {layers: 4, d_model: 64, heads: 2}\n"
         "  - {layers: 4, d_model: 128, heads: 4}\n"
         "  - {layers: 6, d_model: 128, heads: 4}\n"
         "train:\n  vocab: 256\n  seq_len: 64\n" +
         extra_train + "trainer_command: [\"" ISOFLOP_FAKE_TRAINER "\"]\n" +
         "retry: {max_attempts: 3, backoff_s: 0.05, backoff_max_s: 0.2}\n"
         "local: {slots: 4}\n"
         "resources: {cpus: 1, mem_mb: 256, time_limit_min: 5}\n" +
         extra;
}

// Spawns a program (argv, no shell); returns its pid.
inline pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

// Waits for a child; returns its exit code, or 128+signal.
inline int WaitExit(pid_t pid) {
  int ws = 0;
  while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

inline bool WaitFor(const std::function<bool()>& cond, double seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int>(seconds * 1000));
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return cond();
}

// Runs the daemon helper to completion (exit when idle).
inline int RunDaemonToIdle(const std::string& db, const std::string& log) {
  return WaitExit(Spawn({ISOFLOP_DAEMON_HELPER, db}, log));
}

// A minimal HTTP/1.0 client over a blocking socket (no curl on a fresh machine): the whole
// response (status line, headers, body), or "" when nothing answers.
inline std::string HttpResponse(const std::string& method, int port, const std::string& target) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "";
  }
  std::string req = method + " " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string resp;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) resp.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return resp;
}

// The body of HttpResponse, or "" when nothing answers.
inline std::string Http(const std::string& method, int port, const std::string& target) {
  std::string resp = HttpResponse(method, port, target);
  auto body = resp.find("\r\n\r\n");
  return body == std::string::npos ? "" : resp.substr(body + 4);
}

}  // namespace isoflop::orchestrator::testing

#endif  // ISOFLOP_TESTS_ORCHESTRATOR_TEST_UTIL_H_
