# Orchestrator benchmarks (docs/benchmarks.md, "Orchestrator"): daemon CPU while tracking 10,000
# runs, `status` latency, submission and poll rates against a local slurmctld.
find_package(SQLite3 REQUIRED)
add_executable(bench_orchestrator ${CMAKE_CURRENT_LIST_DIR}/orchestrator/bench_orchestrator.cc)
target_include_directories(bench_orchestrator PRIVATE ${PROJECT_SOURCE_DIR}/orchestrator/src)
target_link_libraries(bench_orchestrator PRIVATE isoflop_orchestrator isoflop_token_reader SQLite::SQLite3)
target_compile_definitions(bench_orchestrator PRIVATE
  ISOFLOP_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
  ISOFLOP_IDLE_TRAINER="${CMAKE_CURRENT_LIST_DIR}/orchestrator/idle_trainer.sh")
