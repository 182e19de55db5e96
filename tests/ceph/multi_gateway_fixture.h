// The fixture of the multi-gateway tests: a fresh 64 MiB RBD image per test, gateways gw1..gwN
// started on it on demand, initiators logged in to them by host name. On failure it prints the
// tail of every gateway's log and keeps the test's folder (PORTICO_MGW_KEEP=1: always keeps it).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <array>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "tests/ceph/ceph_test_env.h"
#include "tests/ceph/multi_gateway_harness.h"
#include "tests/ceph/multi_gateway_initiator.h"

namespace portico::testing::mgw {

inline constexpr uint64_t kImageBytes = 64ull << 20;
inline constexpr uint64_t kImageBlocks = kImageBytes / kBlockSize;

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

class MultiGateway : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);  // a killed gateway's socket must fail a write, not end the test
    ASSERT_FALSE(porticod_path().empty()) << "PORTICOD must name the porticod binary";
    ASSERT_FALSE(dir_.path().empty()) << "cannot create a scratch folder";
    std::string error;
    admin_ = CephAdmin::connect(&error);
    ASSERT_TRUE(admin_) << error;
    image_ = admin_->create_image("mgw", kImageBytes, &error);
    ASSERT_FALSE(image_.empty()) << error;
  }

  void TearDown() override {
    const bool failed = HasFailure();
    for (auto& gateway : gateways_) {
      if (!gateway) continue;
      const std::string exit = gateway->terminate();
      if (failed) {
        std::fprintf(stderr, "---- %s (%s, %s) log, last 60 lines ----\n%s", gateway->name().c_str(),
                     gateway->portal().c_str(), exit.c_str(), gateway->log_tail(60).c_str());
      }
    }
    if (failed || std::getenv("PORTICO_MGW_KEEP") != nullptr) {
      dir_.keep = true;
      std::fprintf(stderr, "gateway configurations and logs kept in %s\n", dir_.path().c_str());
    }
    if (admin_ && !image_.empty()) admin_->remove_image(image_);
  }

  // Starts gw1..gw<count> one after the other on this test's image (`lun_options`: see
  // clustered_gateway_yaml).
  void start_gateways(int count, const std::string& lun_options = {}) {
    for (int index = 1; index <= count; ++index) {
      auto& gateway = gateways_[static_cast<size_t>(index - 1)];
      gateway = std::make_unique<GatewayProcess>(index, dir_.path(), portal_port());
      std::string error;
      const auto yaml = clustered_gateway_yaml(*gateway, absolute_ceph_conf(), admin_->pool(), image_, lun_options);
      ASSERT_TRUE(gateway->start(yaml, std::chrono::seconds(60), &error)) << error;
    }
  }

  GatewayProcess& gateway(int index) { return *gateways_.at(static_cast<size_t>(index - 1)); }

  // A session of initiator iqn.2026-11.io.portico:<host> through gateway `index`; nullptr (and a
  // test failure) when the login fails.
  std::unique_ptr<Initiator> login(int index, const std::string& host) {
    std::string error;
    auto initiator = Initiator::connect(gateway(index).portal(), "iqn.2026-11.io.portico:" + host, &error);
    if (!initiator) ADD_FAILURE() << error;
    return initiator;
  }

  // The address in gateway `name`'s membership record (what fencing blocklists), "" if none.
  std::string gateway_address(const std::string& name) {
    const std::string record = admin_->gateway_record(image_, name);
    const auto at = record.find("addr=");
    if (at == std::string::npos) return "";
    return record.substr(at + 5, record.find(' ', at) - at - 5);
  }

  static std::string absolute_ceph_conf() {
    char resolved[PATH_MAX];
    return ::realpath(ceph_conf().c_str(), resolved) != nullptr ? resolved : ceph_conf();
  }

  ScratchDir dir_;
  std::unique_ptr<CephAdmin> admin_;
  std::string image_;
  std::array<std::unique_ptr<GatewayProcess>, 3> gateways_;
};

}  // namespace portico::testing::mgw
