// `isoflop data export`: token shards → the data files other training engines read.
//
//   ExportOptions options;
//   options.shards_dir = "shards/";      // the --out of `isoflop data build`
//   options.format = "megatron";         // megatron | llmc | nanogpt
//   options.out = "export/austen";       // PREFIX (megatron, llmc) or a directory (nanogpt)
//   auto summary = ExportShards(options);  // StatusOr<ExportSummary>
//
// - megatron: PREFIX.bin + PREFIX.idx (train split) and PREFIX_val.bin + PREFIX_val.idx, exactly
//   as Megatron-Core's IndexedDatasetBuilder writes them (MMIDIDX index, version 1, dtype code,
//   sequence lengths and byte pointers, document indices), one document per sequence, each
//   ending in the end-of-document id (as preprocess_data.py --append-eod).
// - llmc: PREFIX_train_NNNNNN.bin / PREFIX_val_NNNNNN.bin, llm.c's 256 × int32 header + tokens.
// - nanogpt: DIR/train.bin, DIR/val.bin (headerless uint16, or uint32 above 65,536 ids, with a
//   note) and DIR/meta.pkl holding {'vocab_size': V}.
// Beside them, tokenizer.hf.json: the shards' tokenizer in Hugging Face `tokenizers` format.
// Formats, sources and commits: docs/data.md ("Exporting to other engines").
#ifndef ISOFLOP_ENGINE_EXPORT_H_
#define ISOFLOP_ENGINE_EXPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "isoflop/status.h"

namespace isoflop::data {

struct ExportOptions {
  std::string shards_dir;        // the directory `isoflop data build --out` wrote (index.tsv)
  std::string format;            // "megatron", "llmc" or "nanogpt"
  std::string out;               // PREFIX for megatron/llmc, a directory for nanogpt
  bool verify_checksums = true;  // sha256 of every shard against index.tsv before reading it
  bool write_tokenizer = true;   // tokenizer.hf.json beside the output (if DIR/tokenizer.json exists)
  int64_t llmc_shard_tokens = 100'000'000;  // llm.c files hold at most this many tokens (fineweb.py)
  bool IsValid(std::string* error) const;
};

struct ExportedFile {
  std::string path;
  std::string split;  // "train" or "val"
  int64_t tokens = 0;
  int64_t documents = 0;
  int64_t bytes = 0;
};

struct ExportSummary {
  std::string format;
  std::string token_dtype;  // e.g. "uint16", "int32"
  std::vector<ExportedFile> files;
  std::string tokenizer_path;      // tokenizer.hf.json written, or ""
  std::vector<std::string> notes;  // what the user must know to load the files
  std::string BriefReport() const;
  std::string ToJson() const;
};

StatusOr<ExportSummary> ExportShards(const ExportOptions& options);

// Megatron-Core's dtype code for the token ids of a vocabulary (DType.optimal_dtype):
// uint16 (code 8) below 65,500 ids, else int32 (code 4).
uint8_t MegatronDtypeCode(uint32_t vocab_size);

}  // namespace isoflop::data

#endif  // ISOFLOP_ENGINE_EXPORT_H_
