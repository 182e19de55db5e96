#include "daemon/config.h"

#include <gtest/gtest.h>

namespace portico::daemon {
namespace {

constexpr const char* kMinimal = R"(
gateway:
  portals: ["127.0.0.1:3260"]
targets:
  - iqn: iqn.2026-11.io.portico:quickstart
    luns:
      - lun: 0
        backend: memory
        size: 1GiB
)";

std::string error_of(const std::string& yaml) {
  auto config = parse_config(yaml);
  EXPECT_FALSE(config.ok()) << "expected an error for:\n" << yaml;
  return config.ok() ? "" : config.status().message();
}

TEST(Config, QuickstartShapeParsesWithDefaults) {
  auto config = parse_config(kMinimal);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->log_level, "info");
  EXPECT_EQ(config->gateway.io_threads, 1u);
  ASSERT_EQ(config->targets.size(), 1u);
  const auto& target = config->targets[0];
  EXPECT_TRUE(target.any_initiator);
  EXPECT_FALSE(target.chap.has_value());
  ASSERT_EQ(target.luns.size(), 1u);
  EXPECT_EQ(target.luns[0].size_bytes, 1ull << 30);
  EXPECT_EQ(target.luns[0].block_size, 512u);
  EXPECT_EQ(target.luns[0].backend, BackendKind::memory);
}

TEST(Config, FileLunWithChapAndAcl) {
  auto config = parse_config(R"(
gateway: {portals: ["[::1]:3261"], io_threads: 2}
targets:
  - iqn: iqn.2026-11.io.portico:files
    allowed_initiators: [iqn.2026-11.io.portico:host1]
    chap: {username: u, secret: twelve-chars, mutual_username: t, mutual_secret: other-secret}
    luns:
      - {lun: 3, backend: file, path: /var/tmp/x.img, size: 64MiB, block_size: 4096}
)");
  ASSERT_TRUE(config.ok()) << config.status().message();
  const auto& target = config->targets[0];
  EXPECT_FALSE(target.any_initiator);
  ASSERT_EQ(target.allowed_initiators.size(), 1u);
  ASSERT_TRUE(target.chap.has_value());
  EXPECT_EQ(target.chap->mutual_username, "t");
  EXPECT_EQ(target.luns[0].path, "/var/tmp/x.img");
  EXPECT_EQ(target.luns[0].block_size, 4096u);
  EXPECT_EQ(config->gateway.io_threads, 2u);
}

TEST(Config, InitiatorsOfTheAclMayHaveCredentialsOfTheirOwn) {
  auto config = parse_config(R"(
gateway: {portals: ["127.0.0.1:3260"]}
targets:
  - iqn: iqn.2026-11.io.portico:shared
    allowed_initiators:
      - {name: iqn.2026-11.io.portico:host1, chap: {username: host1, secret: host1-secret-12}}
      - name: iqn.2026-11.io.portico:host2
        chap: {username: host2, secret: host2-secret-12, mutual_username: tgt, mutual_secret: target-secret-2}
      - iqn.2026-11.io.portico:host3
    chap: {username: shared, secret: shared-secret-1}
    luns: [{lun: 0, backend: memory, size: 1GiB}]
)");
  ASSERT_TRUE(config.ok()) << config.status().message();
  const auto& target = config->targets[0];
  EXPECT_EQ(target.allowed_initiators.size(), 3u);
  ASSERT_EQ(target.initiator_chap.size(), 2u);
  EXPECT_EQ(target.initiator_chap.at("iqn.2026-11.io.portico:host1").secret, "host1-secret-12");
  EXPECT_EQ(target.initiator_chap.at("iqn.2026-11.io.portico:host2").mutual_username, "tgt");
  EXPECT_EQ(target.initiator_chap.count("iqn.2026-11.io.portico:host3"), 0u);  // the target's secret
}

