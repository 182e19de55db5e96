// The fatal transport errors a PDU decoder reports (NVMe/TCP 1.0, H2CTermReq and C2HTermReq
// PDUs): the Fatal Error Status a termination request must carry, its Fatal Error Information,
// and a message for the log. PduResult<T> is a T or such an error.
#pragma once

#include <cassert>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include "core/common/result.h"

namespace portico::nvmeof {

// FES values (include/linux/nvme-tcp.h, enum nvme_tcp_fatal_error_status, has the same numbers).
enum class FatalErrorStatus : uint16_t {
  invalid_pdu_header_field = 0x01,  // FEI: byte offset of the field in error
  pdu_sequence_error = 0x02,
  header_digest_error = 0x03,
  data_transfer_out_of_range = 0x04,
  // A controller reports Data Transfer Limit Exceeded with 05h; a host's H2CTermReq uses the same
  // value for R2T Limit Exceeded.
  data_transfer_limit_exceeded = 0x05,
  unsupported_parameter = 0x06,  // FEI: byte offset of the parameter
};

// Whether FEI carries a field offset for this FES; for the other values FEI is reserved (0).
constexpr bool fei_is_field_offset(FatalErrorStatus fes) {
  return fes == FatalErrorStatus::invalid_pdu_header_field || fes == FatalErrorStatus::unsupported_parameter;
}

struct PduError {
  FatalErrorStatus fes = FatalErrorStatus::invalid_pdu_header_field;
  uint32_t fei = 0;  // what the TermReq carries: see fei_is_field_offset()
  std::string message;

  // The project-wide form, for callers that only log and close.
  [[nodiscard]] Status to_status() const;
};

// `field_offset` is the byte offset in the PDU of the field in error; it becomes the FEI where
// the FES defines one and is dropped otherwise.
PduError pdu_error(FatalErrorStatus fes, uint32_t field_offset, std::string message);

// The same shape as core's Result<T> (core/common/result.h), with a PduError in place of a Status
// because a decode failure must say which FES/FEI to send.
template <typename T>
class PduResult {
 public:
  PduResult(T value) : v_(std::move(value)) {}       // NOLINT(google-explicit-constructor)
  PduResult(PduError error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return std::holds_alternative<T>(v_); }
  T& operator*() { return std::get<T>(v_); }
  const T& operator*() const { return std::get<T>(v_); }
  T* operator->() { return &std::get<T>(v_); }
  const T* operator->() const { return &std::get<T>(v_); }

  [[nodiscard]] const PduError& error() const {
    assert(!ok());
    return std::get<PduError>(v_);
  }

 private:
  std::variant<T, PduError> v_;
};

}  // namespace portico::nvmeof
