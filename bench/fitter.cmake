# Fitter benchmark (docs/benchmarks.md, "Fitter"): isoflop_fitter_bench; the scipy peer is
# bench/fitter/epoch_scipy_reference.py, and bench/fitter/run_fitter_bench.sh runs both.
add_executable(isoflop_fitter_bench ${CMAKE_CURRENT_LIST_DIR}/fitter/fit_bench.cc)
target_link_libraries(isoflop_fitter_bench PRIVATE isoflop_fitter)
target_compile_definitions(isoflop_fitter_bench PRIVATE ISOFLOP_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
