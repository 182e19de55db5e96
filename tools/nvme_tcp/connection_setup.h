// The host's half of NVMe/TCP connection initialization (NVMe/TCP 1.0, "Connection
// Management"): the ICReq it sends and what it makes of the controller's ICResp. Pure.
#pragma once

#include <cstdint>

#include "core/common/result.h"
#include "frontends/nvmeof/protocol/tcp_pdu_headers.h"

namespace portico::nvme_host {

struct TransportOptions {
  bool header_digest = false;
  bool data_digest = false;
  uint8_t hpda = 0;  // alignment this host asks for C2H data, 0's based dwords (Linux sends 0)
};

nvmeof::IcReq make_ic_req(const TransportOptions& options);

// The parameters the queue runs with after `response`. A digest the host asked for and the
// controller refused fails, as Linux's host fails the connection: the user asked for that
// protection and would otherwise silently run without it. A digest the host did not ask for is
// a protocol violation (the controller may only clear the bits).
Result<nvmeof::ConnectionParams> accept_ic_resp(const nvmeof::IcReq& request, const nvmeof::IcResp& response);

}  // namespace portico::nvme_host
