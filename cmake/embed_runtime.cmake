# Writes OUT: a C file embedding each runtime source as a byte array, so
# dlc can paste the kernels a model needs into model.c.
# Usage: cmake -DOUT=... -DSOURCES="a.c|b.h" -P embed_runtime.cmake
set(body "/* Generated from runtime/ by cmake/embed_runtime.cmake. */\n#include \"runtime_units.h\"\n\n")
string(REPLACE "|" ";" SOURCES "${SOURCES}")
set(table "")
set(i 0)
foreach(src IN LISTS SOURCES)
  get_filename_component(name "${src}" NAME_WE)
  file(READ "${src}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND body "static const char unit_${i}[] = {${bytes}0};\n")
  string(APPEND table "    {\"${name}\", unit_${i}},\n")
  math(EXPR i "${i} + 1")
endforeach()
string(APPEND body "\nconst RuntimeUnit cg_runtime_units[] = {\n${table}};\nconst int cg_runtime_unit_count = ${i};\n")
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
