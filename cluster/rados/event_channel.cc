#include "cluster/rados/event_channel.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <span>
#include <vector>

#include "cluster/rados/lun_event_codec.h"
#include "cluster/rados/object_names.h"

namespace portico::cluster::rados {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{250};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
constexpr const char* kErrorPrefix = "error: ";

// Acknowledges one notify once every subscriber has applied it.
struct Ack {
  std::shared_ptr<Pool> pool;
  std::string object;
  uint64_t notify_id = 0;
  uint64_t cookie = 0;
  std::atomic<size_t> remaining{1};

  void release() {
    if (remaining.fetch_sub(1) != 1) return;
    const int ret = rados_notify_ack(pool->ioctx(), object.c_str(), notify_id, cookie, nullptr, 0);
    if (ret < 0) spdlog::warn("cluster: {}: rados_notify_ack: {}", pool->where(object), ceph::rados_error_text(ret));
  }
};

}  // namespace

// One subscriber's handler. Invocations hold `mutex`, so deactivate() returns only when no
// invocation is running (a handler that drops its own subscription re-enters on its thread).
struct EventChannel::HandlerSlot {
  std::recursive_mutex mutex;
  bool active = true;
  ClusterState::EventHandler handler;

  void invoke(const LunEvent& event, UniqueFunction<void()> applied) {
    std::lock_guard lock(mutex);
    if (!active) return applied();  // unsubscribed: nothing left here to apply it to
    handler(event, std::move(applied));
  }
  void deactivate() {
    std::lock_guard lock(mutex);
    active = false;
  }
};

struct EventChannel::LunWatch {
  enum class State { current, lost, blocklisted, closed };

  EventChannel* owner = nullptr;  // valid while state != closed
  std::shared_ptr<Pool> pool;
  std::shared_ptr<ClusterMetrics> metrics;  // the channel's (may be null), kept for callbacks
  std::string lun_key;
  std::string object;
  std::mutex mutex;
  std::vector<std::shared_ptr<HandlerSlot>> slots;
  uint64_t cookie = 0;
  State state = State::current;  // until the first watch fails
  std::chrono::milliseconds backoff = kFirstBackoff;
  // Until when this watch proves the state current: renewed by every check that finds it
  // working, kept as it was once it is lost (so the lease runs out on time, even before the
  // unit has heard state_unknown).
  std::chrono::steady_clock::time_point proven_until;

  std::vector<std::shared_ptr<HandlerSlot>> copy_slots() {
    std::lock_guard lock(mutex);
    return slots;
  }
  void deliver(LunEvent::Kind kind) {
    LunEvent event;
    event.kind = kind;
    for (auto& slot : copy_slots()) slot->invoke(event, []() {});
  }
};

class EventChannel::Subscription final : public EventSubscription {
 public:
  Subscription(std::weak_ptr<EventChannel> channel, std::shared_ptr<LunWatch> watch, std::shared_ptr<HandlerSlot> slot)
      : channel_(std::move(channel)), watch_(std::move(watch)), slot_(std::move(slot)) {}
  ~Subscription() override {
    slot_->deactivate();
    if (auto channel = channel_.lock()) channel->unsubscribe(watch_, slot_);
  }

 private:
  std::weak_ptr<EventChannel> channel_;
  std::shared_ptr<LunWatch> watch_;
  std::shared_ptr<HandlerSlot> slot_;
};

struct EventChannel::NotifyOp {
  std::weak_ptr<EventChannel> channel;
  std::shared_ptr<Pool> pool;
  std::string lun_key;
  std::string object;
  std::string payload;
  UniqueFunction<void(Status)> done;
  rados_completion_t completion = nullptr;
  char* reply = nullptr;
  size_t reply_length = 0;
  std::chrono::steady_clock::time_point started;
  // From the reply:
  int result = 0;
  std::vector<uint64_t> timed_out;
  std::vector<uint64_t> refused;  // watchers that answered "error: ...": did not apply it
  std::string refusals;           // what they said

  ~NotifyOp() {
    if (reply != nullptr) rados_buffer_free(reply);
    if (completion != nullptr) rados_aio_release(completion);
  }
  [[nodiscard]] std::string where() const { return "lun " + lun_key + ": " + pool->where(object); }
};

