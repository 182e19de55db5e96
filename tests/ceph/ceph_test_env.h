// What a test on the real micro cluster needs: the cluster's ceph.conf and pool (from the ctest
// fixture's environment), a connection, and unique names so that tests never share objects.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include <unistd.h>

#include "ceph/rados_connection.h"

namespace portico::testing {

inline std::string ceph_conf() {
  const char* conf = std::getenv("PORTICO_CEPH_CONF");
  return conf != nullptr ? conf : "";
}

inline std::string ceph_pool() {
  const char* pool = std::getenv("PORTICO_CEPH_POOL");
  return pool != nullptr ? pool : "rbd";
}

// A fresh connection (each one is a distinct Ceph client, as a distinct gateway would be).
// Fails the test when the cluster is not there: a missing cluster is a failure, not a skip.
inline std::shared_ptr<ceph::RadosConnection> connect_to_test_cluster() {
  ceph::RadosOptions options;
  options.conf_path = ceph_conf();
  options.connect_timeout_s = 20;
  auto connection = ceph::RadosConnection::connect(options);
  EXPECT_TRUE(connection.ok()) << "PORTICO_CEPH_CONF=" << options.conf_path << ": " << connection.status().message();
  return connection.ok() ? *connection : nullptr;
}

// "prefix-<pid>-<n>": unique per process and call.
inline std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
}

}  // namespace portico::testing
