# Sanitizer, fuzzing and thread-safety flags for the CI presets (CMakePresets.json).
# Flags live here, not in src/ or tests/, so every module and test binary is built the same
# way and a new module needs nothing to join in.
#
#   TIERWATCH_SANITIZERS   "address,undefined" (preset asan) | "thread" (preset tsan) | ""
#   TIERWATCH_SANITIZE     older spelling of TIERWATCH_SANITIZERS=address,undefined
#   TIERWATCH_BUILD_FUZZ   add coverage instrumentation (-fsanitize=fuzzer-no-link) to every
#                          library and build the libFuzzer targets in fuzz/ (clang only)
#   TIERWATCH_THREAD_SAFETY_ERRORS  clang -Wthread-safety, as errors, so ABSL_GUARDED_BY is
#                          checked on every build of the preset
set(TIERWATCH_SANITIZERS "" CACHE STRING "Comma-separated -fsanitize= list (empty: none)")
option(TIERWATCH_SANITIZE "Build with ASan+UBSan (TIERWATCH_SANITIZERS=address,undefined)" OFF)
option(TIERWATCH_BUILD_FUZZ "Build the libFuzzer targets in fuzz/ (clang)" OFF)
option(TIERWATCH_THREAD_SAFETY_ERRORS "clang: -Wthread-safety as errors" OFF)

if(TIERWATCH_SANITIZE AND NOT TIERWATCH_SANITIZERS)
  set(TIERWATCH_SANITIZERS "address,undefined")
endif()

if(TIERWATCH_SANITIZERS)
  add_compile_options(-fsanitize=${TIERWATCH_SANITIZERS} -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=${TIERWATCH_SANITIZERS})
  if(TIERWATCH_SANITIZERS MATCHES "undefined")
    # A UB report fails the test that triggered it instead of scrolling past.
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
  if(TIERWATCH_SANITIZERS MATCHES "thread")
    # Debian's abseil is not built with TSan: teach TSan what absl::Mutex does (see the file).
    set(TIERWATCH_TSAN_SHIM ${CMAKE_CURRENT_LIST_DIR}/tsan_absl_mutex.cc)
  endif()
endif()

if(TIERWATCH_BUILD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "TIERWATCH_BUILD_FUZZ needs clang (libFuzzer); use the asan preset")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(TIERWATCH_THREAD_SAFETY_ERRORS)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "TIERWATCH_THREAD_SAFETY_ERRORS needs clang")
  endif()
  add_compile_options(-Wthread-safety -Werror=thread-safety)
endif()

# Links the TSan shim into every executable defined under `dir` (tests, tierwatch, fuzz).
function(tw_add_tsan_shim dir)
  if(NOT TIERWATCH_TSAN_SHIM)
    return()
  endif()
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(t ${targets})
    get_target_property(type ${t} TYPE)
    if(type STREQUAL "EXECUTABLE")
      target_sources(${t} PRIVATE ${TIERWATCH_TSAN_SHIM})
      target_link_libraries(${t} PRIVATE ${CMAKE_DL_LIBS})
    endif()
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(d ${subdirs})
    tw_add_tsan_shim(${d})
  endforeach()
endfunction()