EventChannel::EventChannel(std::shared_ptr<Pool> pool, EventChannelOptions options, std::shared_ptr<Fencer> fencer)
    : pool_(std::move(pool)), options_(options), fencer_(std::move(fencer)), worker_("rados-events") {}

EventChannel::~EventChannel() { shutdown(); }

int EventChannel::establish(LunWatch& watch, uint64_t* cookie) {
  rados_write_op_t create = rados_create_write_op();
  rados_write_op_create(create, LIBRADOS_CREATE_IDEMPOTENT, nullptr);
  int ret = rados_write_op_operate(create, pool_->ioctx(), watch.object.c_str(), nullptr, LIBRADOS_OPERATION_NOFLAG);
  rados_release_write_op(create);
  if (ret < 0) {
    spdlog::warn("cluster: lun {}: {}: rados_write_op_operate (create): {}", watch.lun_key,
                 pool_->where(watch.object), ceph::rados_error_text(ret));
    return ret;
  }
  ret = rados_watch3(pool_->ioctx(), watch.object.c_str(), cookie, &EventChannel::on_notify,
                     &EventChannel::on_watch_error, options_.watch_timeout_s, &watch);
  if (ret < 0) {
    spdlog::warn("cluster: lun {}: {}: rados_watch3: {}", watch.lun_key, pool_->where(watch.object),
                 ceph::rados_error_text(ret));
  }
  return ret;
}

std::unique_ptr<EventSubscription> EventChannel::subscribe(const std::string& lun_key,
                                                           ClusterState::EventHandler handler) {
  auto slot = std::make_shared<HandlerSlot>();
  slot->handler = std::move(handler);
  std::lock_guard lock(mutex_);
  auto& watch = watches_[lun_key];
  if (!watch) {
    watch = std::make_shared<LunWatch>();
    watch->owner = this;
    watch->pool = pool_;
    watch->metrics = options_.metrics;
    watch->lun_key = lun_key;
    watch->object = lun_object_name(lun_key);
    watch->slots.push_back(slot);
    uint64_t cookie = 0;
    const int ret = shut_down_ ? -ECANCELED : establish(*watch, &cookie);
    std::lock_guard watch_lock(watch->mutex);
    if (ret == 0) {
      watch->cookie = cookie;
      watch->state = LunWatch::State::current;
      watch->proven_until = std::chrono::steady_clock::now() + options_.stale_after;
    } else {
      mark_lost(*watch, "cannot watch: " + ceph::rados_error_text(ret));
    }
  } else {
    std::lock_guard watch_lock(watch->mutex);
    watch->slots.push_back(slot);
    if (watch->state != LunWatch::State::current) {
      // This subscriber must not serve either: tell it as the others were told.
      worker_.post([slot]() {
        LunEvent event;
        event.kind = LunEvent::Kind::state_unknown;
        slot->invoke(event, []() {});
      });
    }
  }
  return std::make_unique<Subscription>(weak_from_this(), watch, slot);
}

void EventChannel::unsubscribe(const std::shared_ptr<LunWatch>& watch, const std::shared_ptr<HandlerSlot>& slot) {
  std::lock_guard lock(mutex_);
  std::unique_lock watch_lock(watch->mutex);
  auto& slots = watch->slots;
  slots.erase(std::remove(slots.begin(), slots.end(), slot), slots.end());
  if (!slots.empty() || watch->state == LunWatch::State::closed) return;
  // The last subscriber: stop watching, on the worker (unwatching waits for the OSD). Callbacks
  // already queued may still run with `watch` as their argument, so it stays alive (in
  // closing_) until librados has flushed them; shutdown() finishes any close still pending.
  watch->state = LunWatch::State::closed;
  watch_lock.unlock();
  auto it = watches_.find(watch->lun_key);
  if (it != watches_.end() && it->second == watch) watches_.erase(it);
  closing_.push_back(watch);
  std::weak_ptr<EventChannel> weak = weak_from_this();
  worker_.post([weak, watch]() {
    auto self = weak.lock();
    if (!self) return;
    uint64_t cookie = 0;
    {
      std::lock_guard guard(watch->mutex);
      cookie = std::exchange(watch->cookie, 0);
    }
    if (cookie != 0) rados_unwatch2(self->pool_->ioctx(), cookie);
    rados_watch_flush(self->pool_->cluster());
    std::lock_guard channel_lock(self->mutex_);
    self->closing_.erase(std::remove(self->closing_.begin(), self->closing_.end(), watch), self->closing_.end());
  });
}

