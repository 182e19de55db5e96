# RadosClusterState against the private micro cluster: several gateways in one process, each on
# its own RadosConnection.
if(TARGET portico_cluster_rados)
  portico_ceph_gtest(portico_rados_cluster_state_tests
    SOURCES rados_cluster_state_test.cc
    DEPS portico_cluster_rados portico_cluster_local)
endif()
