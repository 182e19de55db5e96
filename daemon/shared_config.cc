#include "daemon/shared_config.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "ceph/config_key.h"
#include "ceph/rados_connection.h"
#include "cluster/rados/config_record.h"
#include "cluster/rados/pool.h"

namespace portico::daemon {

Result<Config> load_shared_config(const std::string& path, const Config& local) {
  const ClusterConfig& c = *local.cluster;
  ceph::RadosOptions options;
  options.conf_path = c.ceph_conf;
  options.client_name = c.client;
  options.keyring = c.keyring;
  auto connection = ceph::RadosConnection::connect(options);
  if (!connection.ok()) return error(connection.status().code(), "cluster: " + connection.status().message());
  auto ioctx = (*connection)->open_pool(c.pool);
  if (!ioctx.ok()) return error(ioctx.status().code(), "cluster: " + ioctx.status().message());
  cluster::rados::Pool pool(*connection, *ioctx, c.pool);
  auto record = cluster::rados::read_config_record(pool, c.config_object);
  if (!record.ok()) return record.status();
  const std::string where = "configuration record " + pool.where(c.config_object);
  if (!record->exists || record->version == 0) {
    return error(ErrorCode::not_found, where + " does not exist yet (portico config import FILE creates it)");
  }
  auto merged = record_merger(path)(record->data, config_key_fetcher(*connection));
  if (!merged.ok()) {
    return error(merged.status().code(), where + " version " + std::to_string(record->version) + ": " +
                                             merged.status().message());
  }
  merged->cluster->record_version = record->version;
  spdlog::info("{} version {}: {} target(s)", where, record->version, merged->targets.size());
  return merged;
}

RecordMerger record_merger(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return [local = text.str()](const std::string& record_yaml, const SecretFetcher& fetch) {
    return merge_config_record(local, record_yaml, fetch);
  };
}

SecretFetcher config_key_fetcher(std::shared_ptr<ceph::RadosConnection> connection) {
  return [connection = std::move(connection)](const std::string& key) { return ceph::config_key_get(*connection, key); };
}

}  // namespace portico::daemon
