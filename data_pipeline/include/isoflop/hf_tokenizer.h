// isoflop's byte-level BPE in Hugging Face `tokenizers` format (tokenizer.json), so that
// Megatron-LM's HuggingFaceTokenizer, torchtitan, transformers and the `tokenizers` library load
// the tokenizer that made the shards and encode text to the same ids.
//
// The mapping (docs/data.md, "tokenizer.hf.json"): a BPE model whose vocabulary holds id i under
// its bytes written with GPT-2's byte-to-unicode table (openai/gpt-2 src/encoder.py,
// bytes_to_unicode), merges in rank order, id 256 under "<|endoftext|>"; a Split pre-tokenizer
// whose regex is isoflop's pre-tokenizer (gpt2-ascii-v1) followed by ByteLevel without its own
// regex; a ByteLevel decoder. Encoding is identical: tests/data_pipeline/hf_tokenizer_test.cc
// checks it with the `tokenizers` library itself where its npm package is installed. Reading
// Hugging Face files (any byte-level BPE, with its own ids): LoadTokenizerFile below.
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

// A tokenizer file for `data build --tokenizer` (hf_tokenizer_load.cc): isoflop's tokenizer.json,
// or a Hugging Face byte-level BPE tokenizer.json (GPT-2 / RoBERTa / Llama 3 style), encoded as
// `tokenizers` encodes it (add_special_tokens = false) with the file's own ids:
//   - model.type "BPE" with vocab and merges (either "a b" or ["a", "b"]); a token for each of the
//     256 bytes (GPT-2's byte characters); ignore_merges honoured; no dropout, subword prefix or
//     end-of-word suffix;
//   - no normalizer; pre_tokenizer ByteLevel (add_prefix_space, use_regex: GPT-2's regex) or a
//     Sequence of Split (Regex or String, Isolated, not inverted) ending in ByteLevel; decoder
//     ByteLevel or none; added_tokens cut out of the text first (not single_word);
//   - the end-of-document id: the token `eos_token` names, else the first of kEosCandidates the
//     file has (added_tokens, then model.vocab), else none (eos_id() == UINT32_MAX: the build
//     refuses it and asks for --eos-token).
// Anything else is refused (kInvalidArgument) with "PATH: FIELD: why", before any text is read.
StatusOr<BpeTokenizer> LoadTokenizerFile(const std::string& path, const std::string& eos_token = "");

// The end-of-document tokens looked for, in order: GPT-2's, Llama 3's, RoBERTa's / T5's, Gemma's.
inline constexpr const char* kEosCandidates[] = {"<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>"};

}  // namespace isoflop::data

#endif  // ISOFLOP_HF_TOKENIZER_H_
