#include "tests/unit/nvme_tcp_host/fake_target.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>

#include "core/nvme/cqe.h"
#include "frontends/nvmeof/protocol/tcp_pdu_encode.h"

namespace portico::nvme_host::test {
namespace {

using nvmeof::PduType;

bool read_exact(int fd, uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t got = ::recv(fd, p, n, 0);
    if (got <= 0) return false;
    p += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

void write_all(int fd, const std::vector<uint8_t>& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

bool host_to_controller_data(const nvme::SubmissionEntry& sqe) {
  const uint8_t code = sqe.is_fabrics() ? sqe.raw[4] : sqe.opcode;
  return (code & 0x3) == 0x1;
}

// One connection: an NVMe/TCP queue as the target sees it.
class Connection {
 public:
  Connection(FakeTarget& target, int fd) : target_(target), fd_(fd), rx_(target.config().limits) {}

  void run() {
    std::vector<uint8_t> pdu;
    while (receive(pdu)) {
      auto decoded = rx_.receive(pdu);
      if (!decoded.ok()) return terminate(nvmeof::term_req_for(decoded.error()), pdu);
      const nvmeof::DecodedPdu& d = *decoded;
      target_.record(PduRecord{queue_id_, d.layout.common.type, d.layout.common.flags, d.layout.data_length,
                               d.header, d.data_digest_ok});
      last_header_.assign(pdu.begin(), pdu.begin() + std::min<std::ptrdiff_t>(std::ssize(pdu), 128));
      switch (d.layout.common.type) {
        case PduType::ic_req:
          out_.clear();
          nvmeof::encode_ic_resp(rx_.established()->response, out_);
          write_all(fd_, out_);
          break;
        case PduType::capsule_cmd:
          on_capsule(std::get<nvmeof::CapsuleCmd>(d.header), d.data);
          break;
        case PduType::h2c_data:
          on_h2c_data(std::get<nvmeof::DataPdu>(d.header), d.data);
          break;
        default:  // H2CTermReq: the host gives up on the connection
          return;
      }
    }
  }

 private:
  struct Collecting {
    nvme::SubmissionEntry sqe;
    std::vector<uint8_t> data;
    uint32_t received = 0;
  };

  bool receive(std::vector<uint8_t>& pdu) {
    pdu.resize(nvmeof::kCommonHeaderSize);
    if (!read_exact(fd_, pdu.data(), pdu.size())) return false;
    auto length = rx_.frame(pdu);
    if (!length.ok()) {
      terminate(nvmeof::term_req_for(length.error()), pdu);
      return false;
    }
    pdu.resize(**length);
    return read_exact(fd_, pdu.data() + nvmeof::kCommonHeaderSize, pdu.size() - nvmeof::kCommonHeaderSize);
  }

  void on_capsule(const nvmeof::CapsuleCmd& capsule, std::span<const uint8_t> data) {
    const nvme::SubmissionEntry sqe = *nvme::decode_sqe(capsule.sqe);
    if (host_to_controller_data(sqe) && sqe.sgl.length > 0 && sqe.sgl.identifier == nvme::kSglTransportData) {
      // Ask for all of it in one R2T: the host cuts it into H2CData PDUs of MAXH2CDATA.
      collecting_[sqe.cid] = Collecting{sqe, std::vector<uint8_t>(sqe.sgl.length), 0};
      out_.clear();
      nvmeof::encode_r2t(nvmeof::R2t{sqe.cid, next_ttag_++, 0, sqe.sgl.length}, rx_.params(), out_);
      write_all(fd_, out_);
      return;
    }
    ready(sqe, std::vector<uint8_t>(data.begin(), data.end()));
  }

  void on_h2c_data(const nvmeof::DataPdu& f, std::span<const uint8_t> data) {
    auto it = collecting_.find(f.cccid);
    if (it == collecting_.end() || f.datao + data.size() > it->second.data.size()) {
      return terminate(nvmeof::TermReq{static_cast<uint16_t>(nvmeof::FatalErrorStatus::data_transfer_out_of_range), 0},
                       last_header_);
    }
    std::copy(data.begin(), data.end(), it->second.data.begin() + std::ptrdiff_t{f.datao});
    it->second.received += f.datal;
    if (!f.last_pdu || it->second.received != it->second.data.size()) return;
    Collecting done = std::move(it->second);
    collecting_.erase(it);
    ready(done.sqe, std::move(done.data));
  }

  void ready(const nvme::SubmissionEntry& sqe, std::vector<uint8_t> data) {
    if (sqe.fuse == nvme::FusedOperation::first) {
      fused_first_ = Collecting{sqe, std::move(data), 0};
      return;
    }
    if (sqe.fuse == nvme::FusedOperation::second && fused_first_) {
      auto [a, b] = target_.controller().execute_fused(queue_id_, fused_first_->sqe, std::move(fused_first_->data),
                                                       sqe, std::move(data));
      const uint16_t first_cid = fused_first_->sqe.cid;
      fused_first_.reset();
      answer(first_cid, a);
      answer(sqe.cid, b);
      return;
    }
    const Answer a = target_.controller().execute(queue_id_, sqe, std::move(data));
    const bool io_read = queue_id_ != 0 && sqe.opcode == 0x02;
    const uint64_t slba = sqe.cdw(10) | (uint64_t{sqe.cdw(11)} << 32);
    if (io_read && slba == target_.config().term_req_lba) {
      return terminate(nvmeof::TermReq{target_.config().term_fes, target_.config().term_fei}, last_header_);
    }
    if (io_read && target_.config().hold_reads > 0) {
      held_.emplace_back(sqe.cid, a);
      if (held_.size() < target_.config().hold_reads) return;
      for (auto it = held_.rbegin(); it != held_.rend(); ++it) answer(it->first, it->second);
      held_.clear();
      return;
    }
    answer(sqe.cid, a);
  }

  void answer(uint16_t cid, const Answer& a) {
    out_.clear();
    const nvmeof::ConnectionParams& params = rx_.params();
    const bool with_data = !a.data.empty() && a.status.ok();
    if (with_data) {
      const uint32_t chunk = target_.config().c2h_chunk == 0 ? static_cast<uint32_t>(a.data.size())
                                                             : target_.config().c2h_chunk;
      for (uint32_t at = 0; at < a.data.size();) {
        const uint32_t n = std::min<uint32_t>(chunk, static_cast<uint32_t>(a.data.size()) - at);
        const bool last = at + n == a.data.size();
        nvmeof::DataPdu f{cid, 0, at, n, last, last && target_.config().success_flag};
        const size_t start = out_.size();
        nvmeof::encode_c2h_data(f, std::span<const uint8_t>(a.data).subspan(at, n), params, out_);
        if (target_.config().corrupt_c2h_header_digest && params.header_digest) out_[start + 24] ^= 0xff;
        if (target_.config().corrupt_c2h_data_digest && params.data_digest) out_.back() ^= 0xff;
        at += n;
      }
    }
    if (!with_data || !target_.config().success_flag) {
      nvme::CompletionEntry cqe;
      cqe.cid = cid;
      cqe.sq_id = queue_id_;
      cqe.dw0 = a.dw0;
      cqe.status = a.status;
      nvmeof::encode_capsule_resp(nvmeof::CapsuleResp{nvme::encode_cqe(cqe)}, params, out_);
    }
    write_all(fd_, out_);
  }

  void terminate(const nvmeof::TermReq& term, std::span<const uint8_t> offending) {
    out_.clear();
    nvmeof::encode_c2h_term_req(term, offending, out_);
    write_all(fd_, out_);
    ::shutdown(fd_, SHUT_RDWR);
  }

  FakeTarget& target_;
  int fd_;
  nvmeof::QueueReceiver rx_;
  uint16_t queue_id_ = 0;
  uint16_t next_ttag_ = 1;
  std::vector<uint8_t> out_;
  std::vector<uint8_t> last_header_;
  std::map<uint16_t, Collecting> collecting_;
  std::optional<Collecting> fused_first_;
  std::vector<std::pair<uint16_t, Answer>> held_;
};

}  // namespace

FakeTarget::FakeTarget(FakeTargetConfig config) : config_(std::move(config)), controller_(config_.controller) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  sockaddr* any = static_cast<sockaddr*>(static_cast<void*>(&addr));
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, any, sizeof addr) != 0 || ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, any, &len) != 0) {
    throw std::runtime_error("fake target: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeTarget::~FakeTarget() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  acceptor_.join();
  ::close(listen_fd_);
  {
    std::lock_guard lock(mutex_);
    for (int fd : connection_fds_) ::shutdown(fd, SHUT_RDWR);  // wakes recv()
  }
  for (auto& t : connections_) t.join();
  for (int fd : connection_fds_) ::close(fd);
}

void FakeTarget::accept_loop() {
  while (!stopping_) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    // Answers go out one write each; without NODELAY, Nagle holds the second until the host's
    // delayed ACK (40 ms on Linux).
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard lock(mutex_);
    connection_fds_.push_back(fd);
    connections_.emplace_back([this, fd] { Connection(*this, fd).run(); });
  }
}

std::vector<PduRecord> FakeTarget::pdus() const {
  std::lock_guard lock(mutex_);
  return pdus_;
}

void FakeTarget::record(PduRecord pdu) {
  std::lock_guard lock(mutex_);
  pdus_.push_back(std::move(pdu));
}

}  // namespace portico::nvme_host::test
