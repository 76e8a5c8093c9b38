// `isoflop train`: flags → trainer::Train → print. Same flags as the standalone
// isoflop-train (trainer/src/train_main.cc). Exit codes: docs/interfaces.md.
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"

#if ISOFLOP_HAVE_TRAINER
#include "isoflop/trainer.h"
#endif

namespace isoflop::cli {

#if ISOFLOP_HAVE_TRAINER
namespace {

std::string SummaryJson(const trainer::TrainSummary& s) {
  const char* outcome = s.outcome == trainer::RunOutcome::kDone       ? "done"
                        : s.outcome == trainer::RunOutcome::kDiverged ? "diverged"
                                                                      : "preempted";
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "{\"status\": \"%s\", \"steps\": %lld, \"total_steps\": %lld, \"tokens\": %lld, "
                "\"params_total\": %lld, \"params_non_embedding\": %lld, \"flops\": %.6g, "
                "\"first_train_loss\": %.6g, \"final_train_loss\": %.6g, \"final_eval_loss\": %.6g, "
                "\"tokens_per_s\": %.6g, \"mfu\": %.6g, \"wall_time_s\": %.6g, \"energy_kwh\": %.6g, "
                "\"run_dir\": \"%s\"}\n",
                outcome, static_cast<long long>(s.steps), static_cast<long long>(s.total_steps),
                static_cast<long long>(s.tokens), static_cast<long long>(s.params.total),
                static_cast<long long>(s.params.non_embedding), s.flops, s.first_train_loss,
                s.final_train_loss, s.final_eval_loss, s.tokens_per_s, s.mfu, s.wall_time_s, s.energy_kwh,
                s.run_dir.c_str());
  return buf;
}

}  // namespace

void RegisterTrainCommand(CLI::App& app, CommandContext& ctx) {
  struct Flags {
    trainer::TrainOptions options;
    bool json = false;
    bool no_fused = false;
    bool quiet = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "train",
      "Train the GPT of a run config on token shards (libtorch; CPU, or CUDA + bf16 + NCCL).\n"
      "Writes RUN_DIR/metrics.jsonl, summary.json and an atomic checkpoint.pt (docs/trainer.md).\n"
      "Exit codes: 0 done, 1 failure, 2 bad input, 3 diverged, 75 preempted after a checkpoint.\n"
      "Examples:\n"
      "  isoflop train --config configs/runs/tiny.yaml --data shards/ --out runs/tiny --device cpu\n"
      "  isoflop train --config configs/runs/tiny.yaml --data shards/ --out runs/tiny --resume\n"
      "  srun -n 8 isoflop train --config run.yaml --data shards/ --out runs/r1 --device cuda   "
      "# ranks from SLURM_PROCID/SLURM_NTASKS\n"
      "  torchrun --nproc-per-node 8 --no-python isoflop train --config run.yaml --data shards/ --out "
      "runs/r1 "
      "--device cuda   # RANK/WORLD_SIZE/LOCAL_RANK, meeting at MASTER_ADDR:MASTER_PORT");
  auto& o = flags->options;
  cmd->add_option("--config", o.config_path, "flat key: value run config (keys in docs/trainer.md)")
      ->required();
  cmd->add_option("--data", o.data_dir, "token shards written by `isoflop data build`")->required();
  cmd->add_option("--out", o.out_dir, "run directory (created)")->required();
  cmd->add_flag("--resume", o.resume,
                "continue from RUN_DIR/checkpoint.pt (same data order and lr schedule)");
  cmd->add_option("--device", o.device, "cpu or cuda")
      ->default_val("cpu")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--rank", o.rank, "this process's rank (default RANK, else SLURM_PROCID, else 0)");
  cmd->add_option("--world-size", o.world_size,
                  "number of ranks (default WORLD_SIZE, else SLURM_NTASKS, else 1)");
  cmd->add_option("--local-rank", o.local_rank,
                  "CUDA device index (default LOCAL_RANK, else SLURM_LOCALID, else rank)");
  cmd->add_option("--rendezvous", o.rendezvous,
                  "file on a shared filesystem where the ranks meet (default: MASTER_ADDR:MASTER_PORT under "
                  "torchrun, else a file in RUN_DIR)");
  cmd->add_option("--threads", o.threads, "CPU threads (default: libtorch's)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--stop-after", o.stop_after_steps, "checkpoint and exit 75 after this many steps")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--no-fused-output", flags->no_fused, "CUDA: use libtorch's output layer + cross-entropy");
  cmd->add_flag("--json", flags->json, "print the summary as JSON on stdout");
  cmd->add_flag("--quiet", flags->quiet, "no progress on stderr");
  cmd->callback([flags, &ctx] {
    flags->options.fused_output = !flags->no_fused;
    flags->options.progress = !flags->quiet;
    auto result = trainer::Train(flags->options);
    if (!result.ok()) {
      ctx.exit_code = ReportError("train", result.status());
      return;
    }
    if (flags->json) {
      std::fputs(SummaryJson(*result).c_str(), stdout);
    } else {
      std::fputs(result->FullReport().c_str(), stdout);
    }
    ctx.exit_code = trainer::ExitCodeFor(result);
  });
}

#else

void RegisterTrainCommand(CLI::App& app, CommandContext& ctx) {
  auto* cmd =
      app.add_subcommand("train", "(this build has no trainer: configure with -DISOFLOP_WITH_TRAINER=ON)");
  cmd->allow_extras();
  cmd->callback([&ctx] {
    ctx.exit_code = ReportError("train", Status::FailedPrecondition("this build has no trainer (libtorch)"));
  });
}

#endif

}  // namespace isoflop::cli
