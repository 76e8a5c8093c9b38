# Data pipeline benchmark: MB/s per stage and end to end on a ≥ 500 MB corpus made at bench
# time from the real Austen corpus (scripts/corpus), against reading + hashing the same bytes
# and against a numpy MinHash reference. Run: bench/data_pipeline/run.sh (docs/benchmarks.md).
find_package(PkgConfig REQUIRED)
pkg_check_modules(ISOFLOP_DATA_BENCH_DEPS REQUIRED IMPORTED_TARGET libxxhash)
find_package(nlohmann_json REQUIRED)
add_executable(data_pipeline_bench ${CMAKE_CURRENT_LIST_DIR}/data_pipeline/data_pipeline_bench.cc)
target_link_libraries(data_pipeline_bench PRIVATE
  isoflop_data_pipeline nlohmann_json::nlohmann_json PkgConfig::ISOFLOP_DATA_BENCH_DEPS)
