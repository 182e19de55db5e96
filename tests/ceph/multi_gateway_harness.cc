#include "tests/ceph/multi_gateway_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <rbd/librbd.h>

#include "cluster/rados/object_names.h"
#include "tests/ceph/ceph_test_env.h"

namespace portico::testing::mgw {
namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

// True when something accepts TCP connections on address:port.
bool accepts(const std::string& address, uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) == 0;
  ::close(fd);
  return ok;
}

// True when process `pid` owns the socket listening on address:port (from /proc/net/tcp): the
// portal that answers is this gateway's, not one of another test run on the same machine.
bool listens(pid_t pid, const std::string& address, uint16_t port) {
  in_addr ip{};
  ::inet_pton(AF_INET, address.c_str(), &ip);
  char local[32];
  std::snprintf(local, sizeof(local), "%08X:%04X", ip.s_addr, port);  // as the kernel prints it
  std::ifstream tcp("/proc/net/tcp");
  std::string inode;
  for (std::string line; std::getline(tcp, line);) {
    std::istringstream fields(line);
    std::string slot, local_address, remote, state, skip;
    fields >> slot >> local_address >> remote >> state;
    if (local_address != local || state != "0A") continue;  // 0A: LISTEN
    for (int i = 0; i < 5; ++i) fields >> skip;
    fields >> inode;
  }
  if (inode.empty()) return false;
  const std::string wanted = "socket:[" + inode + "]";
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    if (std::filesystem::read_symlink(fd.path(), ec).string() == wanted) return true;
  }
  return false;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

}  // namespace

std::string porticod_path() { return env_or("PORTICOD", ""); }

uint16_t portal_port() { return static_cast<uint16_t>(std::stoi(env_or("PORTICO_MGW_PORT", "22000"))); }

ScratchDir::ScratchDir() {
  std::string templ = env_or("TMPDIR", "/tmp") + "/portico-mgw-XXXXXX";
  if (::mkdtemp(templ.data()) != nullptr) path_ = templ;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  if (!keep && !path_.empty()) std::filesystem::remove_all(path_, ignored);
}

std::unique_ptr<CephAdmin> CephAdmin::connect(std::string* error) {
  ceph::RadosOptions options;
  options.conf_path = ceph_conf();
  options.connect_timeout_s = 20;
  auto connection = ceph::RadosConnection::connect(options);
  if (!connection.ok()) {
    *error = "PORTICO_CEPH_CONF=" + options.conf_path + ": " + connection.status().message();
    return nullptr;
  }
  auto io = (*connection)->open_pool(ceph_pool());
  if (!io.ok()) {
    *error = io.status().message();
    return nullptr;
  }
  return std::unique_ptr<CephAdmin>(new CephAdmin(*connection, *io, ceph_pool()));
}

CephAdmin::~CephAdmin() { rados_ioctx_destroy(io_); }

std::string CephAdmin::create_image(const std::string& prefix, uint64_t size_bytes, std::string* error) {
  const std::string name = unique_name(prefix);
  const int ret = create_test_image(io_, name, size_bytes);
  if (ret < 0) {
    *error = "rbd_create4 " + pool_ + "/" + name + ": " + ceph::rados_error_text(ret);
    return "";
  }
  return name;
}

void CephAdmin::remove_image(const std::string& name) {
  rados_remove(io_, membership_object(name).c_str());  // absent when no gateway ran
  const int ret = rbd_remove(io_, name.c_str());
  if (ret < 0) std::fprintf(stderr, "note: rbd image %s/%s left behind: %s\n", pool_.c_str(), name.c_str(),
                            ceph::rados_error_text(ret).c_str());
}

std::string CephAdmin::gateway_record(const std::string& image, const std::string& gateway_name) {
  rados_read_op_t op = rados_create_read_op();
  const char* keys[] = {gateway_name.c_str()};
  const size_t key_lengths[] = {gateway_name.size()};
  rados_omap_iter_t iter = nullptr;
  int omap_ret = 0;
  rados_read_op_omap_get_vals_by_keys2(op, keys, 1, key_lengths, &iter, &omap_ret);
  std::string record;
  if (rados_read_op_operate(op, io_, membership_object(image).c_str(), 0) == 0 && omap_ret == 0) {
    char *key = nullptr, *value = nullptr;
    size_t key_length = 0, value_length = 0;
    if (rados_omap_get_next2(iter, &key, &value, &key_length, &value_length) == 0 && value != nullptr) {
      record.assign(value, value_length);
    }
  }
  if (iter != nullptr) rados_omap_get_end(iter);
  rados_release_read_op(op);
  return record;
}

