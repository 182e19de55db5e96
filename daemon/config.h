// porticod's configuration: the YAML file, parsed and validated into plain structs. Every error
// names the key it is about ("targets[0].luns[1].size: ..."), so one line tells the
// administrator what to fix.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/common/result.h"

namespace portico::daemon {

struct ChapConfig {
  std::string username;
  std::string secret;
  std::string mutual_username;  // empty: one-way CHAP
  std::string mutual_secret;

  bool operator==(const ChapConfig&) const = default;
};

enum class BackendKind { memory, file, rbd };

// An export of a LUN through the Linux kernel target (LIO) as a TCMU backstore device: one per
// (initiator ACL, target port), since the TCMU ring does not say which initiator sent a command
// (frontends/fc_tcmu). The fabric side (tcm_loop, qla2xxx, ib_srpt, ...) links the ACL's mapped
// LUN to a TPG LUN on this backstore.
struct TcmuExportConfig {
  std::string name;          // the backstore: target/core/user_<N>/<name>
  std::string fabric = "sas";  // fc, sas (tcm_loop), srp, iscsi
  std::string initiator;     // the initiator port as the fabric names it (the ACL's name)
  std::string target_port;   // the LIO target port the ACL belongs to (its WWPN, or IQN,t,0x<tpgt>)
  uint16_t relative_port_id = 0;  // 0: target port group x 256 + the export's index

  bool operator==(const TcmuExportConfig&) const = default;
};

struct LunConfig {
  uint64_t lun = 0;
  BackendKind backend = BackendKind::memory;
  uint64_t size_bytes = 0;
  uint32_t block_size = 512;
  std::string path;           // file backend
  std::string rbd_pool;       // rbd backend: the image's pool (default: cluster.pool)
  std::string rbd_image;      // rbd backend: the image's name
  std::string serial;         // optional override of the derived unit serial number
  std::string product = "VIRTUAL-DISK";
  bool read_only = false;     // write protected
  uint32_t physical_block_size = 0;  // reported physical block in bytes; 0 = the backend's
  uint64_t sanitize_rate = 0;        // bytes per second a SANITIZE may process; 0 = unpaced
  uint32_t completion_delay_us = 0;  // memory backend: every completion this late (benchmarks); 0 = inline
  uint32_t nsid = 0;                 // its NVMe namespace ID when the target is exported over NVMe; 0 = lun + 1
  std::vector<TcmuExportConfig> tcmu;  // exports through the kernel target

  bool operator==(const LunConfig&) const = default;
};

// A target exported over NVMe/TCP too: an NVM subsystem whose namespaces are the target's LUNs
// (the same units: one image, one identity, one reservation state through both protocols).
struct NvmeExportConfig {
  std::string nqn;                         // "nqn.2026-11.io.portico:<name>"
  bool any_host = true;
  std::vector<std::string> allowed_hosts;  // host NQNs

