// Events over RADOS watch/notify. Each gateway watches the object of every LUN it serves
// (portico.lun.<key>, object_names.h) once, however many subscribers it has for it; a notify
// carries an encoded LunEvent (lun_event_codec.h).
//
// Receiving: a notify is decoded and handed to every subscriber; the notify is acknowledged
// only when every subscriber has called `applied`. A notify that does not decode (a newer
// format version or kind, or malformed) is refused: the LUN's subscribers get state_unknown
// (they stop serving) before the notify is acknowledged with the payload "error: <why>", then
// state_current (they re-read the state) unless the watch was lost meanwhile.
// Publishing: rados_aio_notify with the notify timeout. Every watcher that timed out or answered
// "error: ..." did not apply the event and is fenced (fencing.h) before `done` runs, and `done`
// waits until its lease has run out too (stale_after from the notify timeout, or from the end
// of fencing for a watcher that refused), for an OSD may apply its writes until the blocklist's
// map reaches it. `done` fails (naming the watcher) only when such a watcher cannot be fenced.
// Losing the channel: the watch error callback, or a rados_watch_check (from the heartbeat)
// that fails or reports a confirmation older than `stale_after`, delivers state_unknown to the
// LUN's subscribers once; the watch is then re-established in the background with backoff and
// state_current follows. A blocklisted client never recovers by itself and stays unknown.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/rados/fencing.h"
#include "cluster/rados/pool.h"
#include "ceph/worker.h"
#include "core/cluster_state.h"

namespace portico::cluster::rados {

struct EventChannelOptions {
  uint32_t watch_timeout_s = 10;
  std::chrono::milliseconds notify_timeout{5000};
  std::chrono::milliseconds stale_after{5000};
  std::shared_ptr<ClusterMetrics> metrics;  // counted into when set
};

class EventChannel : public std::enable_shared_from_this<EventChannel> {
 public:
  EventChannel(std::shared_ptr<Pool> pool, EventChannelOptions options, std::shared_ptr<Fencer> fencer);
  ~EventChannel();
  EventChannel(const EventChannel&) = delete;
  EventChannel& operator=(const EventChannel&) = delete;

  // Blocking the first time a LUN is subscribed (creates the object if missing, watches it).
  std::unique_ptr<EventSubscription> subscribe(const std::string& lun_key, ClusterState::EventHandler handler);
  void publish(const std::string& lun_key, const LunEvent& event, UniqueFunction<void(Status)> done);
  // Hands `kind` to every subscriber of every LUN on this gateway (from the worker thread),
  // without RADOS: for what each gateway derives itself, such as ALUA changes from membership.
  void deliver_to_all(LunEvent::Kind kind);
  // From the heartbeat thread: rados_watch_check on every watch (no round trip). Returns until
  // when the watches prove the state current (stale_after from now when there are none): a lost
  // watch keeps the value of its last working check, so the gateway's lease runs out on time
  // even before the unit has heard state_unknown (one lost watch stops every unit of the gateway
  // until then).
  std::chrono::steady_clock::time_point check_watches();
  // Stops the worker, unwatches everything and flushes librados' watch callbacks (blocking).
  // No subscriber runs after it returns.
  void shutdown();

 private:
  struct HandlerSlot;
  struct LunWatch;
  struct NotifyOp;
  class Subscription;

  // The watches of the subscribed LUNs, taken under the lock.
  std::vector<std::shared_ptr<LunWatch>> subscribed_watches();
  int establish(LunWatch& watch, uint64_t* cookie);
  std::shared_ptr<LunWatch> find_watch(const LunWatch* raw);  // null once unsubscribed
  void mark_lost(LunWatch& watch, const std::string& why);  // watch.mutex held
  // A notify that does not decode: stop serving, answer "error: ...", then re-read.
  static void refuse(LunWatch& watch, uint64_t notify_id, uint64_t cookie, uint64_t notifier_id, const Status& why);
  void rewatch(const std::shared_ptr<LunWatch>& watch);
  void unsubscribe(const std::shared_ptr<LunWatch>& watch, const std::shared_ptr<HandlerSlot>& slot);
  static void complete_publish(std::unique_ptr<NotifyOp> op, Status fenced);

  static void on_notify(void* arg, uint64_t notify_id, uint64_t cookie, uint64_t notifier_id, void* data,
                        size_t length);
  static void on_watch_error(void* arg, uint64_t cookie, int err);
  static void on_notify_complete(rados_completion_t completion, void* arg);

  std::shared_ptr<Pool> pool_;
  EventChannelOptions options_;
  std::shared_ptr<Fencer> fencer_;
  ceph::Worker worker_;
  std::mutex mutex_;
  bool shut_down_ = false;
  std::map<std::string, std::shared_ptr<LunWatch>> watches_;
  std::vector<std::shared_ptr<LunWatch>> closing_;  // unsubscribed, not yet unwatched and flushed
};

}  // namespace portico::cluster::rados
