// Fuzzes the HTTP API's request handling (api/routes.h) over a small fixed state: the first
// line is the path, each further line a query parameter NAME=VALUE (as httplib decodes
// them). Every request gets a status; a JSON response is valid JSON with a status.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_split.h"
#include "api/routes.h"

namespace {

const absl::Time kNow = absl::FromUnixSeconds(1764300600);

class FuzzState : public tw::api::StateView {
 public:
  FuzzState() {
    const tw::classify::DropClass classes[] = {tw::classify::DropClass::kDnsBlocked,
                                               tw::classify::DropClass::kExpectedDeny,
                                               tw::classify::DropClass::kTier0Violation};
    int i = 0;
    for (auto cls : classes) {
      auto c = std::make_shared<tw::classify::Classification>();
      c->id = "id" + std::to_string(i);
      c->drop_class = cls;
      c->severity = tw::classify::SeverityOf(cls);
      c->flow.time = kNow - absl::Minutes(10 * (i + 1));
      c->flow.verdict = tw::flow::Verdict::kDropped;
      c->flow.source.namespace_ = symbols.Intern(i == 2 ? "flux-system" : "business");
      c->flow.destination.namespace_ = symbols.Intern("kube-system");
      c->explanation = "drop";
      drops.push_back(std::move(c));
      ++i;
    }
  }
  tw::api::Health Liveness() const override { return {true, ""}; }
  tw::api::Health Readiness() const override { return {true, ""}; }
  std::string MetricsText() const override { return "tierwatch_up 1\n"; }
  nlohmann::json Status() const override { return nlohmann::json{{"mode", "watch"}}; }
  std::vector<std::shared_ptr<const tw::classify::Classification>> RecentDrops() const override {
    return drops;
  }
  std::shared_ptr<const tw::classify::Classification> FindDrop(
      absl::string_view id) const override {
    for (const auto& d : drops) {
      if (d->id == id) return d;
    }
    return nullptr;
  }
  size_t RecentDropsCapacity() const override { return 1000; }
  std::optional<tw::classify::AggregateSnapshot> Connections() const override {
    return std::nullopt;
  }
  absl::StatusOr<std::string> BaselineDocument(tw::baseline::DocumentFormat f) const override {
    return f == tw::baseline::DocumentFormat::kYaml ? std::string("kind: TierwatchBaseline\n")
                                                    : std::string("{}");
  }
  absl::Time Now() const override { return kNow; }

  tw::flow::SymbolTable symbols;
  std::vector<std::shared_ptr<const tw::classify::Classification>> drops;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static FuzzState* state = new FuzzState();
  std::vector<std::string> lines =
      absl::StrSplit(absl::string_view(reinterpret_cast<const char*>(data), size), '\n');
  tw::api::Request req;
  req.path = lines[0];
  for (size_t i = 1; i < lines.size(); ++i) {
    std::pair<std::string, std::string> kv = absl::StrSplit(lines[i], absl::MaxSplits('=', 1));
    req.params.push_back(std::move(kv));
  }
  tw::api::Response resp = tw::api::Handle(req, *state);
  if (resp.status < 100 || resp.status > 599) std::abort();
  if (resp.content_type == "application/json" && !resp.body.empty() &&
      req.path != "/api/v1/baseline") {
    auto j = nlohmann::json::parse(resp.body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      std::fprintf(stderr, "invalid JSON body for %s: %s\n", req.path.c_str(),
                   resp.body.c_str());
      std::abort();
    }
  }
  return 0;
}
