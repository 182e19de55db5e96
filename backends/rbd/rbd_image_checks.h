// What open() demands of a connection and an image before several gateways may write it at once.
// Private to backends/rbd.
#pragma once

#include <string>

#include <rados/librados.h>
#include <rbd/librbd.h>

#include "core/common/result.h"

namespace portico::backends::rbd_checks {

// image_name is "pool/image" throughout.

// Sets the librbd options a multi-writer gateway needs on the connection (they apply to images
// opened afterwards): no client cache, and discards that zero partial ranges.
Status configure_connection(rados_t cluster, const std::string& image_name);

// Refuses features that cannot work with several writers (exclusive-lock and what depends on it),
// naming the command that disables them.
Status check_features(rbd_image_t image, const std::string& image_name);

// Checks the image's effective configuration (connection, pool and image overrides): a pool or
// image override of what configure_connection set is refused with the command that removes it.
Status check_effective_config(rbd_image_t image, const std::string& pool, const std::string& image_name);

}  // namespace portico::backends::rbd_checks
