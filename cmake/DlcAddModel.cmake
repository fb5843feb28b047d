# dlc_add_model(<name> MODEL <file.onnx>
#               [PREFIX <p>]              C prefix of the generated API (default <name>)
#               [SHAPES <in>=<dims> ...]  dlc --shape, e.g. x=1x3x224x224 or x=1x3x48x1..1024
#               [FREEZE <in>=<file.pb> ...] dlc --freeze
#               [WEIGHTS embed|file|incbin] weights inside <p>.c (default), in
#                                         <p>.weights (passed to <p>_run), or in
#                                         <p>.weights assembled in (GNU, ELF; large models)
#               [TARGET c]                the back end (only C exists)
#               [THREADS]                 link OpenMP so the kernels can use threads
#               [OPTIONS <dlc option> ...])
#
# Runs dlc at build time (again whenever the model, a frozen input or dlc
# itself changes) into ${CMAKE_CURRENT_BINARY_DIR}/dlc_<name>/ and makes
# <name> a static library of the generated code; its include directory holds
# <p>.h. With WEIGHTS file the target's DLC_WEIGHTS_FILE property is the path
# of <p>.weights, which the caller loads and passes to <p>_run.
function(dlc_add_model name)
  cmake_parse_arguments(PARSE_ARGV 1 A "THREADS" "MODEL;PREFIX;WEIGHTS;TARGET"
                        "SHAPES;FREEZE;OPTIONS")
  if(A_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "dlc_add_model(${name}): unknown arguments ${A_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT A_MODEL)
    message(FATAL_ERROR "dlc_add_model(${name}): MODEL <file.onnx> is required")
  endif()
  if(NOT A_PREFIX)
    set(A_PREFIX ${name})
  endif()
  if(NOT A_WEIGHTS)
    set(A_WEIGHTS embed)
  elseif(NOT A_WEIGHTS MATCHES "^(embed|file|incbin)$")
    message(FATAL_ERROR "dlc_add_model(${name}): WEIGHTS is embed, file or incbin, not '${A_WEIGHTS}'")
  endif()
  if(A_TARGET AND NOT A_TARGET STREQUAL "c")
    message(FATAL_ERROR "dlc_add_model(${name}): TARGET ${A_TARGET}: this dlc generates C only")
  endif()

  get_filename_component(model "${A_MODEL}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/dlc_${name}")
  set(outputs "${dir}/${A_PREFIX}.c" "${dir}/${A_PREFIX}.h")
  if(NOT A_WEIGHTS STREQUAL "embed")
    list(APPEND outputs "${dir}/${A_PREFIX}.weights")
  endif()
  set(args "")
  foreach(s IN LISTS A_SHAPES)
    list(APPEND args --shape "${s}")
  endforeach()
  set(deps "${model}")
  foreach(f IN LISTS A_FREEZE)
    string(FIND "${f}" "=" eq)
    if(eq LESS 1)
      message(FATAL_ERROR "dlc_add_model(${name}): FREEZE takes <input>=<file.pb>, not '${f}'")
    endif()
    string(SUBSTRING "${f}" 0 ${eq} input)
    math(EXPR from "${eq} + 1")
    string(SUBSTRING "${f}" ${from} -1 pb)
    get_filename_component(pb "${pb}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND args --freeze "${input}=${pb}")
    list(APPEND deps "${pb}")
  endforeach()

  add_custom_command(
    OUTPUT ${outputs}
    COMMAND "${CMAKE_COMMAND}" -E make_directory "${dir}"
    COMMAND dlc::dlc "${model}" -o "${dir}/${A_PREFIX}.c" --name "${A_PREFIX}"
            --weights ${A_WEIGHTS} ${args} ${A_OPTIONS}
    DEPENDS ${deps} "$<TARGET_FILE:dlc::dlc>"
    COMMENT "dlc: ${A_MODEL} -> ${A_PREFIX}.c"
    VERBATIM)
  add_library(${name} STATIC "${dir}/${A_PREFIX}.c")
  if(A_WEIGHTS STREQUAL "incbin")   # the object changes when the weights do
    set_source_files_properties("${dir}/${A_PREFIX}.c" PROPERTIES
      OBJECT_DEPENDS "${dir}/${A_PREFIX}.weights")
  endif()
  target_include_directories(${name} PUBLIC "$<BUILD_INTERFACE:${dir}>")
  if(UNIX)
    target_link_libraries(${name} PUBLIC m)
  endif()
  if(A_THREADS)
    find_package(OpenMP REQUIRED COMPONENTS C)
    target_link_libraries(${name} PUBLIC OpenMP::OpenMP_C)
  endif()
  if(A_WEIGHTS STREQUAL "file")
    set_target_properties(${name} PROPERTIES DLC_WEIGHTS_FILE "${dir}/${A_PREFIX}.weights")
  endif()
endfunction()
