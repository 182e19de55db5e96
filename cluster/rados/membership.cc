#include "cluster/rados/membership.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "cluster/rados/omap_read.h"

namespace portico::cluster::rados {
namespace {

constexpr uint64_t kMaxGateways = 1024;  // one omap page
constexpr int kMaxRegisterAttempts = 64;

template <typename T>
bool parse_number(const std::string& text, T& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// Every gateway's record (blocking).
Result<std::vector<GatewayRecord>> read_records(Pool& pool, const std::string& object, uint64_t* version) {
  auto omap = read_omap(pool, object, kMaxGateways);
  if (!omap.ok()) return omap.status();
  if (version != nullptr) *version = omap->version;
  std::vector<GatewayRecord> records;
  for (const auto& [key, value] : omap->entries) {
    auto record = parse_gateway_record(key, value);
    if (record.ok()) {
      records.push_back(std::move(*record));
    } else {
      spdlog::warn("cluster: {}: ignoring a membership entry: {}", pool.where(object), record.status().message());
    }
  }
  if (omap->more) spdlog::warn("cluster: {}: more than {} gateways; the rest are ignored", pool.where(object), kMaxGateways);
  return records;
}

// The reason a gateway refused a version is free text; a record's fields are separated by spaces.
std::string percent_encode(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == '%' || byte >= 0x7f) {
      out += fmt::format("%{:02X}", byte);
    } else {
      out += c;
    }
  }
  return out;
}

std::string percent_decode(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string encode_gateway_record(const GatewayRecord& record) {
  std::ostringstream out;
  out << "v=1 tpg=" << record.target_port_group << " port=" << record.relative_port_id
      << " instance=" << record.instance_id << " addr=" << record.address << " heartbeat_ms=" << record.heartbeat_ms;
  for (size_t i = 0; i < record.nvme_listeners.size(); ++i) out << (i == 0 ? " nvme=" : ",") << record.nvme_listeners[i];
  for (size_t i = 0; i < record.iscsi_portals.size(); ++i) out << (i == 0 ? " iscsi=" : ",") << record.iscsi_portals[i];
  if (record.lease_ms != 0) out << " lease_ms=" << record.lease_ms;
  if (record.config_version != 0) out << " config=" << record.config_version;
  if (record.config_refused != 0) out << " refused=" << record.config_refused;
  if (!record.config_refused_why.empty()) out << " refused_why=" << percent_encode(record.config_refused_why);
  return out.str();
}

Result<GatewayRecord> parse_gateway_record(const std::string& name, const std::string& text) {
  auto reject = [&](const std::string& why) {
    return error(ErrorCode::invalid_argument, "gateway record of '" + name + "': " + why);
  };
  GatewayRecord record;
  record.name = name;
  bool have_tpg = false;
  bool have_port = false;
  std::istringstream in(text);
  std::string field;
  while (in >> field) {
    const auto equals = field.find('=');
    if (equals == std::string::npos) return reject("field '" + field + "' has no '='");
    const std::string key = field.substr(0, equals);
    const std::string value = field.substr(equals + 1);
    bool ok = true;
    if (key == "v") {
      ok = value == "1";
    } else if (key == "tpg") {
      ok = have_tpg = parse_number(value, record.target_port_group) && record.target_port_group != 0;
    } else if (key == "port") {
      ok = have_port = parse_number(value, record.relative_port_id) && record.relative_port_id != 0;
    } else if (key == "instance") {
      ok = parse_number(value, record.instance_id);
    } else if (key == "addr") {
      record.address = value;
    } else if (key == "heartbeat_ms") {
      ok = parse_number(value, record.heartbeat_ms);
    } else if (key == "lease_ms") {
      ok = parse_number(value, record.lease_ms);
    } else if (key == "config") {
      ok = parse_number(value, record.config_version);
    } else if (key == "refused") {
      ok = parse_number(value, record.config_refused);
    } else if (key == "refused_why") {
      record.config_refused_why = percent_decode(value);
    } else if (key == "nvme" || key == "iscsi") {
      auto& list = key == "nvme" ? record.nvme_listeners : record.iscsi_portals;
      std::istringstream addresses(value);
      for (std::string address; std::getline(addresses, address, ',');) {
        if (!address.empty()) list.push_back(address);
      }
    }  // other keys: written by a newer gateway, ignored
    if (!ok) return reject("bad value in '" + field + "'");
  }
  if (!have_tpg || !have_port) return reject("tpg or port missing");
  return record;
}

uint16_t smallest_free_id(const std::vector<GatewayRecord>& records) {
  std::set<uint16_t> used;
  for (const auto& r : records) {
    used.insert(r.target_port_group);
    used.insert(r.relative_port_id);
  }
  uint16_t id = 1;
  while (used.count(id) != 0 && id != 0xffff) ++id;
  return id;
}

Membership::Membership(std::shared_ptr<Pool> pool, std::string object, std::string gateway_name,
                       std::vector<std::string> nvme_listeners, std::vector<std::string> iscsi_portals,
                       int64_t lease_ms)
    : pool_(std::move(pool)), object_(std::move(object)), gateway_name_(std::move(gateway_name)),
      nvme_listeners_(std::move(nvme_listeners)), iscsi_portals_(std::move(iscsi_portals)), lease_ms_(lease_ms) {}

Result<std::vector<GatewayRecord>> Membership::read_all(uint64_t* version) {
  return read_records(*pool_, object_, version);
}

Result<Membership::Registration> Membership::register_self() {
  const std::string where = pool_->where(object_);
  // The object must exist for assert_version to guard the first claim.
  rados_write_op_t create = rados_create_write_op();
  rados_write_op_create(create, LIBRADOS_CREATE_IDEMPOTENT, nullptr);
  int ret = rados_write_op_operate(create, pool_->ioctx(), object_.c_str(), nullptr, LIBRADOS_OPERATION_NOFLAG);
  rados_release_write_op(create);
  if (ret < 0) return error(ErrorCode::io_error, where + ": rados_write_op_operate (create): " + ceph::rados_error_text(ret));

  std::minstd_rand jitter(static_cast<unsigned>(std::hash<std::string>{}(gateway_name_)));
  for (int attempt = 1; attempt <= kMaxRegisterAttempts; ++attempt) {
    uint64_t version = 0;
    auto records = read_all(&version);
    if (!records.ok()) return records.status();
    Registration registration;
    GatewayRecord& self = registration.self;
    self.name = gateway_name_;
    self.instance_id = pool_->connection().instance_id();
    self.address = pool_->connection().address();
    self.heartbeat_ms = now_ms();
    self.nvme_listeners = nvme_listeners_;
    self.iscsi_portals = iscsi_portals_;
    self.lease_ms = lease_ms_;
    self.config_version = config_version_;
    for (const auto& r : *records) {
      if (r.name != gateway_name_) continue;
      self.target_port_group = r.target_port_group;
      self.relative_port_id = r.relative_port_id;
      if (r.instance_id != self.instance_id) registration.previous = r;
    }
    if (self.target_port_group == 0) {
      const uint16_t id = smallest_free_id(*records);
      if (id == 0xffff) return error(ErrorCode::out_of_range, where + ": no free target port group id");
      self.target_port_group = self.relative_port_id = id;
    }
    const std::string value = encode_gateway_record(self);
    const char* key = gateway_name_.c_str();
    const char* value_ptr = value.data();
    const size_t key_length = gateway_name_.size();
    const size_t value_length = value.size();
    rados_write_op_t op = rados_create_write_op();
    rados_write_op_assert_version(op, version);  // nobody changed the membership since the read
    rados_write_op_omap_set2(op, &key, &value_ptr, &key_length, &value_length, 1);
    ret = rados_write_op_operate(op, pool_->ioctx(), object_.c_str(), nullptr, LIBRADOS_OPERATION_NOFLAG);
    rados_release_write_op(op);
    if (ret == 0) {
      self_ = self;
      records->erase(std::remove_if(records->begin(), records->end(),
                                    [&](const GatewayRecord& r) { return r.name == gateway_name_; }),
                     records->end());
      records->push_back(self);
      set_cached(std::move(*records));
      return registration;
    }
    if (ret != -ERANGE && ret != -EOVERFLOW) {
      return error(ErrorCode::io_error,
                   where + ": rados_write_op_operate (assert_version+omap_set2): " + ceph::rados_error_text(ret));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + jitter() % 20));  // another gateway won: again
  }
  return error(ErrorCode::busy, where + ": membership kept changing; gave up after " +
                                    std::to_string(kMaxRegisterAttempts) + " attempts");
}

void Membership::wait_idle(std::chrono::milliseconds limit) const {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (*round_in_flight_ && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::vector<GatewayRecord> Membership::cached() const {
  std::lock_guard lock(mutex_);
  return cache_;
}

void Membership::set_cached(std::vector<GatewayRecord> records) {
  std::sort(records.begin(), records.end(),
            [](const GatewayRecord& a, const GatewayRecord& b) { return a.target_port_group < b.target_port_group; });
  std::lock_guard lock(mutex_);
  cache_ = std::move(records);
}

// One heartbeat: write this gateway's record, then read every record (both asynchronous).
struct Membership::Round {
  std::shared_ptr<Membership> membership;
  std::string value;
  rados_write_op_t write = nullptr;
  rados_read_op_t read = nullptr;
  rados_completion_t completion = nullptr;
  rados_omap_iter_t iter = nullptr;
  unsigned char more = 0;
  int omap_rval = 0;

  ~Round() {
    if (iter != nullptr) rados_omap_get_end(iter);
    if (write != nullptr) rados_release_write_op(write);
    if (read != nullptr) rados_release_read_op(read);
    if (completion != nullptr) rados_aio_release(completion);
    auto in_flight = membership->round_in_flight_;
    membership.reset();
    *in_flight = false;
  }

  void report(const char* call, int ret) {
    if (membership->last_heartbeat_error_.exchange(ret) == ret) return;  // once per distinct error
    if (ret == -kBlocklisted) {
      spdlog::error("cluster: {}: {}: this gateway is blocklisted", membership->pool_->where(membership->object_), call);
      membership->pool_->report_blocklisted("membership heartbeat " + std::string(call) + " on " +
                                            membership->pool_->where(membership->object_));
    } else {
      spdlog::warn("cluster: {}: heartbeat {}: {}", membership->pool_->where(membership->object_), call,
                   ceph::rados_error_text(ret));
    }
  }

  static void written(rados_completion_t, void* arg) {
    std::unique_ptr<Round> round(static_cast<Round*>(arg));
    const int ret = rados_aio_get_return_value(round->completion);
    if (ret < 0) return round->report("rados_aio_write_op_operate (omap_set2)", ret);
    rados_aio_release(round->completion);
    round->completion = nullptr;
    round->read = rados_create_read_op();
    rados_read_op_omap_get_vals2(round->read, "", "", kMaxGateways, &round->iter, &round->more, &round->omap_rval);
    rados_aio_create_completion2(round.get(), &Round::read_done, &round->completion);
    const auto& m = *round->membership;
    if (rados_aio_read_op_operate(round->read, m.pool_->ioctx(), round->completion, m.object_.c_str(),
                                  LIBRADOS_OPERATION_NOFLAG) == 0) {
      round.release();
    }
  }

  static void read_done(rados_completion_t, void* arg) {
    std::unique_ptr<Round> round(static_cast<Round*>(arg));
    const int ret = rados_aio_get_return_value(round->completion);
    if (ret < 0) return round->report("rados_aio_read_op_operate (omap_get_vals2)", ret);
    round->membership->last_heartbeat_error_ = 0;
    std::vector<GatewayRecord> records;
    char* key = nullptr;
    char* value = nullptr;
    size_t key_length = 0;
    size_t value_length = 0;
    while (rados_omap_get_next2(round->iter, &key, &value, &key_length, &value_length) == 0 && key != nullptr) {
      auto record = parse_gateway_record(std::string(key, key_length), std::string(value, value_length));
      if (record.ok()) records.push_back(std::move(*record));
    }
    round->membership->set_cached(std::move(records));
  }
};

void Membership::set_config_state(uint64_t applied, uint64_t refused, const std::string& why) {
  std::lock_guard lock(mutex_);
  self_.config_version = applied;
  self_.config_refused = refused;
  // The reason goes into a one-line record that every heartbeat writes: a few hundred bytes.
  constexpr size_t kMaxReason = 400;
  self_.config_refused_why = why.size() > kMaxReason ? why.substr(0, kMaxReason) + "..." : why;
}

void Membership::heartbeat_async() {
  if (round_in_flight_->exchange(true)) return;
  auto round = std::make_unique<Round>();
  round->membership = shared_from_this();
  GatewayRecord self;
  {
    std::lock_guard lock(mutex_);
    self = self_;
  }
  self.heartbeat_ms = now_ms();
  round->value = encode_gateway_record(self);
  const char* key = gateway_name_.c_str();
  const char* value = round->value.data();
  const size_t key_length = gateway_name_.size();
  const size_t value_length = round->value.size();
  round->write = rados_create_write_op();
  rados_write_op_omap_set2(round->write, &key, &value, &key_length, &value_length, 1);
  rados_aio_create_completion2(round.get(), &Round::written, &round->completion);
  const int ret = rados_aio_write_op_operate(round->write, pool_->ioctx(), round->completion, object_.c_str(), nullptr,
                                             LIBRADOS_OPERATION_NOFLAG);
  if (ret < 0) return round->report("rados_aio_write_op_operate", ret);
  round.release();
}

}  // namespace portico::cluster::rados
