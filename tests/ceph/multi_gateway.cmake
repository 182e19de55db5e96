# Two and three real porticod gateways sharing one RBD image on the micro cluster, driven by
# libiscsi initiators. The tests start and kill gateway processes and bind 127.0.0.1..3:<port>:
# they run alone (RUN_SERIAL), on a port range of their own per build tree.
if(NOT (TARGET portico_ceph AND TARGET portico_cluster_rados AND TARGET portico_nvme_tcp_host AND TARGET GTest::gtest_main))
  return()
endif()

add_executable(portico_multi_gateway_tests
  ${CMAKE_CURRENT_SOURCE_DIR}/multi_gateway_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/multi_gateway_reservation_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/multi_gateway_sanitize_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/multi_gateway_backend_error_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/multi_gateway_event_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/multi_gateway_nvme_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/multi_gateway_discovery_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/multi_gateway_harness.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/multi_gateway_initiator.cc)
target_compile_options(portico_multi_gateway_tests PRIVATE ${PORTICO_WARNING_FLAGS})
target_include_directories(portico_multi_gateway_tests PRIVATE ${PORTICO_SOURCE_ROOT})
target_link_libraries(portico_multi_gateway_tests PRIVATE
  portico_ceph portico_cluster_rados portico_nvme_tcp_host Ceph::rados Ceph::rbd PkgConfig::LIBISCSI GTest::gtest_main
  Threads::Threads)

# Without porticod (a component still missing) there is nothing to run the tests against.
if(NOT TARGET porticod)
  return()
endif()
# Ports: 22000 (release) and 22500 (sanitizer) for the trees scripts/test.sh builds; any other
# build tree of the machine (several may run `ctest -L ceph` at once) takes a port of the same
# range derived from its path. The harness also refuses a portal that something else serves.
if(PORTICO_SANITIZE)
  set(portico_mgw_port 22500)
else()
  set(portico_mgw_port 22000)
endif()
get_filename_component(portico_mgw_tree ${CMAKE_BINARY_DIR} NAME)
if(NOT portico_mgw_tree MATCHES "^(release|asan)$")
  string(MD5 portico_mgw_digest "${CMAKE_BINARY_DIR}")
  string(SUBSTRING "${portico_mgw_digest}" 0 4 portico_mgw_digest)
  math(EXPR portico_mgw_port "${portico_mgw_port} + (0x${portico_mgw_digest} % 49 + 1) * 10")
endif()
add_dependencies(portico_multi_gateway_tests porticod)

# One ctest test per TEST_F, read from the sources. Not gtest_discover_tests: it hands a list-valued
# ENVIRONMENT to set_tests_properties element by element, so only its first variable would be set.
set(portico_mgw_env "${PORTICO_CEPH_ENV};PORTICOD=$<TARGET_FILE:porticod>;PORTICO_MGW_PORT=${portico_mgw_port}")
foreach(source multi_gateway_test.cc multi_gateway_reservation_test.cc multi_gateway_sanitize_test.cc
               multi_gateway_backend_error_test.cc
               multi_gateway_event_test.cc multi_gateway_nvme_test.cc multi_gateway_discovery_test.cc)
  set(path ${CMAKE_CURRENT_SOURCE_DIR}/${source})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${path})
  file(STRINGS ${path} all_cases REGEX "TEST_F\\(")
  file(STRINGS ${path} cases REGEX "^TEST_F\\([A-Za-z0-9_]+, [A-Za-z0-9_]+\\)")
  list(LENGTH all_cases expected)
  list(LENGTH cases found)
  if(NOT expected EQUAL found)
    message(FATAL_ERROR "${source}: write every TEST_F(Suite, Name) on one line, at the start of it")
  endif()
  foreach(line ${cases})
    string(REGEX REPLACE "^TEST_F\\(([A-Za-z0-9_]+), ([A-Za-z0-9_]+)\\).*" "\\1.\\2" name "${line}")
    add_test(NAME multi_gateway.${name} COMMAND portico_multi_gateway_tests --gtest_filter=${name})
    set_tests_properties(multi_gateway.${name} PROPERTIES
      LABELS ceph FIXTURES_REQUIRED ceph RUN_SERIAL TRUE TIMEOUT 420 ENVIRONMENT "${portico_mgw_env}")
  endforeach()
endforeach()