std::string CephAdmin::blocklist(std::string* error) {
  const char* command[] = {R"({"prefix": "osd blocklist ls", "format": "json"})"};
  char *out = nullptr, *status = nullptr;
  size_t out_length = 0, status_length = 0;
  const int ret = rados_mon_command(connection_->handle(), command, 1, "", 0, &out, &out_length, &status,
                                    &status_length);
  std::string text = out != nullptr ? std::string(out, out_length) : std::string();
  if (ret < 0) *error = "osd blocklist ls: " + ceph::rados_error_text(ret) + " " + std::string(status, status_length);
  rados_buffer_free(out);
  rados_buffer_free(status);
  return text;
}

bool CephAdmin::blocklist_add(const std::string& address, std::chrono::seconds expiry, std::string* error) {
  std::string mutable_address = address;  // rados_blocklist_add takes a char*
  const int ret = rados_blocklist_add(connection_->handle(), mutable_address.data(),
                                      static_cast<uint32_t>(expiry.count()));
  if (ret < 0) *error = "rados_blocklist_add(" + address + "): " + ceph::rados_error_text(ret);
  return ret >= 0;
}

std::string CephAdmin::lun_object(const std::string& image, std::string* error) {
  rbd_image_t handle = nullptr;
  int ret = rbd_open(io_, image.c_str(), &handle, nullptr);
  if (ret < 0) {
    *error = "rbd_open " + pool_ + "/" + image + ": " + ceph::rados_error_text(ret);
    return "";
  }
  char id[64] = {};
  ret = rbd_get_id(handle, id, sizeof id);
  rbd_close(handle);
  if (ret < 0) {
    *error = "rbd_get_id " + pool_ + "/" + image + ": " + ceph::rados_error_text(ret);
    return "";
  }
  return cluster::rados::lun_object_name("rbd:" + pool_ + "/" + id);  // the rbd backend's identity seed
}

bool CephAdmin::read_record(const std::string& object, std::string* bytes, uint64_t* version, std::string* error) {
  char text[32] = {};
  const int length = rados_getxattr(io_, object.c_str(), cluster::rados::kVersionXattr, text, sizeof text - 1);
  *version = length > 0 ? std::stoull(std::string(text, static_cast<size_t>(length))) : 0;
  std::vector<char> buffer(1 << 16);
  const int read = rados_read(io_, object.c_str(), buffer.data(), buffer.size(), 0);
  if (read < 0 || (length < 0 && length != -ENODATA)) {
    *error = object + ": rados_read / rados_getxattr: " + ceph::rados_error_text(read < 0 ? read : length);
    return false;
  }
  bytes->assign(buffer.data(), static_cast<size_t>(read));
  return true;
}

bool CephAdmin::write_record(const std::string& object, uint64_t version, const std::string& bytes,
                             std::string* error) {
  const std::string expected = std::to_string(version);
  const std::string next = std::to_string(version + 1);
  rados_write_op_t op = rados_create_write_op();
  rados_write_op_cmpxattr(op, cluster::rados::kVersionXattr, LIBRADOS_CMPXATTR_OP_EQ, expected.data(), expected.size());
  rados_write_op_setxattr(op, cluster::rados::kVersionXattr, next.data(), next.size());
  rados_write_op_write_full(op, bytes.data(), bytes.size());
  const int ret = rados_write_op_operate(op, io_, object.c_str(), nullptr, 0);
  rados_release_write_op(op);
  if (ret < 0) *error = object + ": guarded write of version " + next + ": " + ceph::rados_error_text(ret);
  return ret == 0;
}

namespace {

// Runs `bash <ceph-cluster.sh> <action> <cluster folder>`; false with its output in `error`.
bool run_cluster_script(const std::string& action, std::string* error) {
  const std::string script = env_or("PORTICO_CEPH_SCRIPT", "");
  const std::string conf = env_or("PORTICO_CEPH_CONF", "");
  if (script.empty() || conf.empty()) {
    *error = "PORTICO_CEPH_SCRIPT and PORTICO_CEPH_CONF must name the cluster script and its ceph.conf";
    return false;
  }
  const std::string folder = std::filesystem::path(conf).parent_path().string();
  const std::string command = "bash '" + script + "' " + action + " '" + folder + "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    *error = command + ": " + std::strerror(errno);
    return false;
  }
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = ::pclose(pipe);
  if (status == 0) return true;
  *error = command + " failed (status " + std::to_string(status) + "): " + output;
  return false;
}

}  // namespace

OsdOutage::~OsdOutage() {
  std::string error;
  if (active_ && !end(&error)) std::fprintf(stderr, "OsdOutage: %s\n", error.c_str());
}

bool OsdOutage::begin(std::string* error) {
  if (!run_cluster_script(kind_ == Kind::crash ? "kill-osd" : "freeze-osd", error)) return false;
  active_ = true;
  return true;
}

bool OsdOutage::end(std::string* error) {
  if (!run_cluster_script(kind_ == Kind::crash ? "start-osd" : "thaw-osd", error)) return false;
  active_ = false;
  return true;
}