TEST(Config, AnInitiatorSecretSharedWithAnotherOrWithTheTargetIsRefused) {
  const std::string shared_with_host = R"(
gateway: {portals: ["127.0.0.1:3260"]}
targets:
  - iqn: iqn.2026-11.io.portico:shared
    allowed_initiators:
      - {name: iqn.2026-11.io.portico:host1, chap: {username: a, secret: same-secret-123}}
      - {name: iqn.2026-11.io.portico:host2, chap: {username: b, secret: same-secret-123}}
    luns: [{lun: 0, backend: memory, size: 1GiB}]
)";
  EXPECT_NE(error_of(shared_with_host).find("is also iqn.2026-11.io.portico:host1's"), std::string::npos)
      << error_of(shared_with_host);
  const std::string shared_with_target = R"(
gateway: {portals: ["127.0.0.1:3260"]}
targets:
  - iqn: iqn.2026-11.io.portico:shared
    allowed_initiators:
      - {name: iqn.2026-11.io.portico:host1, chap: {username: a, secret: same-secret-123}}
    chap: {username: t, secret: same-secret-123}
    luns: [{lun: 0, backend: memory, size: 1GiB}]
)";
  EXPECT_NE(error_of(shared_with_target).find("the target's chap.secret"), std::string::npos);
  EXPECT_NE(error_of(R"(
gateway: {portals: ["127.0.0.1:3260"]}
targets:
  - iqn: iqn.2026-11.io.portico:shared
    allowed_initiators: [{name: iqn.2026-11.io.portico:host1, secret: x}]
    luns: [{lun: 0, backend: memory, size: 1GiB}]
)").find("allowed_initiators[0]"), std::string::npos);
}

TEST(Config, PeerBoundsAndBufferBudgetsAreParsedAndValidated) {
  auto config = parse_config(R"(
gateway:
  portals: ["127.0.0.1:3260"]
  login_timeout_s: 5
  max_connections: 100
  max_connections_per_address: 8
  max_discovery_sessions: 4
  max_session_buffer: 8MiB
  max_buffer: 256MiB
targets:
  - iqn: iqn.2026-11.io.portico:quickstart
    luns: [{lun: 0, backend: memory, size: 1GiB}]
)");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->gateway.login_timeout_s, 5u);
  EXPECT_EQ(config->gateway.max_connections, 100u);
  EXPECT_EQ(config->gateway.max_connections_per_address, 8u);
  EXPECT_EQ(config->gateway.max_discovery_sessions, 4u);
  EXPECT_EQ(config->gateway.max_session_buffer, 8u << 20);
  EXPECT_EQ(config->gateway.max_buffer, 256u << 20);
  auto defaults = parse_config(kMinimal);
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->gateway.login_timeout_s, 15u);
  EXPECT_EQ(defaults->gateway.max_buffer, 1u << 30);
  const auto with = [](const std::string& line) {
    return "gateway:\n  portals: [\"127.0.0.1:3260\"]\n  " + line +
           "\ntargets:\n  - iqn: iqn.2026-11.io.portico:q\n    luns: [{lun: 0, backend: memory, size: 1GiB}]\n";
  };
  EXPECT_NE(error_of(with("max_buffer: 16MiB")).find("gateway.max_buffer"), std::string::npos);
  EXPECT_NE(error_of(with("max_session_buffer: lots")).find("gateway.max_session_buffer"), std::string::npos);
  EXPECT_NE(error_of(with("login_timeout_s: 0")).find("gateway.login_timeout_s"), std::string::npos);
}

