# The libFuzzer targets (a build configured with -DDLC_FUZZ=ON and clang;
# tests/fuzz/run.py makes one). One source, three depths: see fuzz_target.c.
set(FUZZ_TARGETS frontend passes compile)
set(FUZZ_LEVEL_frontend 1)
set(FUZZ_LEVEL_passes 2)
set(FUZZ_LEVEL_compile 3)
foreach(name IN LISTS FUZZ_TARGETS)
  add_executable(fuzz_${name} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_target.c
                 ${CMAKE_SOURCE_DIR}/tests/fuzz/mutator.c)
  target_compile_definitions(fuzz_${name} PRIVATE FUZZ_LEVEL=${FUZZ_LEVEL_${name}})
  target_compile_options(fuzz_${name} PRIVATE ${DLC_WARNINGS})
  target_link_libraries(fuzz_${name} PRIVATE dlc_core)
  target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
endforeach()
