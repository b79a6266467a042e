# find_package(unofficial-b64 CONFIG) for Ubuntu's libb64-dev.
#
# amdinfer v0.4.0 links its base64 helpers against unofficial::b64::b64, the
# target name of vcpkg's b64 port (src/amdinfer/util/CMakeLists.txt). No
# distribution ships that CMake package: this one defines the target as an
# IMPORTED library over the system's libb64 and <b64/encode.h>.
find_path(B64_INCLUDE_DIR NAMES b64/encode.h b64/cencode.h)
find_library(B64_LIBRARY NAMES b64)
mark_as_advanced(B64_INCLUDE_DIR B64_LIBRARY)

if(NOT B64_INCLUDE_DIR OR NOT B64_LIBRARY)
  set(unofficial-b64_FOUND FALSE)
  set(unofficial-b64_NOT_FOUND_MESSAGE
      "libb64 not found (headers: ${B64_INCLUDE_DIR}, library: ${B64_LIBRARY}): install libb64-dev")
  return()
endif()

if(NOT TARGET unofficial::b64::b64)
  add_library(unofficial::b64::b64 UNKNOWN IMPORTED)
  set_target_properties(unofficial::b64::b64 PROPERTIES
    IMPORTED_LOCATION "${B64_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${B64_INCLUDE_DIR}")
endif()
set(unofficial-b64_FOUND TRUE)
