// One RDMA device (an ibv_context the CM found a host on): its protection domain, its limits, and
// a registered chunk pool per runtime loop. Shared by the queues on it; the last one to go
// releases the device (after a device removal the listener drops its reference first).
#pragma once

#include <infiniband/verbs.h>

#include <memory>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "frontends/nvmeof/rdma/registered_chunks.h"

namespace portico::nvmeof {

struct RdmaBufferSettings {
  uint32_t chunk_bytes = 16 * 1024;
  uint32_t chunks_per_loop = 2048;  // 32 MiB per loop and device
};

class RdmaDevice {
 public:
  static Result<std::shared_ptr<RdmaDevice>> open(ibv_context* verbs, size_t loops, const RdmaBufferSettings& buffers);
  ~RdmaDevice();
  RdmaDevice(const RdmaDevice&) = delete;
  RdmaDevice& operator=(const RdmaDevice&) = delete;

  [[nodiscard]] ibv_context* verbs() const { return verbs_; }
  [[nodiscard]] ibv_pd* pd() const { return pd_; }
  [[nodiscard]] const ibv_device_attr& attributes() const { return attributes_; }
  [[nodiscard]] const std::string& name() const { return name_; }
  // The chunks of loop `index`: touched on that loop only.
  [[nodiscard]] RegisteredChunks& chunks(size_t index) { return *chunks_[index]; }
  // Scatter-gather entries one RDMA READ / WRITE work request takes.
  [[nodiscard]] uint32_t read_sge() const;
  [[nodiscard]] uint32_t write_sge() const;

 private:
  RdmaDevice(ibv_context* verbs, ibv_pd* pd, const ibv_device_attr& attributes);

  ibv_context* verbs_;
  ibv_pd* pd_;
  ibv_device_attr attributes_;
  std::string name_;
  std::vector<std::unique_ptr<RegisteredChunks>> chunks_;
};

}  // namespace portico::nvmeof
