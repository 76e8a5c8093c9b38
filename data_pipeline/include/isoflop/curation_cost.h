// What a plan's token count asks of the data pipeline: how many bytes of curated text, and how
// many node-hours `isoflop data build` takes to produce them. Header-only and free of
// dependencies, so the planner can print "this plan needs ~X TB of curated text: about Y
// node-hours to curate" without linking the pipeline. The constants and the model behind them
// are in docs/data.md ("Scale: a model of the distributed build"); measured, not guessed.
#ifndef ISOFLOP_CURATION_COST_H_
#define ISOFLOP_CURATION_COST_H_

namespace isoflop::data {

// Bytes of text per token. Llama 3's 128K-token tokenizer: 3.94 characters per token on a
// sample of English data (Dubey et al. 2024, "The Llama 3 Herd of Models", arXiv:2407.21783,
// §3.2 "Model Architecture"; Llama 2's 32K tokenizer: 3.17). English web text is nearly all
// ASCII, so characters ≈ bytes.
inline constexpr double kBytesPerTokenLlama3 = 3.94;

// CPU-seconds of `data build` (all stages, one core) per GB of input text: the stage model on
// the 200 MB bench corpus, one task per stage, 23.7 and 25.9 CPU-s/GB in two runs (docs/data.md,
// "Scale"; bench/data_pipeline/run.sh), AMD EPYC (Zen 4) cores with AVX2 and SHA-NI, on a busy
// shared machine. Web text spends more in the quality rules than this English prose.
inline constexpr double kBuildCpuSecondsPerGB = 25.0;

// Bytes read and written by all stages per byte of input (the same model): scan reads the input
// and writes the text that passes (0.92), encode reads it and writes tokens (0.33), assemble
// copies the tokens, verify reads candidate pairs' texts; about 4.
inline constexpr double kBytesMovedPerInputByte = 4.0;

struct CurationEstimate {
  double curated_bytes = 0;   // kept text the plan's tokens need
  double input_bytes = 0;     // raw text to read, at the given keep fraction
  double core_hours = 0;      // CPU time of every stage
  double cpu_node_hours = 0;  // core_hours / cores_per_node
  double io_node_hours = 0;   // bytes moved / (io_gb_per_s per node)
  double node_hours = 0;      // the larger of the two: the stages parallelise across nodes
};

// `tokens`: the plan's training tokens (unique: a plan that repeats data for E epochs needs
// tokens / E). `keep_fraction`: the share of input bytes the filters and dedup keep (1 when the
// input is already curated; a web crawl keeps far less — measure it on a sample with
// `isoflop data build` and read `bytes_kept / bytes_read` in the manifest). `io_gb_per_s`: what
// one node reads and writes on the shared file system. The estimate leaves out the two
// one-task stages, small below ~10 TB (docs/data.md).
inline CurationEstimate EstimateCuration(double tokens, double keep_fraction = 1.0, int cores_per_node = 64,
                                         double io_gb_per_s = 2.0,
                                         double bytes_per_token = kBytesPerTokenLlama3,
                                         double cpu_seconds_per_gb = kBuildCpuSecondsPerGB) {
  CurationEstimate e;
  if (!(tokens > 0) || !(keep_fraction > 0) || keep_fraction > 1 || cores_per_node < 1 ||
      !(io_gb_per_s > 0)) {
    return e;
  }
  e.curated_bytes = tokens * bytes_per_token;
  e.input_bytes = e.curated_bytes / keep_fraction;
  e.core_hours = e.input_bytes / 1e9 * cpu_seconds_per_gb / 3600.0;
  e.cpu_node_hours = e.core_hours / cores_per_node;
  e.io_node_hours = e.input_bytes * kBytesMovedPerInputByte / (io_gb_per_s * 1e9) / 3600.0;
  e.node_hours = e.cpu_node_hours > e.io_node_hours ? e.cpu_node_hours : e.io_node_hours;
  return e;
}

}  // namespace isoflop::data

#endif  // ISOFLOP_CURATION_COST_H_
