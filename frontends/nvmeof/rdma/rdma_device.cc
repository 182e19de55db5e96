#include "frontends/nvmeof/rdma/rdma_device.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace portico::nvmeof {

Result<std::shared_ptr<RdmaDevice>> RdmaDevice::open(ibv_context* verbs, size_t loops,
                                                     const RdmaBufferSettings& buffers) {
  ibv_device_attr attributes{};
  if (int rc = ibv_query_device(verbs, &attributes); rc != 0) {
    return error(ErrorCode::io_error, std::string("ibv_query_device: ") + std::strerror(rc));
  }
  ibv_pd* pd = ibv_alloc_pd(verbs);
  if (pd == nullptr) return error(ErrorCode::io_error, std::string("ibv_alloc_pd: ") + std::strerror(errno));
  std::shared_ptr<RdmaDevice> device(new RdmaDevice(verbs, pd, attributes));
  for (size_t i = 0; i < loops; ++i) {
    auto chunks = RegisteredChunks::create(pd, buffers.chunk_bytes, buffers.chunks_per_loop);
    if (!chunks.ok()) return chunks.status();
    device->chunks_.push_back(std::move(*chunks));
  }
  spdlog::info("nvme-rdma: device {} opened (max_qp_wr {}, max_sge {}, max_sge_rd {}, max_qp_init_rd_atom {}, "
               "{} MiB of registered buffers per loop)",
               device->name_, attributes.max_qp_wr, attributes.max_sge, attributes.max_sge_rd,
               attributes.max_qp_init_rd_atom, (uint64_t{buffers.chunk_bytes} * buffers.chunks_per_loop) >> 20);
  return device;
}

RdmaDevice::RdmaDevice(ibv_context* verbs, ibv_pd* pd, const ibv_device_attr& attributes)
    : verbs_(verbs), pd_(pd), attributes_(attributes), name_(ibv_get_device_name(verbs->device)) {}

RdmaDevice::~RdmaDevice() {
  chunks_.clear();  // their registrations before the protection domain
  if (pd_ != nullptr) ibv_dealloc_pd(pd_);
  spdlog::info("nvme-rdma: device {} released", name_);
}

uint32_t RdmaDevice::read_sge() const {
  // max_sge_rd 0 means "as max_sge" on some providers.
  const int rd = attributes_.max_sge_rd > 0 ? attributes_.max_sge_rd : attributes_.max_sge;
  return static_cast<uint32_t>(std::clamp(rd, 1, 32));
}

uint32_t RdmaDevice::write_sge() const { return static_cast<uint32_t>(std::clamp(attributes_.max_sge, 1, 32)); }

}  // namespace portico::nvmeof
