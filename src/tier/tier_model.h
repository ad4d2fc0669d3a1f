// The tier model: which namespaces are Tier 0 (system, never policed), Tier 1 (platform,
// controlled access) and Tier 2 (workloads, default-deny); which endpoints are reserved
// entities rather than namespaces; and the platform facts classification needs (the DNS
// service, the metrics scrapers and ports, the debug-bypass label).
//
//   tw::tier::TierModel model;                           // the story's defaults
//   auto loaded = tw::tier::LoadTierModel("config/tiers.yaml");   // or from a file
//   tw::tier::TierAssignment t = model.TierOf(flow.destination);
//   if (t.is_tier(0)) ...                                // kube-system, flux-system, ...
//   if (t.kind == tw::tier::TierKind::kEntity) ...       // world, host, kube-apiserver, ...
//   model.IsDnsService(flow.destination, flow.l4.protocol, flow.l4.destination_port);
//
// Defaults (= config/tiers.yaml): Tier 0 kube-system, flux-system, cilium, cilium-secrets
// and Cilium's own reserved endpoints (health, ingress); Tier 1 observability,
// cert-manager, external-secrets; Tier 2 every other namespace.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/tier_defaults.h"
#include "flow/connection.h"
#include "flow/flow.h"

namespace tw::tier {

// --- Options (what config/tiers.yaml holds) ----------------------------------------------

struct TierSpec {
  int level = 2;  // 0, 1 or 2
  std::string name;
  std::string description;
  std::vector<std::string> namespaces;  // exact names
  std::vector<std::string> patterns;    // shell globs over namespace names: "cilium-*"
  bool is_default = false;              // every namespace no tier names or matches
  friend bool operator==(const TierSpec& a, const TierSpec& b) {
    return a.level == b.level && a.name == b.name && a.description == b.description &&
           a.namespaces == b.namespaces && a.patterns == b.patterns && a.is_default == b.is_default;
  }
};

// A port a service listens on, with its protocol ("53/UDP"): the DNS service's ports.
struct ServicePort {
  uint16_t port = 0;
  flow::Protocol protocol = flow::Protocol::kUnknown;
  std::string ToString() const;  // "53/UDP"
  friend bool operator==(const ServicePort& a, const ServicePort& b) {
    return a.port == b.port && a.protocol == b.protocol;
  }
};

// A label requirement key=value, as Kubernetes writes it ("policy.cilium.io/enforce=false").
struct LabelRequirement {
  std::string key;
  std::string value;
  std::string ToString() const { return key + "=" + value; }
  friend bool operator==(const LabelRequirement& a, const LabelRequirement& b) {
    return a.key == b.key && a.value == b.value;
  }
};

struct DnsServiceSpec {
  std::string namespace_ = std::string(defaults::kDnsNamespace);
  std::vector<LabelRequirement> labels = {  // all must match
      {std::string(defaults::kDnsLabelKey), std::string(defaults::kDnsLabelValue)}};
  std::vector<ServicePort> ports = {{defaults::kDnsPort, flow::Protocol::kUDP},
                                    {defaults::kDnsPort, flow::Protocol::kTCP}};
  friend bool operator==(const DnsServiceSpec& a, const DnsServiceSpec& b) {
    return a.namespace_ == b.namespace_ && a.labels == b.labels && a.ports == b.ports;
  }
};

// Scrapers: pods in one of `namespaces` (any namespace when empty) whose label `label` has
// one of `values`.
struct ScraperSpec {
  std::vector<std::string> namespaces = {"observability"};
  std::string label = "app.kubernetes.io/name";
  std::vector<std::string> values = {"vmagent", "prometheus"};
  friend bool operator==(const ScraperSpec& a, const ScraperSpec& b) {
    return a.namespaces == b.namespaces && a.label == b.label && a.values == b.values;
  }
};

struct TierOptions {
  std::vector<TierSpec> tiers = DefaultTiers();
  DnsServiceSpec dns_service;
  ScraperSpec scrapers;
  // Ports scrapers collect metrics on; 9977 is tierwatch's own.
  std::vector<uint16_t> metrics_ports = {8080, 9090, 9100, 9115, 9153, 9977};
  // The pod label that takes a pod out of default-deny for troubleshooting.
  LabelRequirement debug_bypass_label = {std::string(defaults::kBypassLabelKey),
                                         std::string(defaults::kBypassLabelValue)};
  // Controllers that must reach the Kubernetes API server (lint rule TW008 checks their
  // policies allow it).
  std::vector<std::string> apiserver_egress_namespaces =
      defaults::Strings(defaults::kApiserverEgressNamespaces);

