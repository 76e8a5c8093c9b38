// isoflop-train: the trainer on its own, for the GPU machine that has no CLI11 (the
// standalone build, -DISOFLOP_TRAINER_ONLY=ON). Same flags as `isoflop train`.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "isoflop/trainer.h"

namespace {

constexpr const char* kUsage =
    "usage: isoflop-train --config RUN.yaml --data SHARDS_DIR --out RUN_DIR [--resume] [--device cpu|cuda]\n"
    "                     [--rank R --world-size W --local-rank L] [--rendezvous FILE] [--threads N]\n"
    "                     [--stop-after STEPS] [--no-fused-output] [--quiet]\n"
    "Trains the GPT of RUN.yaml on token shards; writes RUN_DIR/metrics.jsonl, summary.json, checkpoint.pt.\n"
    "Rank, world size and local rank default to torchrun's RANK / WORLD_SIZE / LOCAL_RANK, else Slurm's\n"
    "SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID; under torchrun the ranks meet at MASTER_ADDR:MASTER_PORT.\n"
    "Exit codes: 0 done, 1 failure, 2 bad input, 3 diverged, 75 preempted after a checkpoint.\n"
    "Examples:\n"
    "  isoflop-train --config configs/runs/tiny.yaml --data shards/ --out runs/tiny\n"
    "  isoflop-train --config configs/runs/gpt2-124m.yaml --data shards/ --out runs/124m --device cuda\n"
    "  isoflop-train --config configs/runs/tiny.yaml --data shards/ --out runs/tiny --resume\n"
    "  torchrun --nproc-per-node 8 isoflop-train --config run.yaml --data shards/ --out runs/r1 --device "
    "cuda\n";

bool ParseIntFlag(const char* text, long long* out) {
  char* end = nullptr;
  *out = std::strtoll(text, &end, 10);
  return end && *end == '\0' && end != text;
}

}  // namespace

int main(int argc, char** argv) {
  isoflop::trainer::TrainOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "isoflop-train: %s needs a value\n%s", name, kUsage);
        std::exit(isoflop::trainer::kExitBadInput);
      }
      return argv[++i];
    };
    auto int_value = [&](const char* name) -> long long {
      long long v = 0;
      const char* text = value(name);
      if (!ParseIntFlag(text, &v)) {
        std::fprintf(stderr, "isoflop-train: %s must be an integer, got '%s'\n", name, text);
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
      o.stop_after_steps = int_value("--stop-after");
    } else if (a == "--no-fused-output") {
      o.fused_output = false;
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
    std::fputs(result->FullReport().c_str(), stderr);
  }
  return isoflop::trainer::ExitCodeFor(result);
}
