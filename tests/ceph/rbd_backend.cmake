# backends/rbd on the real micro cluster.
if(TARGET portico_backend_rbd)
  portico_ceph_gtest(rbd_backend_test
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/rbd_backend_test.cc
    DEPS portico_backend_rbd Ceph::rbd)
endif()
