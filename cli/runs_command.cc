// `isoflop runs import | export`: flags → one orchestrator call → print.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "isoflop/fitter.h"
#include "isoflop/run_import.h"

namespace isoflop::cli {
namespace {

struct RunsImportFlags {
  orchestrator::ImportOptions options;
  std::string columns;
  std::vector<std::string> where;
  bool json = false;
};

void RegisterRunsImport(CLI::App& runs, CommandContext& ctx) {
  auto flags = std::make_shared<RunsImportFlags>();
  auto* cmd = runs.add_subcommand(
      "import",
      "Store runs trained by other engines (Megatron-LM, torchtitan, nanoGPT logs, or a CSV) as finished "
      "runs,\n"
      "so that status, report --db, runs export | fit and the daemon's refit use them "
      "(docs/orchestrator.md).\n"
      "Examples:\n"
      "  isoflop runs import --db state.db --format megatron-log "
      "tests/data/engine_logs/megatron_gpt2_base_n4_dp1_tp4_pp4-1809579.log\n"
      "  isoflop runs import --db state.db --format torchtitan-log "
      "tests/data/engine_logs/torchtitan_deepseek_v3_debugmodel_4gpu.log\n"
      "  isoflop runs import --db state.db --format nanogpt-log "
      "tests/data/engine_logs/nanogpt_shakespeare_char_mps.log\n"
      "  isoflop runs import --db state.db --format csv --sweep chinchilla tests/data/chinchilla_epoch.csv");
  cmd->add_option("files", flags->options.files, "log or CSV files (one run per log)")
      ->required()
      ->expected(1, -1);
  cmd->add_option("--db", flags->options.db_path, "state database (created if missing)")->required();
  cmd->add_option("--format", flags->options.format, "megatron-log, torchtitan-log, nanogpt-log or csv")
      ->required()
      ->check(CLI::IsMember({"megatron-log", "torchtitan-log", "nanogpt-log", "csv"}));
  cmd->add_option("--sweep", flags->options.sweep, "sweep the runs belong to")->capture_default_str();
  cmd->add_option("--runs-dir", flags->options.runs_dir,
                  "run directories (default: <db dir>/imported/<sweep>)");
  cmd->add_option("--params", flags->options.overrides.params, "total parameters, when the log does not say");
  cmd->add_option("--seq-len", flags->options.overrides.seq_len,
                  "tokens per sequence, when the log does not say");
  cmd->add_option("--tokens-per-step", flags->options.overrides.tokens_per_step,
                  "global batch in tokens, when the log does not say");
  cmd->add_option("--gpus", flags->options.overrides.gpus, "devices (torchtitan logs tokens/s per device)");
  cmd->add_option("--peak-tflops", flags->options.overrides.peak_tflops,
                  "per-device dense peak, for the MFU of Megatron's TFLOP/s/GPU");
  cmd->add_option("--columns", flags->columns,
                  "csv: map columns as `fit --columns` (params=N,tokens=D,loss=L)");
  cmd->add_option("--where", flags->where, "csv: keep rows where column=value (repeatable)");
  cmd->add_option("--max-runs", flags->options.max_runs, "csv: at most this many runs per file (0 = no limit)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", flags->json, "print the imported runs as JSON");
  cmd->callback([flags, &ctx] {
    CsvOptions csv;
    if (!flags->columns.empty()) {
      if (Status s = csv.ParseColumns(flags->columns); !s.ok()) {
        ctx.exit_code = ReportError("runs import", s);
        return;
      }
    }
    for (const auto& w : flags->where) {
      if (Status s = csv.ParseWhere(w); !s.ok()) {
        ctx.exit_code = ReportError("runs import", s);
        return;
      }
    }
    flags->options.columns = csv.columns;
    flags->options.where = csv.where;
    auto summary = orchestrator::ImportRuns(flags->options);
    if (!summary.ok()) {
      ctx.exit_code = ReportError("runs import", summary.status());
      return;
    }
    std::cout << (flags->json ? summary->ToJson() + "\n" : summary->BriefReport());
  });
}

void RegisterRunsExport(CLI::App& runs, CommandContext& ctx) {
  auto db = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto all = std::make_shared<bool>(false);
  auto* cmd = runs.add_subcommand(
      "export",
      "Write the store's finished runs as CSV (run_id, params, tokens, flops, loss, tokens_per_s, mfu, "
      "state, sweep),\n"
      "the columns `isoflop fit --runs` and `isoflop report --runs` read.\n"
      "Examples:\n"
      "  isoflop runs export --db state.db --out runs.csv && isoflop fit --runs runs.csv\n"
      "  isoflop runs export --db state.db --all");
  cmd->add_option("--db", *db, "state database")->required();
  cmd->add_option("--out", *out, "CSV file to write (default: stdout)");
  cmd->add_flag("--all", *all, "every run, not only the finished ones (loss empty where there is none)");
  cmd->callback([db, out, all, &ctx] {
    auto csv = orchestrator::ExportRunsCsv(*db, *all);
    if (!csv.ok()) {
      ctx.exit_code = ReportError("runs export", csv.status());
      return;
    }
    if (out->empty()) {
      std::cout << *csv;
      return;
    }
    const std::string tmp = *out + ".tmp";
    {
      std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
      file << *csv;
      if (!file.flush()) {
        ctx.exit_code = ReportError("runs export", Status::IOError("cannot write " + tmp));
        return;
      }
    }
    if (std::rename(tmp.c_str(), out->c_str()) != 0) {
      ctx.exit_code = ReportError("runs export", Status::IOError("cannot rename " + tmp + " to " + *out));
    }
  });
}

void RegisterRunsWrap(CLI::App& runs, CommandContext& ctx) {
  auto options = std::make_shared<orchestrator::EngineRunOptions>();
  auto* cmd = runs.add_subcommand(
      "wrap",
      "Run another engine as a sweep's trainer_command: its output goes to RUN_DIR/engine.log, signals are\n"
      "forwarded to it, and its log becomes RUN_DIR/metrics.jsonl + summary.json with the trainer's exit\n"
      "codes (0 done, 75 preempted, ...). The orchestrator appends --config/--data/--out after the\n"
      "engine's own arguments; RUN_DIR is the last --out.\n"
      "Examples:\n"
      "  trainer_command: [isoflop, runs, wrap, --format, megatron-log, --, bash, train_megatron.sh]\n"
      "  isoflop runs wrap --format nanogpt-log --run-dir runs/r1 -- python train.py "
      "config/train_shakespeare_char.py   # needs nanoGPT's train.py");
  cmd->add_option("--format", options->format, "megatron-log, torchtitan-log or nanogpt-log")
      ->required()
      ->check(CLI::IsMember({"megatron-log", "torchtitan-log", "nanogpt-log"}));
  cmd->add_option("--run-dir", options->run_dir, "run directory (default: the engine arguments' last --out)");
  cmd->add_option("--params", options->overrides.params, "total parameters, when the log does not say");
  cmd->add_option("--seq-len", options->overrides.seq_len, "tokens per sequence, when the log does not say");
  cmd->add_option("--tokens-per-step", options->overrides.tokens_per_step, "global batch in tokens");
  cmd->add_option("--gpus", options->overrides.gpus, "devices (torchtitan logs tokens/s per device)");
  cmd->add_option("--peak-tflops", options->overrides.peak_tflops, "per-device peak for Megatron's MFU");
  cmd->add_option("command", options->command, "-- the engine's command line")->required()->expected(1, -1);
  cmd->callback([options, &ctx] {
    std::string message;
    ctx.exit_code = orchestrator::RunEngine(*options, &message);
    std::fprintf(stderr, "isoflop runs wrap: %s\n", message.c_str());
  });
}

}  // namespace

void RegisterRunsCommands(CLI::App& app, CommandContext& ctx) {
  auto* runs = app.add_subcommand("runs", "Runs of other engines into and out of the state database.");
  runs->require_subcommand(1);
  RegisterRunsImport(*runs, ctx);
  RegisterRunsExport(*runs, ctx);
  RegisterRunsWrap(*runs, ctx);
}

}  // namespace isoflop::cli
