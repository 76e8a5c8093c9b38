// `isoflop train`: the trainer is a separate binary, isoflop-train (trainer/src/train_main.cc), the
// only one that links libtorch, so every other subcommand starts in milliseconds (issue 15).
// `isoflop train ARGS...` replaces this process with `isoflop-train ARGS...` found beside the
// isoflop binary: same flags, same output, same exit codes (docs/interfaces.md), same pid (a
// Slurm step or the launch wrapper signals the trainer itself).
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "commands.h"

namespace isoflop::cli {

std::string TrainerBinaryPath() {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "isoflop-train";
  self[n] = '\0';
  std::string dir(self);
  const size_t slash = dir.rfind('/');
  dir.resize(slash == std::string::npos ? 0 : slash + 1);
  return dir + "isoflop-train";
}

int ExecTrainer(int argc, char** argv) {
  const std::string path = TrainerBinaryPath();
  std::vector<char*> args;
  args.push_back(const_cast<char*>(path.c_str()));
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  std::fflush(stdout);
  ::execv(path.c_str(), args.data());
  const int err = errno;
  std::fprintf(
      stderr,
      "isoflop train: cannot run the trainer %s: %s\n"
      "  (it is built beside isoflop by `cmake --build build --target isoflop-train`; it needs libtorch)\n",
      path.c_str(), std::strerror(err));
  return kExitFailure;
}

void RegisterTrainCommand(CLI::App& app, CommandContext& ctx) {
  // Listed in `isoflop --help`; main() hands `isoflop train ...` to ExecTrainer before parsing.
  auto* cmd = app.add_subcommand(
      "train",
      "Train the GPT of a run config on token shards (runs isoflop-train: libtorch; `isoflop train --help`)");
  cmd->allow_extras();
  cmd->prefix_command();
  cmd->callback([&ctx] {
    ctx.exit_code = ReportError("train", Status::Internal("`isoflop train` is handled by isoflop-train"));
  });
}

}  // namespace isoflop::cli