GatewayProcess::GatewayProcess(int index, std::string dir, uint16_t port)
    : index_(index), dir_(std::move(dir)), port_(port) {}

GatewayProcess::~GatewayProcess() { terminate(std::chrono::seconds(5)); }

bool GatewayProcess::start(const std::string& yaml, std::chrono::seconds wait, std::string* error) {
  const std::string binary = porticod_path();
  if (binary.empty()) {
    *error = "PORTICOD must name the porticod binary";
    return false;
  }
  if (accepts(address(), port_)) {
    *error = "something already serves " + portal() + " (another run of these tests? PORTICO_MGW_PORT=" +
             std::to_string(port_) + ")";
    return false;
  }
  const std::string config = dir_ + "/" + name() + ".yaml";
  std::ofstream(config) << yaml;
  const std::string log = log_path();
  pid_ = ::fork();
  if (pid_ < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    return false;
  }
  if (pid_ == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    ::closefrom(3);  // the test's own Ceph and iSCSI sockets stay in the test
    ::execl(binary.c_str(), "porticod", "--config", config.c_str(), static_cast<char*>(nullptr));
    std::fprintf(stderr, "exec %s: %s\n", binary.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (!listens(pid_, address(), port_) || !accepts(address(), port_)) {
    if (!running()) {
      *error = name() + " (" + binary + " --config " + config + ") ended during start-up";
      return false;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      *error = name() + " did not accept on " + portal() + " within " + std::to_string(wait.count()) + " s";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

std::string GatewayProcess::reap(bool block) {
  if (pid_ <= 0) return "not running";
  int status = 0;
  const pid_t ret = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (ret == 0) return "";
  pid_ = -1;
  return ret < 0 ? std::string("waitpid: ") + std::strerror(errno) : describe_wait_status(status);
}

bool GatewayProcess::running() {
  if (pid_ <= 0) return false;
  return reap(false).empty();
}

std::string GatewayProcess::terminate(std::chrono::seconds grace) {
  if (pid_ <= 0) return "not running";
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string exit = reap(false);
    if (!exit.empty()) return exit;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  return reap(true) + " (SIGKILL after " + std::to_string(grace.count()) + " s)";
}

std::string GatewayProcess::wait_for_exit(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    std::string exit = reap(false);
    if (!exit.empty() || std::chrono::steady_clock::now() >= deadline) return exit;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void GatewayProcess::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap(true);
}

void GatewayProcess::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void GatewayProcess::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

std::string GatewayProcess::log_tail(size_t lines) const {
  std::ifstream in(log_path());
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(std::move(line));
    if (tail.size() > lines) tail.pop_front();
  }
  std::string text;
  for (const auto& line : tail) text += "    " + line + "\n";
  return text;
}

std::string membership_object(const std::string& image) { return "portico.gateways." + image; }

std::string clustered_gateway_yaml(const GatewayProcess& gateway, const std::string& ceph_conf,
                                   const std::string& pool, const std::string& image,
                                   const std::string& lun_options) {
  std::string yaml;
  yaml += "log:\n  level: info\n";
  yaml += "gateway:\n  name: " + gateway.name() + "\n  portals: [\"" + gateway.portal() + "\"]\n";
  // The same image is NVMe namespace 1 of kNvmeSubsystem too.
  yaml += "  nvme_listeners: [\"" + gateway.address() + ":" + std::to_string(gateway.nvme_port()) + "\"]\n";
  yaml += "  nvme_discovery_listeners: [\"" + gateway.address() + ":" + std::to_string(gateway.discovery_port()) +
          "\"]\n";
  yaml += "cluster:\n  ceph_conf: " + ceph_conf + "\n  pool: " + pool + "\n";
  yaml += "  gateways_object: " + membership_object(image) + "\n";
  yaml += "  heartbeat_interval_ms: " + std::to_string(ClusterTimings::heartbeat.count()) + "\n";
  yaml += "  lease_ms: " + std::to_string(ClusterTimings::lease.count()) + "\n";
  yaml += "  notify_timeout_ms: " + std::to_string(ClusterTimings::notify_timeout.count()) + "\n";
  yaml += "targets:\n  - iqn: iqn.2026-11.io.portico:shared\n";
  yaml += std::string("    nvme:\n      nqn: ") + kNvmeSubsystem + "\n    luns:\n";
  yaml += "      - lun: 0\n        backend: rbd\n        image: " + pool + "/" + image + "\n";
  for (size_t at = 0; at < lun_options.size();) {
    const size_t end = std::min(lun_options.find('\n', at), lun_options.size());
    yaml += "        " + lun_options.substr(at, end - at) + "\n";
    at = end + 1;
  }
  return yaml;
}

}  // namespace portico::testing::mgw
