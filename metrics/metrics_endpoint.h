// The gateway's Prometheus text endpoint (GET /metrics) on the address the configuration names,
// served by prometheus-cpp's exposer on a thread of its own, away from the event loops.
#pragma once

#include <memory>
#include <string>

#include "core/common/result.h"

namespace prometheus {
class Collectable;
class Exposer;
}  // namespace prometheus

namespace portico::metrics {

class MetricsEndpoint {
 public:
  // Binds `address` ("127.0.0.1:9464", "[::1]:9464") and serves `collectable` there; fails
  // naming the address when it cannot be bound.
  static Result<std::unique_ptr<MetricsEndpoint>> start(const std::string& address,
                                                        std::shared_ptr<prometheus::Collectable> collectable);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // The bound port (the configured one, or the one the kernel chose for port 0).
  [[nodiscard]] int port() const;

 private:
  MetricsEndpoint() = default;
  std::shared_ptr<prometheus::Collectable> collectable_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace portico::metrics
