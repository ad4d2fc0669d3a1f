// The client side of the API for the on-call commands (`tierwatch drops`,
// `tierwatch explain`): GET a JSON document from a running daemon and turn every failure
// into a Status that says which URL and why.
//
//   absl::StatusOr<nlohmann::json> drops =
//       tw::api::GetJson("http://127.0.0.1:9977", "/api/v1/drops?limit=20");
//   // Unavailable: "cannot reach tierwatch at http://127.0.0.1:9977/...: connection failed"
//   // InvalidArgument / NotFound: the daemon's own error message (400 / 404)
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "api/http.h"
#include "nlohmann/json.hpp"

namespace tw::api {

// `options.bearer_token`: for a daemon whose API needs one (http.bearer_token_file); a 401
// answer says so and names the flag that sends it.
// What a 401 means for an on-call command: no token sent, or the one sent was refused.
std::string UnauthorizedHint(const HttpGetOptions& options);

absl::StatusOr<nlohmann::json> GetJson(const std::string& server, const std::string& path_and_query,
                                       const HttpGetOptions& options = {});

}  // namespace tw::api