void EventChannel::mark_lost(LunWatch& watch, const std::string& why) {
  if (watch.state != LunWatch::State::current) return;  // already told
  watch.state = LunWatch::State::lost;
  spdlog::warn("cluster: lun {}: event channel on {} lost ({}): the unit stops serving until it is re-established",
               watch.lun_key, pool_->where(watch.object), why);
  std::weak_ptr<EventChannel> weak = weak_from_this();
  LunWatch* raw = &watch;
  worker_.post([weak, raw]() {
    auto self = weak.lock();
    if (!self) return;
    auto found = self->find_watch(raw);
    if (!found) return;
    found->deliver(LunEvent::Kind::state_unknown);
    self->rewatch(found);
  });
}

std::shared_ptr<EventChannel::LunWatch> EventChannel::find_watch(const LunWatch* raw) {
  // A watch is owned by watches_ (or by a close in flight, which no longer serves).
  std::lock_guard lock(mutex_);
  for (auto& [key, watch] : watches_) {
    if (watch.get() == raw) return watch;
  }
  return nullptr;
}

void EventChannel::rewatch(const std::shared_ptr<LunWatch>& watch) {
  uint64_t old_cookie = 0;
  {
    std::lock_guard lock(watch->mutex);
    if (watch->state != LunWatch::State::lost) return;
    old_cookie = std::exchange(watch->cookie, 0);
  }
  if (old_cookie != 0) rados_unwatch2(pool_->ioctx(), old_cookie);  // may fail: the OSD dropped it already
  uint64_t cookie = 0;
  const int ret = establish(*watch, &cookie);
  std::unique_lock lock(watch->mutex);
  if (watch->state == LunWatch::State::closed) {
    lock.unlock();
    if (ret == 0) rados_unwatch2(pool_->ioctx(), cookie);
    return;
  }
  if (ret == 0) {
    watch->cookie = cookie;
    watch->state = LunWatch::State::current;
    watch->proven_until = std::chrono::steady_clock::now() + options_.stale_after;
    watch->backoff = kFirstBackoff;
    lock.unlock();
    spdlog::info("cluster: lun {}: event channel on {} re-established", watch->lun_key, pool_->where(watch->object));
    watch->deliver(LunEvent::Kind::state_current);
    return;
  }
  if (ret == -kBlocklisted) {
    watch->state = LunWatch::State::blocklisted;
    lock.unlock();
    spdlog::error("cluster: lun {}: this gateway's RADOS client ({}) is blocklisted: another gateway fenced it. "
                  "The unit stays out of service",
                  watch->lun_key, pool_->connection().address());
    pool_->report_blocklisted("re-watching lun " + watch->lun_key);
    return;
  }
  const auto delay = watch->backoff;
  watch->backoff = std::min(watch->backoff * 2, kMaxBackoff);
  lock.unlock();
  std::weak_ptr<EventChannel> weak = weak_from_this();
  worker_.post(
      [weak, watch]() {
        if (auto self = weak.lock()) self->rewatch(watch);
      },
      delay);
}

std::vector<std::shared_ptr<EventChannel::LunWatch>> EventChannel::subscribed_watches() {
  std::vector<std::shared_ptr<LunWatch>> watches;
  std::lock_guard lock(mutex_);
  for (auto& [key, watch] : watches_) watches.push_back(watch);
  return watches;
}

std::chrono::steady_clock::time_point EventChannel::check_watches() {
  const auto watches = subscribed_watches();
  // Each watch proves the state current until its last confirmation + stale_after; a lost one
  // keeps the value of its last working check, so that losing it never extends the lease. With
  // no watch yet (start-up) this check itself proves as much: a frozen gateway's lease still
  // runs out, from its last check.
  auto proven_until = std::chrono::steady_clock::now() + options_.stale_after;
  for (auto& watch : watches) {
    std::lock_guard lock(watch->mutex);
    if (watch->state == LunWatch::State::current) {
      const auto now = std::chrono::steady_clock::now();
      const int age_ms = rados_watch_check(pool_->ioctx(), watch->cookie);
      if (age_ms < 0) {
        mark_lost(*watch, "rados_watch_check: " + ceph::rados_error_text(age_ms));
      } else if (age_ms > options_.stale_after.count()) {
        mark_lost(*watch, "rados_watch_check: last confirmed " + std::to_string(age_ms) + " ms ago");
      } else {
        watch->proven_until = now - std::chrono::milliseconds(age_ms) + options_.stale_after;
      }
    }
    if (watch->state != LunWatch::State::closed) proven_until = std::min(proven_until, watch->proven_until);
  }
  return proven_until;
}