TEST(Config, ErrorsNameTheKey) {
  EXPECT_EQ(error_of(R"(
gateway: {portals: ["127.0.0.1:3260"]}
targets: [{iqn: iqn.2026-11.io.portico:a, luns: [{lun: 0, backend: memory, size: 12XB}]}]
)"), "targets[0].luns[0].size: unknown size unit 'XB' (use B, KiB, MiB, GiB, TiB)");
  EXPECT_EQ(error_of(R"(
gateway: {portals: ["127.0.0.1:3260"]}
targets: [{iqn: "IQN.bad", luns: [{lun: 0, backend: memory, size: 1MiB}]}]
)").rfind("targets[0].iqn: ", 0), 0u);
  EXPECT_EQ(error_of(R"(
gateway: {portals: ["127.0.0.1:3260"], colour: blue}
targets: [{iqn: iqn.2026-11.io.portico:a, luns: [{lun: 0, backend: memory, size: 1MiB}]}]
)"), "gateway.colour: unknown key");
  EXPECT_EQ(error_of(R"(
gateway: {portals: ["127.0.0.1:3260"]}
targets: [{iqn: iqn.2026-11.io.portico:a, luns: [{lun: 0, backend: memory, size: 1MiB}, {lun: 0, backend: memory, size: 1MiB}]}]
)"), "targets[0].luns[1].lun: LUN 0 is defined twice");
  EXPECT_EQ(error_of(R"(
gateway: {portals: ["127.0.0.1:3260"]}
targets: [{iqn: iqn.2026-11.io.portico:a, chap: {username: u, secret: short}, luns: [{lun: 0, backend: memory, size: 1MiB}]}]
)"), "targets[0].chap.secret: must be 12 to 255 characters long");
  EXPECT_EQ(error_of(R"(
gateway: {portals: ["127.0.0.1:3260"]}
targets: [{iqn: iqn.2026-11.io.portico:a, luns: [{lun: 0, backend: memory, size: 1000}]}]
)"), "targets[0].luns[0].size: must be a non-zero multiple of the block size (512)");
  EXPECT_EQ(error_of("targets: []\n"), "gateway: is required");
  EXPECT_EQ(error_of("gateway: [\n").rfind("YAML syntax error at line", 0), 0u);
}

TEST(Config, ReadOnlyLunIsParsedAndValidated) {
  auto config = parse_config(R"(
gateway: {portals: ["127.0.0.1:3260"]}
targets: [{iqn: iqn.2026-11.io.portico:a, luns: [{lun: 0, backend: memory, size: 1MiB, read_only: true}]}]
)");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_TRUE(config->targets[0].luns[0].read_only);
  EXPECT_FALSE(parse_config(kMinimal)->targets[0].luns[0].read_only);
  EXPECT_EQ(error_of(R"(
gateway: {portals: ["127.0.0.1:3260"]}
targets: [{iqn: iqn.2026-11.io.portico:a, luns: [{lun: 0, backend: memory, size: 1MiB, read_only: maybe}]}]
)"), "targets[0].luns[0].read_only: must be true or false");
}

TEST(Config, PhysicalBlockSizeIsParsedAndValidated) {
  auto config = parse_config(R"(
gateway: {portals: ["127.0.0.1:3260"]}
targets: [{iqn: iqn.2026-11.io.portico:a, luns: [{lun: 0, backend: memory, size: 1MiB, physical_block_size: 4096}]}]
)");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->targets[0].luns[0].physical_block_size, 4096u);
  EXPECT_EQ(parse_config(kMinimal)->targets[0].luns[0].physical_block_size, 0u);
  EXPECT_EQ(error_of(R"(
gateway: {portals: ["127.0.0.1:3260"]}
targets: [{iqn: iqn.2026-11.io.portico:a, luns: [{lun: 0, backend: memory, size: 1MiB, physical_block_size: 3000}]}]
)"), "targets[0].luns[0].physical_block_size: must be a power of two no smaller than the block size (512)");
}

TEST(Config, SanitizeRateIsASizePerSecond) {
  auto config = parse_config(R"(
gateway: {portals: ["127.0.0.1:3260"]}
targets: [{iqn: iqn.2026-11.io.portico:a, luns: [{lun: 0, backend: memory, size: 1MiB, sanitize_rate: 64MiB}]}]
)");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->targets[0].luns[0].sanitize_rate, 64u << 20);
  EXPECT_EQ(error_of(R"(
gateway: {portals: ["127.0.0.1:3260"]}
targets: [{iqn: iqn.2026-11.io.portico:a, luns: [{lun: 0, backend: memory, size: 1MiB, sanitize_rate: fast}]}]
)").rfind("targets[0].luns[0].sanitize_rate: ", 0), 0u);
}

TEST(Config, CompletionDelayIsForMemoryLunsAndBounded) {
  auto config = parse_config(R"(
gateway: {portals: ["127.0.0.1:3260"]}
targets: [{iqn: iqn.2026-11.io.portico:a, luns: [{lun: 0, backend: memory, size: 1MiB, completion_delay_us: 228}]}]
)");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->targets[0].luns[0].completion_delay_us, 228u);
  EXPECT_EQ(parse_config(kMinimal)->targets[0].luns[0].completion_delay_us, 0u);
  EXPECT_EQ(error_of(R"(
gateway: {portals: ["127.0.0.1:3260"]}
targets: [{iqn: iqn.2026-11.io.portico:a, luns: [{lun: 0, backend: file, path: /tmp/x, size: 1MiB, completion_delay_us: 5}]}]
)"), "targets[0].luns[0].completion_delay_us: is only valid for the memory backend");
  EXPECT_EQ(error_of(R"(
gateway: {portals: ["127.0.0.1:3260"]}
targets: [{iqn: iqn.2026-11.io.portico:a, luns: [{lun: 0, backend: memory, size: 1MiB, completion_delay_us: 1000001}]}]
)").rfind("targets[0].luns[0].completion_delay_us: ", 0), 0u);
}

TEST(Config, ParseSizeUnits) {
  EXPECT_EQ(*parse_size("4096"), 4096u);
  EXPECT_EQ(*parse_size("1GiB"), 1ull << 30);
  EXPECT_EQ(*parse_size("512M"), 512ull << 20);
  EXPECT_FALSE(parse_size("").ok());
  EXPECT_FALSE(parse_size("GiB").ok());
  EXPECT_FALSE(parse_size("99999999999999999999").ok());
  EXPECT_FALSE(parse_size("17179869184TiB").ok());  // overflows 64 bits
}

constexpr const char* kTwoGatewayShape = R"(
gateway:
  name: gw1
  portals: ["127.0.0.1:3260"]
cluster:
  ceph_conf: /etc/ceph/ceph.conf
  client: client.portico
  pool: portico
  lease_ms: 9000
targets:
  - iqn: iqn.2026-11.io.portico:shared
    luns:
      - lun: 0
        backend: rbd
        image: rbd/disk1
      - lun: 1
        backend: rbd
        image: disk2
)";

TEST(Config, ClusterWithRbdLunsParses) {
  auto config = parse_config(kTwoGatewayShape);
  ASSERT_TRUE(config.ok()) << config.status().message();
  ASSERT_TRUE(config->cluster.has_value());
  EXPECT_EQ(config->cluster->client, "client.portico");
  EXPECT_EQ(config->cluster->pool, "portico");
  EXPECT_EQ(config->cluster->lease_ms, 9000u);
  EXPECT_EQ(config->cluster->heartbeat_interval_ms, 2000u);
  EXPECT_EQ(config->cluster->gateways_object, "portico.gateways");
  const auto& luns = config->targets[0].luns;
  EXPECT_EQ(luns[0].backend, BackendKind::rbd);
  EXPECT_EQ(luns[0].rbd_pool, "rbd");
  EXPECT_EQ(luns[0].rbd_image, "disk1");
  EXPECT_EQ(luns[1].rbd_pool, "");  // cluster.pool
  EXPECT_EQ(luns[1].rbd_image, "disk2");
}

TEST(Config, ClusterRulesNameTheKey) {
  std::string yaml = kTwoGatewayShape;
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string copy = yaml;
    copy.replace(copy.find(from), from.size(), to);
    return copy;
  };
  EXPECT_EQ(error_of(replaced("backend: rbd\n        image: disk2", "backend: memory\n        size: 1GiB")),
            "targets[0].luns[1].backend: must be 'rbd' when a cluster is configured (a memory or file LUN is not "
            "shared between gateways)");
  EXPECT_EQ(error_of(replaced("  name: gw1\n", "")),
            "gateway.name: is required with a cluster: each gateway registers under its own name");
  EXPECT_EQ(error_of(replaced("image: rbd/disk1", "image: rbd/")),
            "targets[0].luns[0].image: must be 'pool/image' or 'image', got 'rbd/'");
  EXPECT_EQ(error_of(replaced("image: rbd/disk1", "image: rbd/disk1\n        size: 1GiB")),
            "targets[0].luns[0].size: is the image's own size for an rbd LUN (resize the image instead)");
  EXPECT_EQ(error_of(replaced("lease_ms: 9000", "lease_ms: 1000")),
            "cluster.lease_ms: must be at least three heartbeat intervals (6000 ms)");
  EXPECT_EQ(error_of(replaced("ceph_conf: /etc/ceph/ceph.conf", "ceph_conf: ceph.conf")),
            "cluster.ceph_conf: must be an absolute path");
  EXPECT_EQ(error_of(replaced("pool: portico", "pool: portico\n  color: blue")), "cluster.color: unknown key");
  EXPECT_EQ(error_of(replaced("pool: portico", "pool: portico\n  gateways_object: \"\"")),
            "cluster.gateways_object: must not be empty");
  auto own_membership = parse_config(replaced("pool: portico", "pool: portico\n  gateways_object: portico.gateways.east"));
  ASSERT_TRUE(own_membership.ok()) << own_membership.status().message();
  EXPECT_EQ(own_membership->cluster->gateways_object, "portico.gateways.east");
  std::string no_cluster = replaced(
      "cluster:\n  ceph_conf: /etc/ceph/ceph.conf\n  client: client.portico\n  pool: portico\n  lease_ms: 9000\n", "");
  EXPECT_EQ(error_of(no_cluster),
            "targets[0].luns[0].backend: 'rbd' needs the top-level 'cluster' section (ceph_conf, client, pool)");
}

TEST(Config, MetricsListenerIsOptional) {
  const std::string targets = "targets:\n  - iqn: iqn.2026-11.io.portico:m\n    luns: [{lun: 0, backend: memory, size: 1MiB}]\n";
  const std::string base = "gateway:\n  portals: [\"127.0.0.1:3260\"]\n";
  auto without = parse_config(base + targets);
  ASSERT_TRUE(without.ok()) << without.status().message();
  EXPECT_TRUE(without->gateway.metrics_listener.empty());
  auto with = parse_config(base + "  metrics_listener: \"127.0.0.1:9464\"\n" + targets);
  ASSERT_TRUE(with.ok()) << with.status().message();
  EXPECT_EQ(with->gateway.metrics_listener, "127.0.0.1:9464");
}

TEST(Config, ATargetExportedOverNvmeGetsNamespacesFromItsLuns) {
  auto config = parse_config(R"(
gateway:
  portals: ["127.0.0.1:3260"]
  nvme_listeners: ["127.0.0.1:4420"]
  nvme_queue_size: 64
targets:
  - iqn: iqn.2026-11.io.portico:both
    nvme:
      nqn: nqn.2026-11.io.portico:both
      allowed_hosts: ["nqn.2014-08.org.nvmexpress:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427"]
    luns:
      - {lun: 0, backend: memory, size: 1GiB}
      - {lun: 3, backend: memory, size: 1GiB, nsid: 9}
)");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->gateway.nvme_listeners, std::vector<std::string>{"127.0.0.1:4420"});
  EXPECT_EQ(config->gateway.nvme_queue_size, 64u);
  const auto& target = config->targets[0];
  ASSERT_TRUE(target.nvme.has_value());
  EXPECT_EQ(target.nvme->nqn, "nqn.2026-11.io.portico:both");
  EXPECT_FALSE(target.nvme->any_host);
  EXPECT_EQ(target.luns[0].nsid, 1u) << "LUN 0 is namespace 1 by default";
  EXPECT_EQ(target.luns[1].nsid, 9u);
}

TEST(Config, NvmeMistakesNameTheirKey) {
  const std::string base = R"(
gateway:
  portals: ["127.0.0.1:3260"]
  nvme_listeners: ["127.0.0.1:4420"]
targets:
  - iqn: iqn.2026-11.io.portico:both
    nvme: {nqn: NQN}
    luns:
      - {lun: 0, backend: memory, size: 1GiB}
      - {lun: 1, backend: memory, size: 1GiB, nsid: NSID}
)";
  auto with = [&](const std::string& nqn, const std::string& nsid) {
    std::string yaml = base;
    yaml.replace(yaml.find("NQN"), 3, nqn);
    yaml.replace(yaml.find("NSID"), 4, nsid);
    return yaml;
  };
  EXPECT_NE(error_of(with("iqn.2026-11.io.portico:x", "2")).find("targets[0].nvme.nqn"), std::string::npos);
  EXPECT_NE(error_of(with("nqn.2026-11.io.portico:x", "1")).find("targets[0].luns[1].nsid: namespace 1 is defined twice"),
            std::string::npos);
  EXPECT_NE(error_of(with("nqn.2026-11.io.portico:x", "0")).find("targets[0].luns[1].nsid"), std::string::npos);
  std::string no_listener = with("nqn.2026-11.io.portico:x", "2");
  no_listener.erase(no_listener.find("  nvme_listeners"), std::string("  nvme_listeners: [\"127.0.0.1:4420\"]\n").size());
  EXPECT_NE(error_of(no_listener).find("needs gateway.nvme_listeners"), std::string::npos);
}

TEST(Config, RdmaListenersAloneServeNvme) {
  auto config = parse_config(R"(
gateway:
  portals: ["127.0.0.1:3260"]
  nvme_rdma_listeners: ["192.0.2.1:4420"]
targets:
  - iqn: iqn.2026-11.io.portico:rdma
    nvme: {nqn: nqn.2026-11.io.portico:rdma}
    luns:
      - {lun: 0, backend: memory, size: 1GiB}
)");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_TRUE(config->gateway.nvme_listeners.empty());
  EXPECT_EQ(config->gateway.nvme_rdma_listeners, std::vector<std::string>{"192.0.2.1:4420"});
}

constexpr const char* kTcmuLun = R"(
gateway:
  portals: ["127.0.0.1:3260"]
targets:
  - iqn: iqn.2026-11.io.portico:tcmu
    luns:
      - lun: 0
        backend: memory
        size: 64MiB
        tcmu:
          - name: disk0-a
            initiator: naa.5001405000000a01
            target_port: naa.5001405000000b01
          - name: disk0-fc
            fabric: fc
            initiator: "21:00:00:24:ff:31:2a:4c"
            target_port: "21:00:00:24:ff:31:2a:4d"
            relative_port_id: 40
)";

TEST(Config, TcmuExportsNameTheirNexus) {
  auto config = parse_config(kTcmuLun);
  ASSERT_TRUE(config.ok()) << config.status().message();
  const auto& exports = config->targets[0].luns[0].tcmu;
  ASSERT_EQ(exports.size(), 2u);
  EXPECT_EQ(exports[0].name, "disk0-a");
  EXPECT_EQ(exports[0].fabric, "sas");
  EXPECT_EQ(exports[0].relative_port_id, 0);
  EXPECT_EQ(exports[1].fabric, "fc");
  EXPECT_EQ(exports[1].relative_port_id, 40);
}

TEST(Config, TcmuExportsThatCannotNameOneNexusAreRefused) {
  auto with = [](const std::string& from, const std::string& to) {
    std::string yaml = kTcmuLun;
    const auto at = yaml.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return yaml.replace(at, from.size(), to);
  };
  EXPECT_NE(error_of(with("name: disk0-fc", "name: disk0-a")).find("disk0-a is used twice"), std::string::npos);
  EXPECT_NE(error_of(with("name: disk0-a", "name: ../etc")).find("tcmu[0].name"), std::string::npos);
  EXPECT_NE(error_of(with("initiator: naa.5001405000000a01", "initiator: naa.50014")).find("16 hex digits"),
            std::string::npos);
  EXPECT_NE(error_of(with("fabric: fc", "fabric: usb")).find("unknown fabric"), std::string::npos);
  EXPECT_NE(error_of(with("            target_port: naa.5001405000000b01\n", "")).find("target_port"),
            std::string::npos);
  // The same initiator through the same port, twice for one LUN: one nexus would be two.
  EXPECT_NE(error_of(with("initiator: \"21:00:00:24:ff:31:2a:4c\"\n            target_port: \"21:00:00:24:ff:31:2a:4d\"",
                          "initiator: naa.5001405000000a01\n            target_port: naa.5001405000000b01"))
                .find("exported twice"),
            std::string::npos);
}

}  // namespace
}  // namespace portico::daemon

namespace portico::daemon {
namespace {

constexpr const char* kSharedGateway = R"(
gateway:
  name: gw1
  portals: ["127.0.0.1:3260"]
cluster:
  ceph_conf: /etc/ceph/ceph.conf
  shared_config: true
  config_object: portico.config.a
)";

constexpr const char* kRecord = R"(
targets:
  - iqn: iqn.2026-11.io.portico:shared
    allowed_initiators: [iqn.2026-11.io.portico:host-a]
    luns:
      - {lun: 0, backend: rbd, image: rbd/one}
      - {lun: 1, backend: rbd, image: two}
)";

TEST(SharedConfig, AGatewayFileWithSharedConfigHasNoTargetsOfItsOwn) {
  auto local = parse_config(kSharedGateway);
  ASSERT_TRUE(local.ok()) << local.status().message();
  EXPECT_TRUE(local->cluster->shared_config);
  EXPECT_EQ(local->cluster->config_object, "portico.config.a");
  EXPECT_TRUE(local->targets.empty());
  auto both = parse_config(std::string(kSharedGateway) + kRecord);
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.status().message().find("targets: come from the configuration record"), std::string::npos)
      << both.status().message();
}

TEST(SharedConfig, TheRecordsTargetsAreMergedAndCheckedLikeAFilesOwn) {
  auto merged = merge_config_record(kSharedGateway, kRecord, SecretFetcher{});
  ASSERT_TRUE(merged.ok()) << merged.status().message();
  ASSERT_EQ(merged->targets.size(), 1u);
  EXPECT_EQ(merged->targets[0].luns.size(), 2u);
  EXPECT_EQ(merged->gateway.name, "gw1") << "the gateway section stays the file's";
  EXPECT_TRUE(check_config_record(kRecord).ok());
  // Errors name the record's own keys.
  auto memory = merge_config_record(kSharedGateway, "targets:\n  - iqn: iqn.2026-11.io.portico:x\n"
                                                    "    luns: [{lun: 0, backend: memory, size: 1MiB}]\n",
                                    SecretFetcher{});
  ASSERT_FALSE(memory.ok());
  EXPECT_NE(memory.status().message().find("targets[0].luns[0].backend"), std::string::npos) << memory.status().message();
}

TEST(SharedConfig, ARecordCarriesNoGatewaySectionAndNoSecrets) {
  auto gateway = check_config_record(std::string("gateway: {portals: [\"127.0.0.1:1\"]}\n") + kRecord);
  ASSERT_FALSE(gateway.ok());
  EXPECT_NE(gateway.message().find("gateway"), std::string::npos) << gateway.message();
  auto chap = check_config_record(R"(
targets:
  - iqn: iqn.2026-11.io.portico:shared
    allowed_initiators:
      - {name: iqn.2026-11.io.portico:host-a, chap: {username: a, secret: averysecret12}}
    luns: [{lun: 0, backend: rbd, image: rbd/one}]
)");
  ASSERT_FALSE(chap.ok());
  EXPECT_NE(chap.message().find("targets[0].allowed_initiators[0].chap"), std::string::npos) << chap.message();
  EXPECT_NE(chap.message().find("CHAP secrets are not kept"), std::string::npos);
  EXPECT_NE(chap.message().find("portico auth set"), std::string::npos) << chap.message();
  // A group being set up through the portico command starts with no target, or targets without LUNs.
  EXPECT_TRUE(check_config_record("targets: []\n").ok());
  EXPECT_TRUE(check_config_record("targets:\n  - iqn: iqn.2026-11.io.portico:a\n").ok());
  EXPECT_FALSE(check_config_record("targets: {}\n").ok());
  auto syntax = check_config_record("targets: [\n");
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.message().find("YAML syntax error"), std::string::npos);
}

TEST(SharedConfig, SecretsAreReferencesToTheConfigKeyStoreReadByEachGateway) {
  const std::string record = R"(
targets:
  - iqn: iqn.2026-11.io.portico:shared
    chap: {username: t, secret: "config-key:portico/rbd/portico.config/t/1", mutual_username: m,
           mutual_secret: "config-key:portico/rbd/portico.config/m/1"}
    allowed_initiators:
      - {name: iqn.2026-11.io.portico:host-a, chap: {username: a, secret: "config-key:portico/rbd/portico.config/a/1"}}
    luns: [{lun: 0, backend: rbd, image: rbd/one}]
)";
  EXPECT_TRUE(check_config_record(record).ok()) << check_config_record(record).message();
  std::vector<std::string> asked;
  auto merged = merge_config_record(kSharedGateway, record, [&asked](const std::string& key) -> Result<std::string> {
    asked.push_back(key);
    return "secret-of-" + key.substr(key.size() - 3);
  });
  ASSERT_TRUE(merged.ok()) << merged.status().message();
  const auto& target = merged->targets[0];
  ASSERT_TRUE(target.chap.has_value());
  EXPECT_EQ(target.chap->secret, "secret-of-t/1");
  EXPECT_EQ(target.chap->mutual_secret, "secret-of-m/1");
  EXPECT_EQ(target.initiator_chap.at("iqn.2026-11.io.portico:host-a").secret, "secret-of-a/1");
  EXPECT_EQ(asked.size(), 3u);
  // A secret that cannot be read refuses the version, naming the key in the record and why.
  auto unreadable = merge_config_record(kSharedGateway, record, [](const std::string& key) -> Result<std::string> {
    return error(ErrorCode::permission_denied, "config-key " + key + " cannot be read: error 13 (Permission denied)");
  });
  ASSERT_FALSE(unreadable.ok());
  EXPECT_NE(unreadable.status().message().find("targets[0].chap.secret: config-key portico/rbd/portico.config/t/1"),
            std::string::npos)
      << unreadable.status().message();
  // A fetched secret is checked as one in a file would be.
  auto short_secret = merge_config_record(kSharedGateway, record,
                                          [](const std::string&) -> Result<std::string> { return std::string("short"); });
  ASSERT_FALSE(short_secret.ok());
  EXPECT_NE(short_secret.status().message().find("must be 12 to 255 characters"), std::string::npos);
}

}  // namespace
}  // namespace portico::daemon
