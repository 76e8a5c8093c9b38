# Planner benchmarks and the validation table printer (docs/planner.md, docs/benchmarks.md).
add_executable(planner_validate ${CMAKE_CURRENT_SOURCE_DIR}/planner/validate_main.cc)
target_link_libraries(planner_validate PRIVATE isoflop_planner)
