// RadosClusterState on a real Ceph cluster: every gateway is a RadosClusterState on its own
// RadosConnection (its own Ceph client), as separate porticod processes would be.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "ceph/rados_connection.h"
#include "cluster/local/local_cluster_state.h"
#include "cluster/rados/object_names.h"
#include "cluster/rados/rados_cluster_state.h"
#include "tests/ceph/ceph_test_env.h"
#include "tests/ceph/foreign_events.h"

namespace portico::cluster::rados {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A connection per gateway; watches are pinged every second so that a short lease works.
std::shared_ptr<ceph::RadosConnection> connect_gateway() {
  ceph::RadosOptions options;
  options.conf_path = testing::ceph_conf();
  options.connect_timeout_s = 20;
  options.overrides["objecter_tick_interval"] = "1";
  auto connection = ceph::RadosConnection::connect(options);
  EXPECT_TRUE(connection.ok()) << "PORTICO_CEPH_CONF=" << options.conf_path << ": " << connection.status().message();
  return connection.ok() ? *connection : nullptr;
}

RadosClusterOptions options_for(const std::string& gateways_object, const std::string& name) {
  RadosClusterOptions options;
  options.pool = testing::ceph_pool();
  options.gateway_name = name;
  options.gateways_object = gateways_object;
  options.heartbeat_interval = 200ms;
  options.lease = 3s;
  options.notify_timeout = 2s;
  options.watch_timeout_s = 5;
  options.blocklist_expiry_s = 600;
  return options;
}

struct Gateway {
  std::shared_ptr<ceph::RadosConnection> connection;
  std::unique_ptr<RadosClusterState> state;
};

Gateway start_gateway(const std::string& gateways_object, const std::string& name) {
  Gateway gateway;
  gateway.connection = connect_gateway();
  if (!gateway.connection) return gateway;
  auto state = RadosClusterState::start(gateway.connection, options_for(gateways_object, name));
  EXPECT_TRUE(state.ok()) << state.status().message();
  if (state.ok()) gateway.state = std::move(*state);
  return gateway;
}

template <typename F>
bool wait_until(F condition, std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

Status publish_and_wait(ClusterState& cluster, const std::string& lun, const LunEvent& event) {
  std::promise<Status> done;
  cluster.publish(lun, event, [&done](Status status) { done.set_value(std::move(status)); });
  return done.get_future().get();
}

Result<VersionedRecord> read_and_wait(ClusterState& cluster, const std::string& lun) {
  std::promise<Result<VersionedRecord>> done;
  cluster.read_reservation(lun, [&done](Result<VersionedRecord> record) { done.set_value(std::move(record)); });
  return done.get_future().get();
}

Status write_and_wait(ClusterState& cluster, const std::string& lun, uint64_t version, std::string bytes) {
  std::promise<Status> done;
  cluster.write_reservation(lun, version, std::move(bytes), false,
                            [&done](Status status) { done.set_value(std::move(status)); });
  return done.get_future().get();
}

// Writes a new object through `connection`: what a fenced client gets is -EBLOCKLISTED (-108).
int probe_write(ceph::RadosConnection& connection) {
  auto ioctx = connection.open_pool(testing::ceph_pool());
  if (!ioctx.ok()) return -EIO;
  const std::string probe = testing::unique_name("fence-probe");
  const int ret = rados_write_full(*ioctx, probe.c_str(), "x", 1);
  rados_ioctx_destroy(*ioctx);
  return ret;
}

// Records what a subscriber received.
struct Recorder {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<LunEvent> events;

  void add(const LunEvent& event) {
    {
      std::lock_guard lock(mutex);
      events.push_back(event);
    }
    changed.notify_all();
  }
  size_t count(LunEvent::Kind kind) {
    std::lock_guard lock(mutex);
    return static_cast<size_t>(std::count_if(events.begin(), events.end(),
                                             [kind](const LunEvent& e) { return e.kind == kind; }));
  }
};

ClusterState::EventHandler applying(Recorder& recorder) {
  return [&recorder](const LunEvent& event, UniqueFunction<void()> applied) {
    recorder.add(event);
    applied();
  };
}

TEST(RadosClusterState, Gateways_GetDistinctIds_AndKeepThemAcrossARestart) {
  const auto object = testing::unique_name("portico.gateways.test");
  auto a = start_gateway(object, "gw-a");
  auto b = start_gateway(object, "gw-b");
  ASSERT_TRUE(a.state && b.state);
  EXPECT_NE(a.state->local_target_port_group(), b.state->local_target_port_group());
  EXPECT_EQ(a.state->local_target_port_group(), a.state->local_relative_port_id());
  EXPECT_EQ(b.state->local_target_port_group(), b.state->local_relative_port_id());
  const uint16_t b_id = b.state->local_target_port_group();
  b.state.reset();
  b.connection.reset();
  auto c = start_gateway(object, "gw-c");
  auto b_again = start_gateway(object, "gw-b");
  ASSERT_TRUE(c.state && b_again.state);
  EXPECT_EQ(b_again.state->local_target_port_group(), b_id);
  EXPECT_NE(c.state->local_target_port_group(), b_id);
  EXPECT_NE(c.state->local_target_port_group(), a.state->local_target_port_group());
}

TEST(RadosClusterState, TargetPortGroups_ListEveryGateway_AndAStoppedOneBecomesUnavailableAfterTheLease) {
  const auto object = testing::unique_name("portico.gateways.test");
  auto a = start_gateway(object, "gw-a");
  auto b = start_gateway(object, "gw-b");
  auto c = start_gateway(object, "gw-c");
  ASSERT_TRUE(a.state && b.state && c.state);
  const uint16_t c_id = c.state->local_target_port_group();
  ASSERT_TRUE(wait_until([&]() { return a.state->target_port_groups().size() == 3; }, 5s));
  for (const auto& group : a.state->target_port_groups()) {
    EXPECT_EQ(group.state, AluaState::active_optimized) << "group " << group.id;
    ASSERT_EQ(group.relative_port_ids.size(), 1u);
    EXPECT_EQ(group.relative_port_ids[0], group.id);
  }
  c.state.reset();
  const auto stopped = Clock::now();
  auto state_of_c = [&]() {
    for (const auto& group : a.state->target_port_groups()) {
      if (group.id == c_id) return group.state;
    }
    return AluaState::transitioning;
  };
  ASSERT_TRUE(wait_until([&]() { return state_of_c() == AluaState::unavailable; }, 10s));
  EXPECT_GE(Clock::now() - stopped, 2s);  // not before the lease (3 s from the last heartbeat)
  for (const auto& group : b.state->target_port_groups()) {
    if (group.id != c_id) {
      EXPECT_EQ(group.state, AluaState::active_optimized);
    }
  }
}

TEST(RadosClusterState, LunIdentity_IsTheSameOnEveryGatewayAndInTheLocalImplementation) {
  const auto object = testing::unique_name("portico.gateways.test");
  auto a = start_gateway(object, "gw-a");
  auto b = start_gateway(object, "gw-b");
  ASSERT_TRUE(a.state && b.state);
  LocalClusterState local;
  for (const std::string key : {"iqn.2026-11.io.portico:quickstart lun 0", "rbd/vm-disk-3"}) {
    auto from_a = a.state->lun_identity(key);
    auto from_b = b.state->lun_identity(key);
    auto from_local = local.lun_identity(key);
    ASSERT_TRUE(from_a.ok() && from_b.ok() && from_local.ok());
    EXPECT_EQ(from_a->naa, from_b->naa);
    EXPECT_EQ(from_a->serial, from_b->serial);
    EXPECT_EQ(from_a->naa, from_local->naa);
    EXPECT_EQ(from_a->serial, from_local->serial);
  }
}

TEST(RadosClusterState, Publish_ReachesEveryGateway_AndDoneWaitsForEveryApplied) {
  const auto object = testing::unique_name("portico.gateways.test");
  const auto lun = testing::unique_name("lun publish");
  auto a = start_gateway(object, "gw-a");
  auto b = start_gateway(object, "gw-b");
  ASSERT_TRUE(a.state && b.state);
  Recorder on_a;
  Recorder on_b;
  std::atomic<bool> b_applied{false};
  std::thread late;
  auto sub_a = a.state->subscribe(lun, applying(on_a));
  auto sub_b = b.state->subscribe(lun, [&](const LunEvent& event, UniqueFunction<void()> applied) {
    on_b.add(event);
    if (event.kind != LunEvent::Kind::logical_unit_reset) return applied();
    late = std::thread([&b_applied, applied = std::move(applied)]() mutable {
      std::this_thread::sleep_for(400ms);  // the aborted tasks end late
      b_applied = true;
      applied();
    });
  });

  LunEvent event;
  event.kind = LunEvent::Kind::logical_unit_reset;
  event.origin_nexus = "iqn.1993-08.org.debian:01:a,i,0x1,iqn.2026-11.io.portico:t,t,0x1";
  const auto started = Clock::now();
  auto status = publish_and_wait(*a.state, lun, event);
  const auto elapsed = Clock::now() - started;
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_TRUE(b_applied.load()) << "done ran before B applied the event";
  EXPECT_GE(elapsed, 400ms);
  EXPECT_EQ(on_a.count(LunEvent::Kind::logical_unit_reset), 1u);
  ASSERT_EQ(on_b.count(LunEvent::Kind::logical_unit_reset), 1u);
  EXPECT_EQ(on_b.events.back().origin_nexus, event.origin_nexus);
  late.join();

  // The round trip when every gateway applies at once.
  LunEvent changed;
  changed.kind = LunEvent::Kind::reservation_changed;
  changed.abort_tasks_of.push_back({"iqn.1993-08.org.debian:01:b", ""});
  std::vector<double> micros;
  for (int i = 0; i < 50; ++i) {
    const auto t0 = Clock::now();
    ASSERT_TRUE(publish_and_wait(*b.state, lun, changed).ok());
    micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::sort(micros.begin(), micros.end());
  std::printf("notify round trip to 2 gateways: p50 %.0f us, p99 %.0f us\n", micros[25], micros[49]);
  EXPECT_EQ(on_a.count(LunEvent::Kind::reservation_changed), 50u);
  EXPECT_EQ(on_b.count(LunEvent::Kind::reservation_changed), 50u);
}

TEST(RadosClusterState, GuardedWriteRace_OneGatewayWins_TheOtherGetsBusy) {
  const auto object = testing::unique_name("portico.gateways.test");
  const auto lun = testing::unique_name("lun race");
  auto a = start_gateway(object, "gw-a");
  auto b = start_gateway(object, "gw-b");
  ASSERT_TRUE(a.state && b.state);
  auto empty = read_and_wait(*a.state, lun);
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_EQ(empty->version, 0u);
  EXPECT_TRUE(empty->bytes.empty());

  std::vector<double> micros;
  for (uint64_t version = 0; version < 20; ++version) {
    std::promise<Status> from_a;
    std::promise<Status> from_b;
    const auto t0 = Clock::now();
    a.state->write_reservation(lun, version, "A" + std::to_string(version), true,
                               [&](Status s) { from_a.set_value(std::move(s)); });
    b.state->write_reservation(lun, version, "B" + std::to_string(version), true,
                               [&](Status s) { from_b.set_value(std::move(s)); });
    const Status sa = from_a.get_future().get();
    const Status sb = from_b.get_future().get();
    micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    ASSERT_NE(sa.ok(), sb.ok()) << "version " << version << ": " << sa.message() << " / " << sb.message();
    const Status& loser = sa.ok() ? sb : sa;
    EXPECT_EQ(loser.code(), ErrorCode::busy) << loser.message();
    auto record = read_and_wait(*(sa.ok() ? b.state : a.state), lun);  // the loser re-reads
    ASSERT_TRUE(record.ok()) << record.status().message();
    EXPECT_EQ(record->version, version + 1);
    EXPECT_EQ(record->bytes, (sa.ok() ? "A" : "B") + std::to_string(version));
  }
  std::sort(micros.begin(), micros.end());
  std::printf("two racing guarded writes: p50 %.0f us, max %.0f us\n", micros[10], micros.back());
  // A stale version is refused whatever the version is.
  EXPECT_EQ(write_and_wait(*a.state, lun, 3, "stale").code(), ErrorCode::busy);
  EXPECT_EQ(write_and_wait(*a.state, lun, 0, "stale").code(), ErrorCode::busy);
}

TEST(RadosClusterState, ReservationRecord_SurvivesEveryGatewayRestarting) {
  const auto object = testing::unique_name("portico.gateways.test");
  const auto lun = testing::unique_name("lun restart");
  {
    auto a = start_gateway(object, "gw-a");
    ASSERT_TRUE(a.state);
    ASSERT_TRUE(write_and_wait(*a.state, lun, 0, std::string("record\0bytes", 12)).ok());
  }
  auto a = start_gateway(object, "gw-a");
  ASSERT_TRUE(a.state);
  auto record = read_and_wait(*a.state, lun);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->version, 1u);
  EXPECT_EQ(record->bytes, std::string("record\0bytes", 12));
}

TEST(RadosClusterState, GatewayWhoseHandlerNeverApplies_IsBlocklisted_AndLearnsItsStateIsUnknown) {
  const auto object = testing::unique_name("portico.gateways.test");
  const auto lun = testing::unique_name("lun fence");
  auto a = start_gateway(object, "gw-a");
  auto b = start_gateway(object, "gw-b");
  ASSERT_TRUE(a.state && b.state);
  Recorder on_a;
  Recorder on_b;
  std::vector<UniqueFunction<void()>> never_applied;  // B's handler keeps them and never calls
  std::mutex never_mutex;
  auto sub_a = a.state->subscribe(lun, applying(on_a));
  auto sub_b = b.state->subscribe(lun, [&](const LunEvent& event, UniqueFunction<void()> applied) {
    on_b.add(event);
    std::lock_guard lock(never_mutex);
    never_applied.push_back(std::move(applied));
  });
  // B is known by its heartbeat record (its address is what gets blocklisted).
  ASSERT_TRUE(wait_until([&]() { return a.state->target_port_groups().size() == 2; }, 5s));

  LunEvent event;
  event.kind = LunEvent::Kind::reservation_changed;
  const auto started = Clock::now();
  auto status = publish_and_wait(*a.state, lun, event);
  const auto elapsed = Clock::now() - started;
  EXPECT_TRUE(status.ok()) << status.message();
  std::printf("publish with one silent gateway: done after %lld ms (notify timeout 2000 ms, then fencing)\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));
  EXPECT_GE(elapsed, 2s);
  EXPECT_LT(elapsed, 15s);
  EXPECT_EQ(on_a.count(LunEvent::Kind::reservation_changed), 1u);

  // B's client can no longer write anything.
  const int ret = probe_write(*b.connection);
  EXPECT_EQ(ret, -108) << "a write from the fenced gateway: " << ceph::rados_error_text(ret);
  EXPECT_TRUE(wait_until([&]() { return on_b.count(LunEvent::Kind::state_unknown) >= 1; }, 30s));
  EXPECT_EQ(on_b.count(LunEvent::Kind::state_current), 0u);  // a blocklisted client never recovers
  EXPECT_EQ(on_a.count(LunEvent::Kind::state_unknown), 0u);
  sub_b.reset();
  {
    std::lock_guard lock(never_mutex);
    never_applied.clear();
  }
}

std::vector<std::string> notify_raw(ceph::RadosConnection& connection, const std::string& lun,
                                    const std::string& payload) {
  return testing::notify_and_collect_answers(connection, lun_object_name(lun), payload);
}

TEST(RadosClusterState, UndecodableNotify_IsRefused_AndTheUnitStopsServingBeforeTheRefusalUntilItReReads) {
  const auto object = testing::unique_name("portico.gateways.test");
  const auto lun = testing::unique_name("lun garbage");
  auto a = start_gateway(object, "gw-a");
  ASSERT_TRUE(a.state);
  Recorder on_a;
  auto sub = a.state->subscribe(lun, applying(on_a));
  auto other = connect_gateway();
  ASSERT_TRUE(other);

  // A newer format version: refused naming it, and the unit was told to stop serving before the
  // refusal left (the publisher may act on the refusal at once).
  auto answers = notify_raw(*other, lun, std::string("PLEV\x07 not an event of this release"));
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].rfind("error: ", 0), 0u) << answers[0];
  EXPECT_NE(answers[0].find("format version 7"), std::string::npos) << answers[0];
  EXPECT_EQ(on_a.count(LunEvent::Kind::state_unknown), 1u) << "the refusal left before the unit stopped serving";
  // Then it re-reads (state_current), and nothing of the refused event reaches it.
  EXPECT_TRUE(wait_until([&]() { return on_a.count(LunEvent::Kind::state_current) == 1; }, 5s));
  {
    std::lock_guard lock(on_a.mutex);
    ASSERT_EQ(on_a.events.size(), 2u);
    EXPECT_EQ(on_a.events[0].kind, LunEvent::Kind::state_unknown);
    EXPECT_EQ(on_a.events[1].kind, LunEvent::Kind::state_current);
  }

  // A kind this release does not know, in a version it reads: refused the same way.
  answers = notify_raw(*other, lun, std::string("PLEV\x01\x40\x00\x00\x00\x00\x00\x00\x00\x00", 14));
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_NE(answers[0].find("kind 64"), std::string::npos) << answers[0];
  EXPECT_EQ(on_a.count(LunEvent::Kind::state_unknown), 2u);
  EXPECT_TRUE(wait_until([&]() { return on_a.count(LunEvent::Kind::state_current) == 2; }, 5s));

  // A well-formed event still goes through afterwards, acknowledged with no error.
  LunEvent event;
  event.kind = LunEvent::Kind::capacity_changed;
  EXPECT_TRUE(publish_and_wait(*a.state, lun, event).ok());
  EXPECT_EQ(on_a.count(LunEvent::Kind::capacity_changed), 1u);
}

TEST(RadosClusterState, AGatewayThatRefusesAnEvent_IsFencedLikeASilentOne_BeforeThePublishCompletes) {
  const auto object = testing::unique_name("portico.gateways.test");
  const auto lun = testing::unique_name("lun refused");
  auto a = start_gateway(object, "gw-a");
  auto b = start_gateway(object, "gw-b");  // registered; its watch answers as an older release
  ASSERT_TRUE(a.state && b.state);
  Recorder on_a;
  auto sub_a = a.state->subscribe(lun, applying(on_a));
  testing::RefusingWatcher old_b(b.connection, lun_object_name(lun));
  ASSERT_TRUE(old_b.watching());
  ASSERT_TRUE(wait_until([&]() { return a.state->target_port_groups().size() == 2; }, 5s));

  LunEvent event;
  event.kind = LunEvent::Kind::reservation_changed;
  event.abort_tasks_of.push_back({"iqn.1993-08.org.debian:01:b", ""});
  const auto started = Clock::now();
  auto status = publish_and_wait(*a.state, lun, event);
  const auto elapsed = Clock::now() - started;
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(old_b.refused(), 1);
  EXPECT_EQ(on_a.count(LunEvent::Kind::reservation_changed), 1u);
  std::printf("publish refused by one gateway: done after %lld ms (fenced, then its lease)\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));
  // Not before the refuser's lease has run out from the end of fencing (stale_after: 2.5 s here).
  EXPECT_GE(elapsed, 2s);
  EXPECT_LT(elapsed, 20s);

  // The refuser's client can no longer write anything.
  const int ret = probe_write(*b.connection);
  EXPECT_EQ(ret, -108) << "a write from the gateway that refused: " << ceph::rados_error_text(ret);
}

TEST(RadosClusterState, ARefusalFromAWatcherThatCannotBeFenced_FailsThePublishNamingIt) {
  const auto object = testing::unique_name("portico.gateways.test");
  const auto lun = testing::unique_name("lun refused unfenced");
  auto a = start_gateway(object, "gw-a");
  ASSERT_TRUE(a.state);
  Recorder on_a;
  auto sub_a = a.state->subscribe(lun, applying(on_a));
  auto stranger = connect_gateway();  // no membership record: its address is unknown
  ASSERT_TRUE(stranger);
  testing::RefusingWatcher refuser(stranger, lun_object_name(lun));
  ASSERT_TRUE(refuser.watching());

  LunEvent event;
  event.kind = LunEvent::Kind::logical_unit_reset;
  auto status = publish_and_wait(*a.state, lun, event);
  EXPECT_FALSE(status.ok()) << "a publish that a watcher refused and nobody fenced completed";
  const std::string id = "client." + std::to_string(stranger->instance_id());
  EXPECT_NE(status.message().find(id + " refused it"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("cannot fence"), std::string::npos) << status.message();
  EXPECT_EQ(on_a.count(LunEvent::Kind::logical_unit_reset), 1u);
}

TEST(RadosClusterState, DestroyedSubscription_GetsNoMoreEvents_WhileOthersDo) {
  const auto object = testing::unique_name("portico.gateways.test");
  const auto lun = testing::unique_name("lun unsubscribe");
  auto a = start_gateway(object, "gw-a");
  ASSERT_TRUE(a.state);
  Recorder first;
  Recorder second;
  auto sub_first = a.state->subscribe(lun, applying(first));
  auto sub_second = a.state->subscribe(lun, applying(second));
  LunEvent event;
  event.kind = LunEvent::Kind::access_state_changed;
  ASSERT_TRUE(publish_and_wait(*a.state, lun, event).ok());
  sub_first.reset();
  ASSERT_TRUE(publish_and_wait(*a.state, lun, event).ok());
  EXPECT_EQ(first.count(LunEvent::Kind::access_state_changed), 1u);
  EXPECT_EQ(second.count(LunEvent::Kind::access_state_changed), 2u);
  sub_second.reset();
  // No watcher left: publishing still completes.
  EXPECT_TRUE(publish_and_wait(*a.state, lun, event).ok());
}

}  // namespace
}  // namespace portico::cluster::rados
