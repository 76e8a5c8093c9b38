// isoflop's byte-level BPE in Hugging Face `tokenizers` format (tokenizer.json), so that
// Megatron-LM's HuggingFaceTokenizer, torchtitan, transformers and the `tokenizers` library load
// the tokenizer that made the shards and encode text to the same ids.
//
// The mapping (docs/data.md, "tokenizer.hf.json"): a BPE model whose vocabulary holds id i under
// its bytes written with GPT-2's byte-to-unicode table (openai/gpt-2 src/encoder.py,
// bytes_to_unicode), merges in rank order, id 256 under "<|endoftext|>"; a Split pre-tokenizer
// whose regex is isoflop's pre-tokenizer (gpt2-ascii-v1) followed by ByteLevel without its own
// regex; a ByteLevel decoder. Encoding is identical: tests/data_pipeline/hf_tokenizer_test.cc
// checks it with the `tokenizers` library itself where its npm package is installed.
#ifndef ISOFLOP_HF_TOKENIZER_H_
#define ISOFLOP_HF_TOKENIZER_H_

#include <string>

#include "isoflop/bpe_tokenizer.h"
#include "isoflop/status.h"

namespace isoflop::data {

// isoflop's pre-tokenizer as an Oniguruma regex (the engine `tokenizers` uses), ASCII classes
// written out so that it means the same on Unicode text as the byte classes of bpe_tokenizer.cc.
extern const char kIsoflopPretokenizerRegex[];

// The JSON text of tokenizer.hf.json. Fails (kInvalidArgument) only if two ids have the same
// bytes, which a `tokenizers` vocabulary (string → id) cannot represent.
StatusOr<std::string> HuggingFaceTokenizerJson(const BpeTokenizer& tokenizer);

// GPT-2's printable stand-in for byte b, as UTF-8 (e.g. ' ' → "Ġ", 'a' → "a").
std::string ByteLevelChar(unsigned char b);

// A tokenizer file for `data build --tokenizer`: isoflop's tokenizer.json, or a Hugging Face
// byte-level BPE tokenizer.json that isoflop's encoder reproduces id for id — a BPE model with the
// 256 byte tokens at ids 0–255 (GPT-2's byte characters), "<|endoftext|>" at 256 and merge i making
// id 257 + i, no normalizer, and isoflop's pre-tokenizer (Split with kIsoflopPretokenizerRegex, then
// ByteLevel without its own regex) — as `data tokenizer export` writes. Anything else is refused
// with the field that differs (e.g. GPT-2's own ByteLevel regex, another id layout), since the
// shards would otherwise hold ids the file's users do not expect.
StatusOr<BpeTokenizer> LoadTokenizerFile(const std::string& path);

}  // namespace isoflop::data

#endif  // ISOFLOP_HF_TOKENIZER_H_