void EventChannel::on_watch_error(void* arg, uint64_t cookie, int err) {
  auto* watch = static_cast<LunWatch*>(arg);
  std::lock_guard lock(watch->mutex);
  if (watch->state != LunWatch::State::current || watch->cookie != cookie) return;
  watch->owner->mark_lost(*watch, "watch error callback: " + ceph::rados_error_text(err));
}

void EventChannel::on_notify(void* arg, uint64_t notify_id, uint64_t cookie, uint64_t notifier_id, void* data,
                             size_t length) {
  auto* watch = static_cast<LunWatch*>(arg);
  auto event = decode_lun_event(std::span<const uint8_t>(static_cast<const uint8_t*>(data), length));
  if (watch->metrics) {
    (event.ok() ? watch->metrics->events_received : watch->metrics->events_refused)
        .fetch_add(1, std::memory_order_relaxed);
  }
  if (!event.ok()) return refuse(*watch, notify_id, cookie, notifier_id, event.status());
  auto slots = watch->copy_slots();
  auto ack = std::make_shared<Ack>();
  ack->pool = watch->pool;
  ack->object = watch->object;
  ack->notify_id = notify_id;
  ack->cookie = cookie;
  ack->remaining = slots.size() + 1;
  for (auto& slot : slots) {
    slot->invoke(*event, [ack, called = false]() mutable {
      if (!std::exchange(called, true)) ack->release();
    });
  }
  ack->release();
}

void EventChannel::refuse(LunWatch& watch, uint64_t notify_id, uint64_t cookie, uint64_t notifier_id,
                          const Status& why) {
  // An event this gateway cannot decode may have changed anything (a reservation, an abort it
  // should have carried out): the unit's cached state can no longer be trusted. The subscribers
  // stop serving before the refusal is sent, so that the publisher never learns of it while this
  // gateway still serves the old state; the publisher then fences this gateway as it fences one
  // that did not answer. The state is re-read (state_current) once this watch is still current
  // on the worker: the publisher stored its change before it notified, so the re-read sees it.
  spdlog::error("cluster: lun {}: {}: refused an event from client.{} ({}); the unit stops serving until it has "
                "re-read the state",
                watch.lun_key, watch.pool->where(watch.object), notifier_id, why.message());
  EventChannel* owner = nullptr;
  {
    std::lock_guard lock(watch.mutex);
    if (watch.state != LunWatch::State::closed) owner = watch.owner;
  }
  watch.deliver(LunEvent::Kind::state_unknown);
  const std::string reply = kErrorPrefix + why.message();
  const int ret = rados_notify_ack(watch.pool->ioctx(), watch.object.c_str(), notify_id, cookie, reply.data(),
                                   static_cast<int>(reply.size()));
  if (ret < 0) {
    spdlog::warn("cluster: lun {}: {}: rados_notify_ack (refusal): {}", watch.lun_key, watch.pool->where(watch.object),
                 ceph::rados_error_text(ret));
  }
  if (owner == nullptr) return;
  LunWatch* raw = &watch;
  owner->worker_.post([weak = owner->weak_from_this(), raw]() {
    auto self = weak.lock();
    if (!self) return;
    auto found = self->find_watch(raw);
    if (!found) return;
    {
      std::lock_guard lock(found->mutex);
      // Lost meanwhile: re-watching delivers state_current itself (and a blocklisted or closed
      // watch never serves again).
      if (found->state != LunWatch::State::current) return;
    }
    found->deliver(LunEvent::Kind::state_current);
  });
}

