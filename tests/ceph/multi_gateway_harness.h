// What the multi-gateway tests run on: a scratch RBD image in the fixture cluster's pool, and real
// `porticod` processes (gw1..gw3 on 127.0.0.1..3, one port) that share it through the RADOS cluster
// state. Every process is started by fork/exec and ended by its own pid, never by name.
//
// Environment: PORTICOD (the binary), PORTICO_MGW_PORT (the portal port, default 22000),
// PORTICO_CEPH_CONF and PORTICO_CEPH_POOL (the fixture's cluster, ceph_test_env.h).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <rados/librados.h>

#include "ceph/rados_connection.h"

namespace portico::testing::mgw {

// The timings every clustered gateway of these tests runs with.
struct ClusterTimings {
  static constexpr std::chrono::milliseconds heartbeat{500};
  static constexpr std::chrono::milliseconds lease{3000};
  static constexpr std::chrono::milliseconds notify_timeout{2000};
};

// A folder for one test's configurations and logs; removed when `keep` is false at destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }
  bool keep = false;

 private:
  std::string path_;
};

// The test's own client of the fixture cluster: creates and removes images, reads the gateways'
// membership records and the OSD blocklist.
class CephAdmin {
 public:
  // nullptr with `error` set when the cluster cannot be reached.
  static std::unique_ptr<CephAdmin> connect(std::string* error);
  ~CephAdmin();
  CephAdmin(const CephAdmin&) = delete;
  CephAdmin& operator=(const CephAdmin&) = delete;

  [[nodiscard]] const std::string& pool() const { return pool_; }
  // A new image "<prefix>-<pid>-<n>" of `size_bytes` with the layering feature only (several
  // writers: no exclusive lock). Returns its name, "" with `error` set on failure.
  std::string create_image(const std::string& prefix, uint64_t size_bytes, std::string* error);
  // Removes the image and its test's membership object. Best effort: a SIGKILLed gateway's watch
  // keeps an image busy until the OSD times it out.
  void remove_image(const std::string& name);
  // The membership record a gateway of the test on `image` wrote ("v=1 tpg=2 port=2 instance=...
  // addr=..."), "" if none.
  std::string gateway_record(const std::string& image, const std::string& gateway_name);
  // `ceph osd blocklist ls` as the monitor answers it (JSON), "" with `error` set on failure.
  std::string blocklist(std::string* error);
  // Blocklists the client at `address` (as another gateway's fencing would) for `expiry`.
  bool blocklist_add(const std::string& address, std::chrono::seconds expiry, std::string* error);
  // The RADOS object that holds the record of `image`'s LUN and carries its events
  // (portico.lun.<key>, cluster/rados/object_names.h), "" with `error` set on failure.
  std::string lun_object(const std::string& image, std::string* error);
  // That object's record and version (xattr portico.version), as a gateway reads them.
  bool read_record(const std::string& object, std::string* bytes, uint64_t* version, std::string* error);
  // Replaces the record if its version is still `version`, as a gateway writes it.
  bool write_record(const std::string& object, uint64_t version, const std::string& bytes, std::string* error);
  [[nodiscard]] const std::shared_ptr<ceph::RadosConnection>& connection() const { return connection_; }

 private:
  CephAdmin(std::shared_ptr<ceph::RadosConnection> connection, rados_ioctx_t io, std::string pool)
      : connection_(std::move(connection)), io_(io), pool_(std::move(pool)) {}

  std::shared_ptr<ceph::RadosConnection> connection_;
  rados_ioctx_t io_;
  std::string pool_;
};

