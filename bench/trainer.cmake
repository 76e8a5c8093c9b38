# Trainer benchmarks (docs/benchmarks.md, "Trainer"). Not part of `all`:
#   cmake --build build --target bench_trainer_cpu   # isoflop-train vs PyTorch eager, CPU, same call
# The GPU benchmark runs on a GPU machine from a fresh checkout: bench/trainer/gpu_bench.sh
if(TARGET isoflop-train)
  add_custom_target(bench_trainer_cpu
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/trainer/cpu_bench.sh ${CMAKE_BINARY_DIR} ${CMAKE_BINARY_DIR}/bench-trainer-cpu
    DEPENDS isoflop-train
    USES_TERMINAL
    COMMENT "isoflop-train vs PyTorch eager on CPU (bench/trainer/cpu_bench.sh)")
endif()
