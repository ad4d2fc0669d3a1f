#include "api/client.h"

#include "absl/strings/str_cat.h"
#include "api/http.h"

namespace tw::api {

std::string UnauthorizedHint(const HttpGetOptions& options) {
  return options.bearer_token.empty() ? "the daemon's API needs a token: --token-file FILE"
                                      : "the token from --token-file was refused";
}

absl::StatusOr<nlohmann::json> GetJson(const std::string& server, const std::string& path_and_query,
                                       const HttpGetOptions& options) {
  absl::StatusOr<Response> r = HttpGet(server, path_and_query, options);
  if (!r.ok()) return r.status();
  nlohmann::json body = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (r->status != 200) {
    std::string message = body.is_object() && body.contains("error") && body["error"].is_string()
                              ? body["error"].get<std::string>()
                              : r->body.substr(0, 200);
    if (r->status == 401) {
      absl::StrAppend(&message, " (", UnauthorizedHint(options), ")");
    }
    absl::StatusCode code = r->status == 404   ? absl::StatusCode::kNotFound
                            : r->status == 400 ? absl::StatusCode::kInvalidArgument
                            : r->status == 401 ? absl::StatusCode::kUnauthenticated
                                               : absl::StatusCode::kUnavailable;
    return absl::Status(
        code, absl::StrCat(server, path_and_query, " answered ", r->status, ": ", message));
  }
  if (body.is_discarded()) {
    return absl::DataLossError(absl::StrCat(server, path_and_query,
                                            " did not answer JSON (is it tierwatch's HTTP port?)"));
  }
  return body;
}

}  // namespace tw::api