void EventChannel::publish(const std::string& lun_key, const LunEvent& event, UniqueFunction<void(Status)> done) {
  auto payload = encode_lun_event(event);
  if (!payload.ok()) return done(error(payload.status().code(), "lun " + lun_key + ": " + payload.status().message()));
  if (auto metrics = options_.metrics) {
    // Counted when it ends: applied on every gateway (fencing the silent ones), or failed.
    done = [metrics, done = std::move(done)](Status status) mutable {
      (status.ok() ? metrics->events_published : metrics->events_publish_failed).fetch_add(1, std::memory_order_relaxed);
      done(std::move(status));
    };
  }
  auto op = std::make_unique<NotifyOp>();
  op->channel = weak_from_this();
  op->pool = pool_;
  op->lun_key = lun_key;
  op->object = lun_object_name(lun_key);
  op->payload = std::move(*payload);
  op->done = std::move(done);
  op->started = std::chrono::steady_clock::now();
  rados_aio_create_completion2(op.get(), &EventChannel::on_notify_complete, &op->completion);
  const int ret = rados_aio_notify(pool_->ioctx(), op->object.c_str(), op->completion, op->payload.data(),
                                   static_cast<int>(op->payload.size()),
                                   static_cast<uint64_t>(options_.notify_timeout.count()), &op->reply,
                                   &op->reply_length);
  if (ret < 0) return op->done(error(ErrorCode::io_error, op->where() + ": rados_aio_notify: " + ceph::rados_error_text(ret)));
  op.release();  // owned by the completion now
}

