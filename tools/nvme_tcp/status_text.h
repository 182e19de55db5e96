// Words for what a controller answers: NVMe completion statuses ("SCT 0x2 SC 0x85 (Compare
// Failure)") and NVMe/TCP fatal error statuses, for messages and the CLI's errors.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/common/result.h"
#include "core/nvme/status.h"
#include "tools/nvme_tcp/command.h"

namespace portico::nvme_host {

// The status code's name in NVMe Base 2.0 / NVMe over Fabrics 1.1; "Unknown" for others.
std::string_view status_name(const nvme::CompletionStatus& status);
// "SCT 0x2 SC 0x85 (Compare Failure)", with ", DNR" and ", More" when set.
std::string describe_status(const nvme::CompletionStatus& status);

// FES of a termination request (NVMe/TCP 1.0, "C2HTermReq"): "Invalid PDU Header Field"...
std::string_view fatal_error_status_name(uint16_t fes);

// A failed command as a Status: "<what>: NVMe status SCT 0x2 SC 0x85 (Compare Failure)".
Status command_failed(std::string_view what, const nvme::CompletionStatus& status);
// The transport error, or command_failed() for an unsuccessful completion, or ok.
Status require_success(const Result<Completion>& result, std::string_view what);

}  // namespace portico::nvme_host