// The fixture cluster's only OSD made unavailable and brought back through scripts/ceph-cluster.sh
// (PORTICO_CEPH_SCRIPT) on the folder of PORTICO_CEPH_CONF:
//   crash  - SIGKILL, as a crash (clients see their connections reset); end() starts it again and
//            returns once the pool serves;
//   freeze - SIGSTOP: connections stay open and nothing answers (only a lease notices); end()
//            sends SIGCONT.
// The destructor ends an outage the test did not end, so that later tests find the OSD serving.
class OsdOutage {
 public:
  enum class Kind { crash, freeze };
  explicit OsdOutage(Kind kind) : kind_(kind) {}
  ~OsdOutage();
  OsdOutage(const OsdOutage&) = delete;
  OsdOutage& operator=(const OsdOutage&) = delete;

  bool begin(std::string* error);
  bool end(std::string* error);
  [[nodiscard]] const char* name() const { return kind_ == Kind::crash ? "OSD SIGKILL" : "OSD SIGSTOP"; }

 private:
  Kind kind_;
  bool active_ = false;
};

// One porticod process: gateway `index` (1..3) is named gw<index> and listens on
// 127.0.0.<index>:<port>; its log (stdout and stderr) goes to <dir>/gw<index>.log.
// The NVM subsystem every gateway exports the test's image through, as namespace 1.
inline constexpr const char* kNvmeSubsystem = "nqn.2026-11.io.portico:shared";

class GatewayProcess {
 public:
  GatewayProcess(int index, std::string dir, uint16_t port);
  ~GatewayProcess();  // terminate()
  GatewayProcess(const GatewayProcess&) = delete;
  GatewayProcess& operator=(const GatewayProcess&) = delete;

  [[nodiscard]] std::string name() const { return "gw" + std::to_string(index_); }
  [[nodiscard]] std::string address() const { return "127.0.0." + std::to_string(index_); }
  [[nodiscard]] std::string portal() const { return address() + ":" + std::to_string(port_); }
  // Its NVMe/TCP listener and discovery listener: the two ports after the iSCSI portal's.
  [[nodiscard]] uint16_t nvme_port() const { return static_cast<uint16_t>(port_ + 1); }
  [[nodiscard]] uint16_t discovery_port() const { return static_cast<uint16_t>(port_ + 2); }
  [[nodiscard]] std::string log_path() const { return dir_ + "/" + name() + ".log"; }
  [[nodiscard]] pid_t pid() const { return pid_; }

  // Writes `yaml` to <dir>/gw<index>.yaml, starts `porticod --config` on it and waits until the
  // portal accepts. False with `error` set (naming the exit status) otherwise.
  bool start(const std::string& yaml, std::chrono::seconds wait, std::string* error);
  // SIGTERM (after SIGCONT, in case it is stopped), SIGKILL after `grace`; reaps it. Returns the
  // exit description ("exit 0", "signal 9").
  std::string terminate(std::chrono::seconds grace = std::chrono::seconds(15));
  void kill_hard();  // SIGKILL and reap
  // Waits up to `limit` for the process to exit by itself: its exit description, "" if it runs on.
  std::string wait_for_exit(std::chrono::milliseconds limit);
  void pause();      // SIGSTOP
  void resume();     // SIGCONT
  [[nodiscard]] bool running();
  [[nodiscard]] std::string log_tail(size_t lines) const;

 private:
  std::string reap(bool block);

  int index_;
  std::string dir_;
  uint16_t port_;
  pid_t pid_ = -1;
};

// The membership object of the gateways of the test on `image`: each test has its own, so that no
// record of an earlier test's gateways is listed.
std::string membership_object(const std::string& image);

// The configuration of gateway `gateway` serving `pool/image` as LUN 0 of the shared target,
// with the cluster section of these tests (ClusterTimings); `lun_options`: more keys of the LUN,
// one "key: value" per line.
std::string clustered_gateway_yaml(const GatewayProcess& gateway, const std::string& ceph_conf,
                                   const std::string& pool, const std::string& image,
                                   const std::string& lun_options = {});

// Environment with defaults: PORTICOD ("" when unset) and PORTICO_MGW_PORT.
std::string porticod_path();
uint16_t portal_port();

}  // namespace portico::testing::mgw