void EventChannel::on_notify_complete(rados_completion_t, void* arg) {
  std::unique_ptr<NotifyOp> op(static_cast<NotifyOp*>(arg));
  op->result = rados_aio_get_return_value(op->completion);
  if (op->reply != nullptr && op->reply_length != 0) {
    notify_ack_t* acks = nullptr;
    notify_timeout_t* timeouts = nullptr;
    size_t ack_count = 0;
    size_t timeout_count = 0;
    if (rados_decode_notify_response(op->reply, op->reply_length, &acks, &ack_count, &timeouts, &timeout_count) == 0) {
      for (size_t i = 0; i < ack_count; ++i) {
        const std::string answer(acks[i].payload != nullptr ? acks[i].payload : "", acks[i].payload_len);
        if (answer.rfind(kErrorPrefix, 0) == 0) {
          op->refused.push_back(acks[i].notifier_id);
          op->refusals += (op->refusals.empty() ? "" : "; ") + std::string("client.") +
                          std::to_string(acks[i].notifier_id) + " refused it (" + answer + ")";
        }
      }
      for (size_t i = 0; i < timeout_count; ++i) op->timed_out.push_back(timeouts[i].notifier_id);
      rados_free_notify_response(acks, ack_count, timeouts);
    }
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - op->started).count();
  if (auto channel = op->channel.lock(); channel && channel->options_.metrics) {
    channel->options_.metrics->notify_round_trip.add(static_cast<uint64_t>(ms) * 1000);
  }
  spdlog::debug("cluster: {}: notify answered in {} us ({}, {} timed out)", op->where(), ms,
                ceph::rados_error_text(op->result), op->timed_out.size());
  if (op->timed_out.empty() && op->refused.empty()) return complete_publish(std::move(op), Status{});
  if (!op->refused.empty()) {
    spdlog::warn("cluster: {}: {}; fencing it as a gateway that did not answer", op->where(), op->refusals);
  }
  // A watcher that refused the event did not apply it, exactly like one that did not answer: it
  // may run a release that serves its old state on (one before refusals stopped the unit), and
  // even one that stopped serving may still have writes in flight that the event would have
  // aborted. Completing the command as GOOD, or failing it and leaving that gateway serving, are
  // both unsafe; blocklisting it is what makes the event hold everywhere, so it is fenced like a
  // silent gateway. (A release that adds a kind should therefore publish it only once every
  // gateway reads that format version: lun_event_codec.h.)
  //
  // Fencing blocks on the monitors: on the worker, never on librados' callback thread. If the
  // worker stops first, `done` still runs (with an error) when the pending fence is dropped.
  struct PendingFence {
    std::unique_ptr<NotifyOp> op;
    ~PendingFence() {
      if (op) op->done(error(ErrorCode::closed, op->where() + ": cluster state stopped before the watchers that "
                                                              "did not apply an event could be fenced"));
    }
  };
  auto pending = std::make_shared<PendingFence>();
  pending->op = std::move(op);
  auto channel = pending->op->channel.lock();
  if (!channel) return;
  channel->worker_.post([pending]() {
    std::unique_ptr<NotifyOp> owned = std::move(pending->op);
    std::string why = owned->where() + ": ";
    if (!owned->timed_out.empty()) {
      std::string ids;
      for (uint64_t id : owned->timed_out) ids += (ids.empty() ? "client." : ", client.") + std::to_string(id);
      why += ids + " did not acknowledge an event within the notify timeout";
    }
    if (!owned->refused.empty()) why += (owned->timed_out.empty() ? "" : "; ") + owned->refusals;
    auto self = owned->channel.lock();
    if (!self) return complete_publish(std::move(owned), error(ErrorCode::closed, why + "; cluster state stopped before fencing"));
    std::vector<uint64_t> fence = owned->timed_out;
    fence.insert(fence.end(), owned->refused.begin(), owned->refused.end());
    Status fenced = self->fencer_->fence_instances(fence, why);
    // An OSD that has not received the blocklist's map yet still applies the fenced gateway's
    // writes. What bounds that gateway without the OSDs is its lease: a watch last confirmed
    // before the notify timed out stops proving its state current `stale_after` later. A
    // gateway that refused is alive and its watch stays confirmed until the blocklist reaches
    // its OSD, so for it the lease runs from the end of fencing. Until then the event is not
    // complete.
    auto lease_over = owned->started + self->options_.notify_timeout + self->options_.stale_after;
    if (!owned->refused.empty()) {
      lease_over = std::max(lease_over, std::chrono::steady_clock::now() + self->options_.stale_after);
    }
    const auto wait = lease_over - std::chrono::steady_clock::now();
    if (!fenced.ok() || wait <= std::chrono::steady_clock::duration::zero()) {
      return complete_publish(std::move(owned), std::move(fenced));
    }
    spdlog::info("cluster: {}: completes in {} ms, when the fenced gateway's lease has run out", owned->where(),
                 std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
    pending->op = std::move(owned);
    self->worker_.post([pending]() { complete_publish(std::move(pending->op), Status{}); },
                       std::chrono::duration_cast<std::chrono::milliseconds>(wait));
  });
}

void EventChannel::complete_publish(std::unique_ptr<NotifyOp> op, Status fenced) {
  const int r = op->result;
  if (r == -ENOENT) return op->done(Status{});  // no object: no gateway has subscribed to it
  if (r < 0 && r != -ETIMEDOUT) {
    return op->done(error(ErrorCode::io_error, op->where() + ": rados_aio_notify: " + ceph::rados_error_text(r)));
  }
  if (r == -ETIMEDOUT && op->timed_out.empty()) {
    return op->done(error(ErrorCode::timed_out, op->where() + ": rados_aio_notify timed out and named no watcher"));
  }
  // Every watcher that did not apply the event (silent or refusing) is fenced by now, or this
  // fails naming it: the caller must not report the change as done (a retryable error).
  if (!fenced.ok()) return op->done(std::move(fenced));
  op->done(Status{});
}

void EventChannel::deliver_to_all(LunEvent::Kind kind) {
  worker_.post([weak = weak_from_this(), kind]() {
    auto self = weak.lock();
    if (!self) return;
    for (const auto& watch : self->subscribed_watches()) watch->deliver(kind);
  });
}

void EventChannel::shutdown() {
  worker_.stop();
  std::vector<std::shared_ptr<LunWatch>> watches;
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) return;
    shut_down_ = true;
    for (auto& [key, watch] : watches_) watches.push_back(watch);
    watches_.clear();
    watches.insert(watches.end(), closing_.begin(), closing_.end());
    closing_.clear();
  }
  for (auto& watch : watches) {
    uint64_t cookie = 0;
    {
      std::lock_guard lock(watch->mutex);
      watch->state = LunWatch::State::closed;
      cookie = std::exchange(watch->cookie, 0);
      for (auto& slot : watch->slots) slot->deactivate();
    }
    if (cookie != 0) {
      const int ret = rados_unwatch2(pool_->ioctx(), cookie);
      if (ret < 0 && ret != -ENOTCONN) {
        spdlog::warn("cluster: lun {}: {}: rados_unwatch2: {}", watch->lun_key, pool_->where(watch->object),
                     ceph::rados_error_text(ret));
      }
    }
  }
  rados_watch_flush(pool_->cluster());  // no callback with a watch as argument runs after this
}

}  // namespace portico::cluster::rados
