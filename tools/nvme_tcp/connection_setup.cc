#include "tools/nvme_tcp/connection_setup.h"

#include <string>

namespace portico::nvme_host {

nvmeof::IcReq make_ic_req(const TransportOptions& options) {
  nvmeof::IcReq req;
  req.pfv = nvmeof::kPduFormatVersion10;
  req.hpda = options.hpda;
  req.header_digest = options.header_digest;
  req.data_digest = options.data_digest;
  // MAXR2T 0 (one outstanding R2T per command), as Linux's host: this host answers an R2T
  // before it reads the next PDU, so it never needs more.
  req.maxr2t = 0;
  return req;
}

Result<nvmeof::ConnectionParams> accept_ic_resp(const nvmeof::IcReq& request, const nvmeof::IcResp& response) {
  auto refused = [](const char* what) {
    return error(ErrorCode::unsupported, std::string("nvme/tcp: the controller refused ") + what +
                                             " digests (ICResp DGST), which were asked for");
  };
  if (request.header_digest && !response.header_digest) return refused("header");
  if (request.data_digest && !response.data_digest) return refused("data");
  if ((response.header_digest && !request.header_digest) || (response.data_digest && !request.data_digest)) {
    return error(ErrorCode::invalid_argument, "nvme/tcp: ICResp enables a digest the host did not ask for");
  }
  nvmeof::ConnectionParams params;
  params.receive = nvmeof::Direction::controller_to_host;
  params.header_digest = response.header_digest;
  params.data_digest = response.data_digest;
  params.hpda = request.hpda;
  params.cpda = response.cpda;
  params.max_h2c_data = response.maxh2cdata;
  params.max_in_capsule_data = 0;  // a host never receives a CapsuleCmd
  return params;
}

}  // namespace portico::nvme_host
