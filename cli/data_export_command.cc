// `isoflop data export` and `isoflop data tokenizer export`: flags → one data_pipeline call → print.
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "isoflop/engine_export.h"
#include "isoflop/hf_tokenizer.h"

namespace isoflop::cli {
namespace {

void RegisterEngineExport(CLI::App& data, CommandContext& ctx) {
  auto options = std::make_shared<data::ExportOptions>();
  auto json = std::make_shared<bool>(false);
  auto no_verify = std::make_shared<bool>(false);
  auto* cmd = data.add_subcommand(
      "export",
      "Write token shards in another engine's data format (docs/data.md, \"Exporting to other engines\").\n"
      "  megatron: PREFIX.bin + PREFIX.idx (train) and PREFIX_val.bin/.idx, Megatron-Core IndexedDataset\n"
      "  llmc:     PREFIX_train_000000.bin ... with llm.c's 256-int32 header\n"
      "  nanogpt:  DIR/train.bin, DIR/val.bin, DIR/meta.pkl\n"
      "and tokenizer.hf.json (Hugging Face tokenizers format) beside them.\n"
      "Examples:\n"
      "  isoflop data export --shards shards/ --format megatron --out export/megatron/austen\n"
      "  isoflop data export --shards shards/ --format llmc --out export/llmc/austen\n"
      "  isoflop data export --shards shards/ --format nanogpt --out export/nanogpt --json");
  cmd->add_option("--shards", options->shards_dir, "the --out directory of `isoflop data build`")->required();
  cmd->add_option("--format", options->format, "megatron, llmc or nanogpt")
      ->required()
      ->check(CLI::IsMember({"megatron", "llmc", "nanogpt"}));
  cmd->add_option("--out", options->out, "output PREFIX (megatron, llmc) or directory (nanogpt)")->required();
  cmd->add_option("--llmc-shard-tokens", options->llmc_shard_tokens, "llm.c: tokens per output file")
      ->default_val(100000000);
  cmd->add_flag("--no-verify", *no_verify, "skip the sha256 check of the shards");
  cmd->add_flag("--json", *json, "print the summary as JSON");
  cmd->callback([options, json, no_verify, &ctx] {
    options->verify_checksums = !*no_verify;
    auto summary = data::ExportShards(*options);
    if (!summary.ok()) {
      ctx.exit_code = ReportError("data export", summary.status());
      return;
    }
    std::cout << (*json ? summary->ToJson() + "\n" : summary->BriefReport());
  });
}

void RegisterTokenizerExport(CLI::App& data, CommandContext& ctx) {
  auto* tokenizer = data.get_subcommand("tokenizer");
  auto in = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* cmd = tokenizer->add_subcommand(
      "export",
      "Write an isoflop tokenizer.json in Hugging Face tokenizers format (same ids for the same text).\n"
      "Examples:\n"
      "  isoflop data tokenizer export --tokenizer shards/tokenizer.json --out tokenizer.hf.json");
  cmd->add_option("--tokenizer", *in, "isoflop tokenizer.json")->required();
  cmd->add_option("--out", *out, "tokenizer.hf.json to write")->required();
  cmd->callback([in, out, &ctx] {
    auto tokenizer = data::BpeTokenizer::Load(*in);
    if (!tokenizer.ok()) {
      ctx.exit_code = ReportError("data tokenizer export", tokenizer.status());
      return;
    }
    auto json = data::HuggingFaceTokenizerJson(*tokenizer);
    if (!json.ok()) {
      ctx.exit_code = ReportError("data tokenizer export", json.status());
      return;
    }
    std::ofstream file(*out, std::ios::binary | std::ios::trunc);
    file << *json;
    if (!file.good()) {
      ctx.exit_code = ReportError("data tokenizer export", Status::IOError("cannot write " + *out));
      return;
    }
    std::cout << "wrote " << *out << " (" << tokenizer->vocab_size()
              << " ids, Hugging Face tokenizers format)\n";
  });
}

}  // namespace

void RegisterDataExportCommands(CLI::App& data, CommandContext& ctx) {
  RegisterEngineExport(data, ctx);
  RegisterTokenizerExport(data, ctx);
}

}  // namespace isoflop::cli