  bool operator==(const NvmeExportConfig&) const = default;
};

struct TargetConfig {
  std::string iqn;
  std::string alias;
  bool any_initiator = true;
  std::vector<std::string> allowed_initiators;
  std::optional<ChapConfig> chap;
  // CHAP credentials of one initiator of the ACL (allowed_initiators[].chap): its secret proves
  // that name, where the target's shared secret proves only knowledge of the target's.
  std::map<std::string, ChapConfig> initiator_chap;
  std::vector<LunConfig> luns;
  std::optional<NvmeExportConfig> nvme;
};

struct GatewayConfig {
  std::string name = "porticod";
  unsigned io_threads = 1;
  std::vector<std::string> portals;
  unsigned nop_in_interval_s = 15;
  unsigned nop_in_timeout_s = 30;
  unsigned max_sessions = 256;
  uint32_t max_recv_data_segment_length = 262144;
  uint32_t max_burst_length = 1048576;
  uint32_t first_burst_length = 262144;
  unsigned max_queued_commands = 128;  // per session: MaxCmdSN window
  uint64_t max_session_buffer = 64u << 20;  // bytes of command buffers per session
  uint64_t max_buffer = 1u << 30;           // bytes of command buffers of the whole gateway
  unsigned login_timeout_s = 15;            // a connection must be in the full feature phase by then
  unsigned max_connections = 1024;          // per portal
  unsigned max_connections_per_address = 64;  // from one initiator address, all portals together
  unsigned max_discovery_sessions = 64;
  // NVMe/TCP (targets with an `nvme` section): listeners and per-controller limits.
  std::vector<std::string> nvme_listeners;     // "127.0.0.1:4420"
  // NVMe/RDMA listeners: an address an RDMA device has (RoCE: the address of its network device).
  std::vector<std::string> nvme_rdma_listeners;  // "192.0.2.1:4420"
  // The discovery controller's (it answers on every listener); empty: each NVMe listener's
  // address on port 8009.
  std::vector<std::string> nvme_discovery_listeners;
  unsigned nvme_io_queues = 8;                 // I/O queues a controller grants
  unsigned nvme_queue_size = 128;              // entries per queue
  uint32_t nvme_in_capsule_data = 8192;        // data bytes a command capsule may carry
  uint32_t nvme_max_data_transfer = 1u << 20;  // MDTS: bytes one command may move
  // The Prometheus endpoint ("127.0.0.1:9464": GET /metrics); empty: none.
  std::string metrics_listener;
};

// The Ceph cluster that several gateways share (the RADOS cluster state and RBD images).
struct ClusterConfig {
  std::string ceph_conf = "/etc/ceph/ceph.conf";
  std::string client = "client.admin";
  std::string keyring;             // "" = as ceph.conf says
  std::string pool = "rbd";        // holds the gateways' shared state objects
  // The membership object: every gateway serving the same LUNs must name the same one.
  std::string gateways_object = "portico.gateways";
  unsigned heartbeat_interval_ms = 2000;
  unsigned lease_ms = 10000;       // a gateway silent this long is reported unavailable
  unsigned notify_timeout_ms = 5000;  // a gateway that does not acknowledge an event in time is fenced
  // The targets come from the group's configuration record in RADOS (config_object in `pool`,
  // cluster/rados/config_record.h), not from this file, which then has no `targets`.
  bool shared_config = false;
  std::string config_object = "portico.config";
  uint64_t record_version = 0;  // set at start-up: the version of the record read (not a key)
};

struct Config {
  std::string log_level = "info";
  GatewayConfig gateway;
  std::optional<ClusterConfig> cluster;  // absent: a single gateway, state kept locally
  std::optional<ChapConfig> discovery_chap;
  std::vector<TargetConfig> targets;
};

Result<Config> load_config_file(const std::string& path);
Result<Config> parse_config(const std::string& yaml_text);

// In the configuration record a CHAP secret is a reference to the monitors' config-key store,
// "config-key:<key>" (portico auth set writes both): every client that can read the pool could
// read a secret kept in the record itself, so one is refused there.
inline constexpr const char* kSecretReferencePrefix = "config-key:";
// Reads the config-key named by a reference (the part after the prefix); an error names the key.
using SecretFetcher = std::function<Result<std::string>(const std::string& key)>;

// The shared part of a configuration (the `targets` and `discovery` sections, as in a local
// file) as the configuration record holds it, secrets as references (not read).
Status check_config_record(const std::string& record_yaml);
// The record as a gateway of the group with NVMe listeners would serve it: what the checks and
// the portico command show (secrets are their references).
Result<Config> parse_config_record(const std::string& record_yaml);
// A gateway's configuration with shared_config: its own file (gateway, cluster, log) with the
// targets of the record, each secret read through `fetch`. Errors name the record's keys as they
// are in the record.
Result<Config> merge_config_record(const std::string& local_yaml, const std::string& record_yaml,
                                   const SecretFetcher& fetch);

// "1GiB", "512MiB", "4096", "10G" → bytes. Exposed for tests.
Result<uint64_t> parse_size(const std::string& text);

}  // namespace portico::daemon
