// What a test on the real micro cluster needs: the cluster's ceph.conf and pool (from the ctest
// fixture's environment), a connection, and unique names so that tests never share objects.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include <rbd/librbd.h>
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

// Creates image `name` of `size` bytes with 4 MiB objects and only `features` (by default
// layering: no exclusive-lock, so several gateways can write it). Returns librbd's result.
inline int create_test_image(rados_ioctx_t io, const std::string& name, uint64_t size,
                             uint64_t features = RBD_FEATURE_LAYERING) {
  rbd_image_options_t options;
  rbd_image_options_create(&options);
  rbd_image_options_set_uint64(options, RBD_IMAGE_OPTION_FEATURES, features);
  rbd_image_options_set_uint64(options, RBD_IMAGE_OPTION_ORDER, 22);
  const int ret = rbd_create4(io, name.c_str(), size, options);
  rbd_image_options_destroy(options);
  return ret;
}

}  // namespace portico::testing
