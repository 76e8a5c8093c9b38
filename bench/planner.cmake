# Planner benchmarks and the validation table printer (docs/planner.md, docs/benchmarks.md).
add_executable(planner_bench ${CMAKE_CURRENT_LIST_DIR}/planner/bench_main.cc)
target_link_libraries(planner_bench PRIVATE isoflop_planner)
add_executable(planner_validate ${CMAKE_CURRENT_LIST_DIR}/planner/validate_main.cc)
target_link_libraries(planner_validate PRIVATE isoflop_planner)
add_executable(planner_calibrate ${CMAKE_CURRENT_LIST_DIR}/planner/calibrate_main.cc)
target_link_libraries(planner_calibrate PRIVATE isoflop_planner)
