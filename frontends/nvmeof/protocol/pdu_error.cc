#include "frontends/nvmeof/protocol/pdu_error.h"

namespace portico::nvmeof {

PduError pdu_error(FatalErrorStatus fes, uint32_t field_offset, std::string message) {
  return PduError{fes, fei_is_field_offset(fes) ? field_offset : 0u, std::move(message)};
}

Status PduError::to_status() const {
  const bool limit = fes == FatalErrorStatus::data_transfer_out_of_range ||
                     fes == FatalErrorStatus::data_transfer_limit_exceeded;
  return error(limit ? ErrorCode::out_of_range : ErrorCode::invalid_argument, message);
}

}  // namespace portico::nvmeof
