// A gateway's follower of the group's configuration record (config_record.h): it watches the
// record's object, and when the portico command notifies a new version (or, should a notify be
// missed or the watch be lost, at the next poll) it reads the record and hands it to the
// gateway, whose answer ("applied 4", "refused 4: why") goes back to the notifier as this
// watcher's acknowledgement. One watch per gateway, one thread, blocking librados calls only on
// that thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/rados/pool.h"

namespace portico::cluster::rados {

// What a watcher answers a configuration notify with: "applied N" or "refused N: why".
struct ConfigAnswer {
  uint64_t version = 0;
  bool applied = false;
  std::string why;  // when refused

  [[nodiscard]] std::string encode() const;
  static ConfigAnswer decode(const std::string& text);
};

class ConfigWatch {
 public:
  // Called on the watch's thread with a version other than the last one it was given; returns
  // whether the gateway applied it. `served_version`: the version the gateway started with.
  using Apply = std::function<ConfigAnswer(uint64_t version, const std::string& yaml)>;

  ConfigWatch(std::shared_ptr<Pool> pool, std::string object, uint64_t served_version,
              std::chrono::milliseconds poll_interval, Apply apply);
  ~ConfigWatch();  // unwatches and joins
  ConfigWatch(const ConfigWatch&) = delete;
  ConfigWatch& operator=(const ConfigWatch&) = delete;

 private:
  struct PendingAck {
    uint64_t notify_id;
    uint64_t cookie;
  };

  static void on_notify(void* arg, uint64_t notify_id, uint64_t cookie, uint64_t notifier_id, void* data, size_t length);
  static void on_watch_error(void* arg, uint64_t cookie, int err);
  void run();
  void ensure_watch();
  void check_record(std::vector<PendingAck> acks);

  std::shared_ptr<Pool> pool_;
  std::string object_;
  std::chrono::milliseconds poll_interval_;
  Apply apply_;
  uint64_t last_version_;   // watch thread only
  ConfigAnswer last_answer_;  // watch thread only

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool watch_lost_ = true;  // until the first watch is made
  bool lost_signal_ = false;  // the error callback woke the thread to watch again
  std::vector<PendingAck> pending_;
  uint64_t cookie_ = 0;     // the watch thread writes it; callbacks compare under mutex_
  std::thread thread_;
};

}  // namespace portico::cluster::rados
