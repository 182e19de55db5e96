#include "metrics/metrics_endpoint.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

#include <exception>
#include <string>
#include <vector>

namespace portico::metrics {

Result<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::start(const std::string& address,
                                                                std::shared_ptr<prometheus::Collectable> collectable) {
  std::unique_ptr<MetricsEndpoint> endpoint(new MetricsEndpoint());
  endpoint->collectable_ = std::move(collectable);
  try {
    // Two serving threads (a scrape is a few per minute, and must not compete with the loops); a
    // client that connects and sends nothing holds one for at most the request timeout.
    endpoint->exposer_ = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
        "listening_ports", address, "num_threads", "2", "request_timeout_ms", "10000"});
  } catch (const std::exception& e) {
    return error(ErrorCode::io_error, "metrics endpoint " + address + ": cannot listen (" + e.what() + ")");
  }
  endpoint->exposer_->RegisterCollectable(endpoint->collectable_);
  return endpoint;
}

MetricsEndpoint::~MetricsEndpoint() {
  if (exposer_) exposer_->RemoveCollectable(collectable_);
}

int MetricsEndpoint::port() const {
  const auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace portico::metrics
