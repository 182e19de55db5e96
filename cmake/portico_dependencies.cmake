# All dependencies come from Debian packages (see scripts/install-deps.sh).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(prometheus-cpp REQUIRED)  # the metrics endpoint (core and pull)
find_package(nlohmann_json 3 REQUIRED)  # the portico command's --json
pkg_check_modules(URING REQUIRED IMPORTED_TARGET liburing)
pkg_check_modules(ISAL REQUIRED IMPORTED_TARGET libisal)
pkg_check_modules(LIBNL_GENL REQUIRED IMPORTED_TARGET libnl-genl-3.0)
pkg_check_modules(LIBISCSI REQUIRED IMPORTED_TARGET libiscsi)
# NVMe/RDMA: connection management with librdmacm, the data path with libibverbs (the NVMe/RDMA
# private data does not survive libfabric 1.17's verbs provider: README, "NVMe/RDMA").
pkg_check_modules(RDMACM REQUIRED IMPORTED_TARGET librdmacm)
pkg_check_modules(IBVERBS REQUIRED IMPORTED_TARGET libibverbs)
pkg_check_modules(LIBFABRIC REQUIRED IMPORTED_TARGET libfabric)
# Debian's librados-dev / librbd-dev ship no pkg-config files: find header and library.
foreach(lib rados rbd)
  string(TOUPPER ${lib} upper)
  find_library(PORTICO_${upper}_LIBRARY NAMES ${lib} REQUIRED)
  find_path(PORTICO_${upper}_INCLUDE NAMES ${lib}/lib${lib}.h REQUIRED)
  add_library(Ceph::${lib} UNKNOWN IMPORTED)
  set_target_properties(Ceph::${lib} PROPERTIES IMPORTED_LOCATION ${PORTICO_${upper}_LIBRARY}
                                                INTERFACE_INCLUDE_DIRECTORIES ${PORTICO_${upper}_INCLUDE})
endforeach()
if(PORTICO_TESTS)
  find_package(GTest REQUIRED)
endif()
