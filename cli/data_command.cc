// `isoflop data build | tokenizer train | stats | sample`: flags → one data_pipeline call → print.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "isoflop/data_build_slurm.h"
#include "isoflop/data_pipeline.h"

namespace isoflop::cli {
namespace {

// For the data commands a corrupt or missing shard, index or manifest is bad input (exit 2):
// rerunning cannot fix it (docs/data.md, exit codes).
int ReportDataError(const char* command, const Status& status) {
  const bool bad_input = status.code() == Status::Code::kCorruption || status.code() == Status::Code::kNotFound;
  return ReportError(command, bad_input ? Status::InvalidArgument(status.message()) : status);
}

struct DataBuildFlags {
  std::vector<std::string> inputs;
  std::string out_dir;
  std::string config;
  int threads = 1;
  std::string report;
  bool strict = false;
  int64_t max_record_bytes = 0;  // 0: the config's input.max_record_bytes (default 8 MiB)
  std::vector<std::string> skip;
  std::string tokenizer, eos_token;
  bool json = false;
  bool quiet = false;
  // --backend slurm
  std::string backend = "local";
  int tasks = 4;
  std::string slurm_conf, partition;
  int task_mem_mb = 4096, task_time_min = 120;
};

void RegisterBuild(CLI::App& data, CommandContext& ctx) {
  auto flags = std::make_shared<DataBuildFlags>();
  auto* cmd = data.add_subcommand(
      "build",
      "Raw text → normalised, filtered, deduplicated, tokenized shards + manifest.json.\n"
      "Examples:\n"
      "  isoflop data build --input tests/data/austen_chapters.jsonl --out shards/ "
      "--config configs/data/tiny.yaml\n"
      "  isoflop data build --input tests/data/austen_chapters.jsonl tests/data/trainer_corpus_gpl3.txt "
      "--out shards2/ --config configs/data/tiny.yaml --threads 2 --report dropped.jsonl\n"
      "  isoflop data build --input tests/data/austen_chapters.jsonl --out s/ --skip near --json\n"
      "  isoflop data build --input corpus/ --out shards/ --backend slurm --tasks 64 --threads 8  "
      "# needs a Slurm cluster\n"
      "On Slurm every stage runs as a job array of --tasks tasks with --threads CPUs each;\n"
      "the output is byte-identical to the one-process build; rerun the same command to\n"
      "resume a build that was interrupted (docs/data.md, \"Distributed build\").");
  cmd->add_option("--input", flags->inputs, "JSONL, text, .gz or .zst files, or directories")
      ->required()
      ->expected(1, -1);
  cmd->add_option("--out", flags->out_dir,
                  "output directory (shards, index.tsv, tokenizer.json, manifest.json)")
      ->required();
  cmd->add_option("--config", flags->config,
                  "YAML stage settings (default: built-in, = configs/data/default.yaml)");
  cmd->add_option("--threads", flags->threads, "worker threads; output is identical for any value")
      ->default_val(1)
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--report", flags->report,
                  "write one JSON line per dropped document (id, reason, kept_id)");
  cmd->add_flag("--strict", flags->strict, "an invalid input record is fatal instead of skipped");
  cmd->add_option(
         "--max-record-bytes", flags->max_record_bytes,
         "a record (JSON line, text file or paragraph) longer than this is skipped unread, counted as "
         "invalid and reported with its FILE:LINE (fatal with --strict); default: the config's "
         "input.max_record_bytes, 8 MiB")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--skip", flags->skip, "stages to skip: quality, exact, near, tokenize")
      ->check(CLI::IsMember({"quality", "exact", "near", "tokenize"}))
      ->expected(1, -1);
  cmd->add_option(
      "--tokenizer", flags->tokenizer,
      "use this tokenizer.json instead of training one: isoflop's, or a Hugging Face byte-level BPE "
      "(GPT-2 / RoBERTa / Llama 3 style; the shards hold its own ids); checked before the first pass");
  cmd->add_option("--eos-token", flags->eos_token,
                  "with --tokenizer: the token ending each document (default: the first of <|endoftext|>, "
                  "<|end_of_text|>, </s>, <eos> the file has)");
  cmd->add_flag("--json", flags->json, "print the summary as JSON on stdout");
  cmd->add_flag("--quiet", flags->quiet, "no progress on stderr");
  cmd->add_option("--backend", flags->backend, "local (this process) or slurm (job arrays)")
      ->check(CLI::IsMember({"local", "slurm"}));
  cmd->add_option("--tasks", flags->tasks, "slurm: tasks per stage (input groups)")->check(CLI::Range(1, 10000));
  cmd->add_option("--slurm-conf", flags->slurm_conf, "slurm: SLURM_CONF (default: the environment's)");
  cmd->add_option("--partition", flags->partition, "slurm: partition (default: the cluster's)");
  cmd->add_option("--task-mem-mb", flags->task_mem_mb, "slurm: memory per task, MB")->check(CLI::Range(64, 1 << 24));
  cmd->add_option("--task-time-min", flags->task_time_min, "slurm: time limit per task, minutes")
      ->check(CLI::Range(1, 100000));
  cmd->callback([flags, &ctx] {
    data::BuildOptions options;
    if (!flags->config.empty()) {
      auto loaded = data::LoadBuildConfig(flags->config);
      if (!loaded.ok()) {
        ctx.exit_code = ReportDataError("data build", loaded.status());
        return;
      }
      options = *loaded;
    }
    options.inputs = flags->inputs;
    options.out_dir = flags->out_dir;
    options.threads = flags->threads;
    options.report_path = flags->report;
    options.strict = flags->strict;
    if (flags->max_record_bytes > 0) options.input.max_record_bytes = flags->max_record_bytes;
    options.progress = !flags->quiet;
    if (!flags->tokenizer.empty()) options.tokenizer_path = flags->tokenizer;
    if (!flags->eos_token.empty()) options.tokenizer_eos = flags->eos_token;
    for (const auto& stage : flags->skip) {
      options.skip_quality |= stage == "quality";
      options.skip_exact |= stage == "exact";
      options.skip_near |= stage == "near";
      options.skip_tokenize |= stage == "tokenize";
    }
    if (flags->backend == "slurm") {
      orchestrator::DataBuildSlurmOptions slurm;
      slurm.build = options;
      slurm.tasks = flags->tasks;
      slurm.slurm_conf = flags->slurm_conf;
      slurm.partition = flags->partition;
      slurm.mem_mb = flags->task_mem_mb;
      slurm.time_limit_min = flags->task_time_min;
      slurm.progress = !flags->quiet;
      auto summary = orchestrator::RunDataBuildOnSlurm(slurm);
      if (!summary.ok()) {
        ctx.exit_code = ReportDataError("data build", summary.status());
        return;
      }
      std::cout << (flags->json ? summary->build.ToJson() + "\n" : summary->BriefReport() + summary->build.FullReport());
      return;
    }
    auto summary = data::BuildDataset(options);
    if (!summary.ok()) {
      ctx.exit_code = ReportDataError("data build", summary.status());
      return;
    }
    std::cout << (flags->json ? summary->ToJson() + "\n" : summary->FullReport());
  });
}

// `isoflop data stage`: one task of one stage of a build planned by `data build --backend
// slurm` (what each Slurm array task runs; docs/data.md, "Distributed build").
void RegisterStage(CLI::App& data, CommandContext& ctx) {
  struct StageFlags {
    std::string work, stage, task;
    int threads = 1;
    bool quiet = false;
  };
  auto flags = std::make_shared<StageFlags>();
  auto* cmd = data.add_subcommand(
      "stage",
      "Run one task of one stage of a distributed build (what each Slurm array task runs).\n"
      "Examples:\n"
      "  isoflop data stage --work shards/.isoflop-build --stage scan --task 3 --threads 8   # needs a build "
      "planned by data build --backend slurm\n"
      "  isoflop data stage --work shards/.isoflop-build --stage encode --task array   "
      "# needs a Slurm array task (task = $SLURM_ARRAY_TASK_ID)");
  cmd->add_option("--work", flags->work, "the build's work directory (OUT/.isoflop-build)")->required();
  cmd->add_option("--stage", flags->stage, "scan, bands, verify, decide, encode, assemble or finalize")->required();
  cmd->add_option("--task", flags->task, "task index, or 'array' for $SLURM_ARRAY_TASK_ID")->required();
  cmd->add_option("--threads", flags->threads, "threads (the task's CPUs)")->check(CLI::Range(1, 1024));
  cmd->add_flag("--quiet", flags->quiet, "no progress on stderr");
  cmd->callback([flags, &ctx] {
    std::string task = flags->task;
    if (task == "array") {
      const char* id = std::getenv("SLURM_ARRAY_TASK_ID");
      task = id ? id : "";
    }
    if (task.empty() || task.size() > 9 || task.find_first_not_of("0123456789") != std::string::npos) {
      ctx.exit_code = ReportError("data stage", Status::InvalidArgument("--task: expected a task index, got '" +
                                                                        flags->task + "' (" + task + ")"));
      return;
    }
    Status s = data::RunBuildTask(flags->work, flags->stage, std::stoi(task), flags->threads, !flags->quiet);
    if (!s.ok()) ctx.exit_code = ReportDataError("data stage", s);
  });
}

void RegisterTokenizerTrain(CLI::App& data, CommandContext& ctx) {
  auto* tokenizer = data.add_subcommand("tokenizer", "Byte-level BPE tokenizer tools.");
  tokenizer->require_subcommand(1);
  auto options = std::make_shared<data::TokenizerTrainOptions>();
  auto json = std::make_shared<bool>(false);
  auto* cmd = tokenizer->add_subcommand(
      "train",
      "Train a byte-level BPE tokenizer and save tokenizer.json.\n"
      "Examples:\n"
      "  isoflop data tokenizer train --input tests/data/austen_chapters.jsonl --vocab 1024 "
      "--out tokenizer.json\n"
      "  isoflop data build --input tests/data/austen_chapters.jsonl --tokenizer tokenizer.json "
      "--out shards3/");
  cmd->add_option("--input", options->inputs, "JSONL, text, .gz or .zst files, or directories")
      ->required()
      ->expected(1, -1);
  cmd->add_option("--vocab", options->trainer.vocab_size, "vocabulary size incl. 256 bytes + <|endoftext|>")
      ->default_val(8192);
  cmd->add_option("--max-train-bytes", options->trainer.max_train_bytes,
                  "at most this many bytes of text are counted")
      ->default_val(256 << 20);
  cmd->add_option("--out", options->out_path, "tokenizer.json to write")->required();
  cmd->add_flag("--json", *json, "print the summary as JSON");
  cmd->callback([options, json, &ctx] {
    auto summary = data::TrainTokenizer(*options);
    if (!summary.ok()) {
      ctx.exit_code = ReportDataError("data tokenizer train", summary.status());
      return;
    }
    if (*json) {
      std::printf(
          "{\"vocab_size\": %u, \"documents\": %lld, \"bytes\": %lld, \"seconds\": %.3f, \"sha256\": "
          "\"%s\"}\n",
          summary->vocab_size, static_cast<long long>(summary->documents),
          static_cast<long long>(summary->bytes_counted), summary->seconds, summary->sha256.c_str());
    } else {
      std::cout << summary->BriefReport();
    }
  });
}

void RegisterStats(CLI::App& data, CommandContext& ctx) {
  auto dir = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto* cmd = data.add_subcommand("stats",
                                  "Summarise a built dataset's manifest.json.\n"
                                  "Examples:\n"
                                  "  isoflop data stats shards/\n"
                                  "  isoflop data stats shards/ --json");
  cmd->add_option("dir", *dir, "the --out directory of `isoflop data build`")->required();
  cmd->add_flag("--json", *json, "print the whole manifest");
  cmd->callback([dir, json, &ctx] {
    auto stats = data::ReadDatasetStats(*dir);
    if (!stats.ok()) {
      ctx.exit_code = ReportDataError("data stats", stats.status());
      return;
    }
    std::cout << (*json ? stats->manifest_json : stats->BriefReport());
  });
}

void RegisterSample(CLI::App& data, CommandContext& ctx) {
  auto options = std::make_shared<data::SampleOptions>();
  auto json = std::make_shared<bool>(false);
  auto* cmd =
      data.add_subcommand("sample",
                          "Decode a few training windows back to text (as the trainer will read them).\n"
                          "Examples:\n"
                          "  isoflop data sample shards/ -n 5\n"
                          "  isoflop data sample shards/ -n 2 --split val --seq-len 64 --seed 3");
  cmd->add_option("dir", options->dir, "the --out directory of `isoflop data build`")->required();
  cmd->add_option("-n", options->count, "windows to print")->default_val(5);
  cmd->add_option("--split", options->split, "train or val")
      ->default_val("train")
      ->check(CLI::IsMember({"train", "val"}));
  cmd->add_option("--seq-len", options->seq_len, "tokens per window")->default_val(128);
  cmd->add_option("--seed", options->seed, "shuffle seed (as the trainer's)")->default_val(0);
  cmd->add_flag("--json", *json, "print a JSON array of strings");
  cmd->callback([options, json, &ctx] {
    auto windows = data::SampleWindows(*options);
    if (!windows.ok()) {
      ctx.exit_code = ReportDataError("data sample", windows.status());
      return;
    }
    if (*json) {
      std::cout << "[";
      for (size_t i = 0; i < windows->size(); ++i) {
        std::cout << (i ? ",\n " : "\n ") << '"';
        for (unsigned char c : (*windows)[i]) {
          if (c == '"' || c == '\\') {
            std::cout << '\\' << c;
          } else if (c < 0x20) {
            char esc[8];
            std::snprintf(esc, sizeof(esc), "\\u%04x", c);
            std::cout << esc;
          } else {
            std::cout << c;
          }
        }
        std::cout << '"';
      }
      std::cout << "\n]\n";
    } else {
      for (size_t i = 0; i < windows->size(); ++i) {
        std::cout << "--- window " << i << " ---\n" << (*windows)[i] << "\n";
      }
    }
  });
}

}  // namespace

void RegisterDataCommand(CLI::App& app, CommandContext& ctx) {
  auto* data = app.add_subcommand("data", "Curate raw text into deduplicated token shards (docs/data.md).");
  data->require_subcommand(1);
  RegisterBuild(*data, ctx);
  RegisterStage(*data, ctx);
  RegisterTokenizerTrain(*data, ctx);
  RegisterStats(*data, ctx);
  RegisterSample(*data, ctx);
  RegisterDataExportCommands(*data, ctx);
}

}  // namespace isoflop::cli
