# Runs the compiler's dependency scan (-MM would hide system headers, so -M)
# on every file of the stages below the journal, and fails when one of them
# reaches SQLite, OpenSSL or a header of a stage above it.
file(GLOB files ${SOURCE_DIR}/lib/core/*.h ${SOURCE_DIR}/lib/core/*.cpp
                ${SOURCE_DIR}/lib/event/*.h ${SOURCE_DIR}/lib/event/*.cpp
                ${SOURCE_DIR}/lib/host/*.h ${SOURCE_DIR}/lib/host/*.cpp
                ${SOURCE_DIR}/lib/names/*.h ${SOURCE_DIR}/lib/names/*.cpp
                ${SOURCE_DIR}/lib/model/*.h ${SOURCE_DIR}/lib/model/*.cpp
                ${SOURCE_DIR}/lib/tree/*.h ${SOURCE_DIR}/lib/tree/*.cpp)
set(checked 0)
foreach(file ${files})
  execute_process(COMMAND ${COMPILER} -std=c++20 -M -x c++ ${INCLUDE_DIRS} ${file}
                  OUTPUT_VARIABLE deps ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cannot scan ${file}: ${err}")
  endif()
  foreach(forbidden "sqlite3.h" "/openssl/" "/lib/journal/" "/lib/record/" "/lib/verify/" "/lib/probe/" "/cli/")
    string(FIND "${deps}" "${forbidden}" at)
    if(NOT at EQUAL -1)
      message(FATAL_ERROR "${file} reaches ${forbidden}:\n${deps}")
    endif()
  endforeach()
  math(EXPR checked "${checked} + 1")
endforeach()
if(checked LESS 10)
  message(FATAL_ERROR "only ${checked} files found under ${SOURCE_DIR}/lib: the glob is wrong")
endif()
message(STATUS "${checked} files of core, event, host, names, model and tree reach neither SQLite nor OpenSSL")
