// isoflop-train: the trainer's front end, the only binary that links libtorch. `isoflop train ARGS`
// execs it (cli/train_command.cc), so this parser is the one for both names; it also serves the GPU
// machine that has no CLI11 (the standalone build, -DISOFLOP_TRAINER_ONLY=ON).
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "isoflop/trainer.h"

namespace {

constexpr const char* kUsage =
    "usage: isoflop train --config RUN.yaml --data SHARDS_DIR --out RUN_DIR [--resume] [--device cpu|cuda]\n"
    "                     [--rank R --world-size W --local-rank L] [--rendezvous FILE] [--threads N]\n"
    "                     [--stop-after STEPS] [--no-fused-output] [--json] [--quiet]\n"
    "       (isoflop-train takes the same flags; `isoflop train` runs it)\n"
    "Trains the GPT of RUN.yaml (libtorch; CPU, or CUDA + bf16 + NCCL) on token shards from `isoflop data "
    "build`;\n"
    "writes RUN_DIR/metrics.jsonl, summary.json and an atomic checkpoint.pt (docs/trainer.md). Prints the\n"
    "summary on stdout (--json: as JSON), progress on stderr (--quiet: none).\n"
    "Rank, world size and local rank default to torchrun's RANK / WORLD_SIZE / LOCAL_RANK, else Slurm's\n"
    "SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID; under torchrun the ranks meet at MASTER_ADDR:MASTER_PORT.\n"
    "Exit codes: 0 done, 1 failure, 2 bad input, 3 diverged, 75 preempted after a checkpoint.\n"
    "Examples:\n"
    "  isoflop train --config configs/runs/tiny.yaml --data shards/ --out runs/tiny\n"
    "  isoflop train --config configs/runs/tiny.yaml --data shards/ --out runs/tiny --resume\n"
    "  isoflop train --config configs/runs/tiny.yaml --data shards/ --out runs/gpu --device cuda   # needs a "
    "GPU\n"
    "  srun -n 8 isoflop train --config run.yaml --data shards/ --out runs/r1 --device cuda   # needs Slurm, "
    "8 GPUs\n"
    "  torchrun --nproc-per-node 8 --no-python isoflop-train --config run.yaml --data shards/ --out runs/r1 "
    "--device cuda   # needs 8 GPUs\n";

std::string SummaryJson(const isoflop::trainer::TrainSummary& s) {
  using isoflop::trainer::RunOutcome;
  const char* outcome = s.outcome == RunOutcome::kDone       ? "done"
                        : s.outcome == RunOutcome::kDiverged ? "diverged"
                                                             : "preempted";
  std::string dir;  // JSON string escaping of the run directory
  for (unsigned char c : s.run_dir) {
    if (c == '"' || c == '\\') {
      dir += '\\';
      dir += static_cast<char>(c);
    } else if (c < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", c);
      dir += esc;
    } else {
      dir += static_cast<char>(c);
    }
  }
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "{\"status\": \"%s\", \"steps\": %lld, \"total_steps\": %lld, \"tokens\": %lld, "
                "\"params_total\": %lld, \"params_non_embedding\": %lld, \"flops\": %.6g, "
                "\"first_train_loss\": %.6g, \"final_train_loss\": %.6g, \"final_eval_loss\": %.6g, "
                "\"tokens_per_s\": %.6g, \"mfu\": %.6g, \"wall_time_s\": %.6g, \"energy_kwh\": %.6g, "
                "\"run_dir\": \"",
                outcome, static_cast<long long>(s.steps), static_cast<long long>(s.total_steps),
                static_cast<long long>(s.tokens), static_cast<long long>(s.params.total),
                static_cast<long long>(s.params.non_embedding), s.flops, s.first_train_loss,
                s.final_train_loss, s.final_eval_loss, s.tokens_per_s, s.mfu, s.wall_time_s, s.energy_kwh);
  return buf + dir + "\"}\n";
}

bool ParseIntFlag(const char* text, long long* out) {
  char* end = nullptr;
  errno = 0;
  *out = std::strtoll(text, &end, 10);
  return end && *end == '\0' && end != text && errno == 0;
}

}  // namespace

int main(int argc, char** argv) {
  isoflop::trainer::TrainOptions o;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "isoflop-train: %s needs a value\n%s", name, kUsage);
        std::exit(isoflop::trainer::kExitBadInput);
      }
      return argv[++i];
    };
    // Every integer flag is a count or an index: 0 .. max (an int, or int64 for --stop-after).
    auto int_value = [&](const char* name, long long max = 2147483647LL) -> long long {
      long long v = 0;
      const char* text = value(name);
      if (!ParseIntFlag(text, &v) || v < 0 || v > max) {
        std::fprintf(stderr, "isoflop-train: %s must be an integer in [0, %lld], got '%s'\n", name, max,
                     text);
        std::exit(isoflop::trainer::kExitBadInput);
      }
      return v;
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--config") {
      o.config_path = value("--config");
    } else if (a == "--data") {
      o.data_dir = value("--data");
    } else if (a == "--out") {
      o.out_dir = value("--out");
    } else if (a == "--resume") {
      o.resume = true;
    } else if (a == "--device") {
      o.device = value("--device");
      if (o.device != "cpu" && o.device != "cuda") {
        std::fprintf(stderr, "isoflop-train: --device must be cpu or cuda, got '%s'\n", o.device.c_str());
        return isoflop::trainer::kExitBadInput;
      }
    } else if (a == "--rank") {
      o.rank = static_cast<int>(int_value("--rank"));
    } else if (a == "--world-size") {
      o.world_size = static_cast<int>(int_value("--world-size"));
    } else if (a == "--local-rank") {
      o.local_rank = static_cast<int>(int_value("--local-rank"));
    } else if (a == "--rendezvous") {
      o.rendezvous = value("--rendezvous");
    } else if (a == "--threads") {
      o.threads = static_cast<int>(int_value("--threads"));
    } else if (a == "--stop-after") {
      o.stop_after_steps = int_value("--stop-after", 9223372036854775807LL);
    } else if (a == "--no-fused-output") {
      o.fused_output = false;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--quiet") {
      o.progress = false;
    } else {
      std::fprintf(stderr, "isoflop-train: unknown flag '%s'\n%s", a.c_str(), kUsage);
      return isoflop::trainer::kExitBadInput;
    }
  }
  auto result = isoflop::trainer::Train(o);
  if (!result.ok()) {
    std::fprintf(stderr, "isoflop-train: %s\n", result.status().message().c_str());
  } else {
    std::fputs(json ? SummaryJson(*result).c_str() : result->FullReport().c_str(), stdout);
  }
  return isoflop::trainer::ExitCodeFor(result);
}
