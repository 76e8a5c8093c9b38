// Fitter benchmark: the full 4,500-start Approach 3 fit and a 4,000-resample bootstrap on Epoch AI's
// Chinchilla data (tests/data/chinchilla_epoch.csv, 5 highest-loss rows dropped). The peer, Epoch's
// scipy L-BFGS-B path, is bench/fitter/epoch_scipy_reference.py; bench/fitter/run_fitter_bench.sh runs
// both in the same run. Prints one JSON object per measurement.
//
// Usage: isoflop_fitter_bench [CSV] [--resamples N] [--threads T]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "isoflop/fitter.h"

namespace {

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

}  // namespace

int main(int argc, char** argv) {
  std::string csv = std::string(ISOFLOP_SOURCE_DIR) + "/tests/data/chinchilla_epoch.csv";
  int resamples = 4000;
  int threads = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--resamples" && i + 1 < argc) {
      resamples = std::atoi(argv[++i]);
    } else if (arg == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else {
      csv = arg;
    }
  }
  auto runs = isoflop::LoadRunsCsv(csv, isoflop::CsvOptions{});
  if (!runs.ok()) {
    std::fprintf(stderr, "isoflop_fitter_bench: %s\n", runs.status().ToString().c_str());
    return 2;
  }
  auto measure = [&](const char* name, int t, int boot) {
    isoflop::FitOptions options;
    options.drop_highest_loss = 5;
    options.threads = t;
    options.bootstrap_resamples = boot;
    options.seed = 1;
    isoflop::FitSummary summary;
    const double cpu0 = CpuSeconds();
    const auto w0 = std::chrono::steady_clock::now();
    const isoflop::Status s = isoflop::Fit(*runs, options, &summary);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    const double cpu = CpuSeconds() - cpu0;
    if (!s.ok()) {
      std::fprintf(stderr, "isoflop_fitter_bench: %s\n", s.ToString().c_str());
      std::exit(1);
    }
    double alpha_lo = 0, alpha_hi = 0;
    for (const auto& [n, iv] : summary.ci)
      if (n == "alpha") alpha_lo = iv.lo, alpha_hi = iv.hi;
    std::printf(
        "{\"case\": \"%s\", \"threads\": %d, \"starts\": %d, \"bootstrap_resamples\": %d, \"objective\": "
        "%.13g, "
        "\"starts_at_optimum\": %d, \"alpha\": %.6f, \"alpha_ci_95\": [%.4f, %.4f], \"wall_s\": %.3f, "
        "\"cpu_s\": %.3f}\n",
        name, t, summary.starts, summary.bootstrap_resamples, summary.objective, summary.starts_at_optimum,
        summary.law.alpha, alpha_lo, alpha_hi, wall, cpu);
    std::fflush(stdout);
  };
  measure("fit_4500_starts", 1, 0);
  measure("fit_4500_starts", threads, 0);
  measure("fit_4500_starts_plus_bootstrap", threads, resamples);
  return 0;
}
