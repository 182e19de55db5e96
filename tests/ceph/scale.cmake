# bench/scale_luns.sh at a size CI can afford: three gateways serving 256 RBD LUNs on the test
# cluster. It prints the scale figures and fails when a gateway does not serve, PR OUT fails, or a
# gateway runs a thread per LUN (SCALE_MAX_THREADS).
if(NOT TARGET porticod OR NOT TARGET portico-loadgen)
  return()
endif()
if(PORTICO_SANITIZE)
  set(portico_scale_port 24500)
else()
  set(portico_scale_port 24000)
endif()
add_test(NAME ceph.scale_256_luns COMMAND bash ${PORTICO_SOURCE_ROOT}/bench/scale_luns.sh 256)
set_tests_properties(ceph.scale_256_luns PROPERTIES
  LABELS ceph FIXTURES_REQUIRED ceph RUN_SERIAL TRUE TIMEOUT 600
  ENVIRONMENT "${PORTICO_CEPH_ENV};PORTICOD=$<TARGET_FILE:porticod>;PORTICO_LOADGEN=$<TARGET_FILE:portico-loadgen>;PORTICO_CLI=$<TARGET_FILE:portico>;PORTICO_SCALE_PORT=${portico_scale_port};SCALE_MAX_THREADS=64")
