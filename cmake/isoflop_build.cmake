# Build time (issue #7: the demo builds the `isoflop` target from scratch on a 2-core machine).
#
# Most of each translation unit's time went into parsing, instantiating and optimising the same
# third-party templates (CLI11, nlohmann-json, Boost.Asio/Beast, yaml-cpp, libtorch) once per .cc
# file. So each component compiles as one or a few unity translation units (CMake UNITY_BUILD in
# GROUP mode): the shared header code is compiled once per group instead of once per file, with the
# same flags (-O3 everywhere). Sources that are in no group (new files, until they are added to
# one) compile on their own as before. Files whose file-local helpers would clash go to different
# groups. -DISOFLOP_UNITY_BUILD=OFF compiles every file on its own (faster incremental rebuilds
# while editing one file).
option(ISOFLOP_UNITY_BUILD "Compile each component as a few unity translation units (faster clean builds)" ON)

# isoflop_unity_group(<target> <group> <source>...): compile <source>... of <target> as one
# translation unit named after <group>. Paths are relative to the calling CMakeLists.txt.
function(isoflop_unity_group target group)
  if(NOT ISOFLOP_UNITY_BUILD)
    return()
  endif()
  set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_MODE GROUP)
  set_source_files_properties(${ARGN} TARGET_DIRECTORY ${target} PROPERTIES UNITY_GROUP ${target}_${group})
endfunction()

# Precompiled headers where one target's files share a heavy header that a unity group cannot
# share (the test executables: one file each).
option(ISOFLOP_PCH "Precompile GoogleTest's header for the test executables" ON)