  static std::vector<TierSpec> DefaultTiers();
  friend bool operator==(const TierOptions& a, const TierOptions& b) {
    return a.tiers == b.tiers && a.dns_service == b.dns_service && a.scrapers == b.scrapers &&
           a.metrics_ports == b.metrics_ports && a.debug_bypass_label == b.debug_bypass_label &&
           a.apiserver_egress_namespaces == b.apiserver_egress_namespaces;
  }
};

// --- Answers ----------------------------------------------------------------------------

enum class TierKind : uint8_t {
  kNamespace,       // a pod in a namespace: level says the tier
  kCiliumReserved,  // Cilium's own reserved endpoints (health, ingress): Tier 0
  kEntity,          // a reserved entity (world, host, remote-node, kube-apiserver, init,
                    // unmanaged): not a namespace, no tier
  kUnknown,         // no identity, no namespace
};

enum class TierMatch : uint8_t { kNone, kNamespaceList, kPattern, kDefault, kReserved };

struct TierAssignment {
  TierKind kind = TierKind::kUnknown;
  int level = -1;               // 0, 1, 2; -1 for entities and unknown
  absl::string_view tier_name;  // "system", "platform", "workloads" (from the options)
  absl::string_view entity;     // entity name for kEntity / kCiliumReserved
  TierMatch match = TierMatch::kNone;
  absl::string_view pattern;  // the glob that matched (kPattern)

  bool is_tier(int l) const { return level == l; }
  bool is_entity() const { return kind == TierKind::kEntity; }
  // "tier 0", "tier 0 (cilium health)", "entity world", "unknown".
  std::string ToString() const;
};

// --- The model -----------------------------------------------------------------------------

class TierModel {
 public:
  TierModel();  // the defaults; always valid
  // Validates options (messages without file positions; config files go through
  // LoadTierModel, which reports file:line).
  static absl::StatusOr<TierModel> Create(TierOptions options);

  const TierOptions& options() const { return options_; }

  TierAssignment TierOf(const flow::Endpoint& endpoint) const;
  TierAssignment TierOf(const flow::Peer& peer) const;  // FQDN and IP peers are world
  TierAssignment TierOfNamespace(absl::string_view ns) const;
  // The spec of a tier level, nullptr if the model has none.
  const TierSpec* Tier(int level) const;

  bool IsDnsService(const flow::Endpoint& endpoint, flow::Protocol protocol, uint16_t port) const;
  bool IsDnsPort(flow::Protocol protocol, uint16_t port) const;
  bool IsScraper(const flow::Endpoint& endpoint) const;
  bool IsMetricsPort(uint16_t port) const;
  bool HasBypassLabel(const flow::Endpoint& endpoint) const;
  bool NeedsApiserverEgress(absl::string_view ns) const;

 private:
  explicit TierModel(TierOptions options, bool /*validated*/);
  TierOptions options_;
  absl::flat_hash_map<std::string, size_t> by_namespace_;  // -> index in options_.tiers
  std::vector<size_t> by_level_;                           // tiers sorted by level
  size_t default_tier_ = 0;
};

// A problem found in options: `path` names the element ("tiers[1].namespaces[0]",
// "dns_service.ports[2]", "metrics_ports[0]") so that the YAML loader can point at its
// file:line.
struct TierOptionIssue {
  std::string path;
  std::string message;
};
// Every problem in options (not just the first).
std::vector<TierOptionIssue> ValidateTierOptions(const TierOptions& options);

// Syntax checks (Kubernetes rules), exposed for the loader and the tests.
bool IsValidNamespaceName(absl::string_view s);     // DNS-1123 label
bool IsValidNamespacePattern(absl::string_view s);  // DNS-1123 chars plus * ? [...]
bool IsValidLabelKey(absl::string_view s);          // [prefix/]name
bool IsValidLabelValue(absl::string_view s);        // may be empty
bool GlobMatch(absl::string_view pattern, absl::string_view text);

}  // namespace tw::tier
