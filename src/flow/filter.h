// Hubble flow filters (`flow.FlowFilter` protos) compiled into predicates over flow::Flow,
// and the `hubble observe`-style flag set that builds them.
//
// Semantics are Hubble's: inside one FlowFilter every populated field must match (AND),
// inside one repeated field any value may match (OR); a flow passes a request when it
// matches any whitelist entry (or the whitelist is empty) and no blacklist entry. The
// replay server filters with this code and `tierwatch observe` sends the very same protos
// to a relay, so a capture and a relay are filtered alike.
//
//   ::flow::FlowFilter drops;
//   drops.add_verdict(::flow::DROPPED);
//   drops.add_source_pod("business/");            // whole namespace
//   auto set = tw::flow::FlowFilterSet::Compile({drops}, {});
//   if (set.ok() && set->Matches(flow)) ...
//
//   tw::flow::ObserveFilterFlags flags;            // from the command line
//   flags.verdict = {"DROPPED"};
//   flags.namespace_ = {"business"};
//   auto req = tw::flow::BuildObserveFilters(flags);   // req->whitelist, req->blacklist
//
// Supported FlowFilter fields: uuid, source/destination_ip (exact or CIDR),
// source_ip_xlated, source/destination_pod and _service ("ns/prefix", "ns/" = whole
// namespace, "prefix" or "/prefix" = any namespace), source/destination_fqdn (glob, `*`),
// source/destination_label and node_labels (Kubernetes label selectors: `k=v`, `k!=v`, `k`,
// `!k`, `k in (a,b)`, `k notin (a,b)`; a key may carry a source prefix such as `k8s:app`,
// without one it matches any source), source/destination_workload,
// source/destination_cluster_name, source/destination_identity, verdict, drop_reason_desc,
// interface, event_type (type, and sub_type when match_sub_type), protocol (tcp, udp, sctp,
// icmp, icmpv4, icmpv6, vrrp, igmp, and dns/http/kafka for L7), source/destination_port,
// traffic_direction, reply (compares is_reply, absent = false), ip_version, tcp_flags,
// node_name (glob, `cluster/node` or `node`), dns_query, http_status_code, http_method,
// http_path, http_url. Hubble's regex fields (dns_query, http_path, http_url) use RE2 there;
// here they are std::regex ECMAScript, searched (not anchored) as RE2's MatchString does —
// the two dialects agree on ordinary patterns. http_header and trace_id are rejected with
// InvalidArgument (the flow model does not keep them).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "flow/flow.h"
#include "flow/flow.pb.h"

namespace tw::flow {

using FlowPredicate = std::function<bool(const Flow&)>;

// One FlowFilter as a predicate. Errors (bad CIDR, port, selector, regex, unsupported
// field) are InvalidArgument naming the field and the value.
absl::StatusOr<FlowPredicate> CompileFlowFilter(const ::flow::FlowFilter& filter);

// A request's whitelist minus blacklist. Default-constructed: matches everything.
class FlowFilterSet {
 public:
  FlowFilterSet() = default;

  template <typename Container>
  static absl::StatusOr<FlowFilterSet> Compile(const Container& whitelist,
                                               const Container& blacklist) {
    FlowFilterSet set;
    for (const ::flow::FlowFilter& f : whitelist) {
      auto p = CompileFlowFilter(f);
      if (!p.ok()) return p.status();
      set.whitelist_.push_back(*std::move(p));
      set.uses_uuid_ |= f.uuid_size() > 0;
    }
    for (const ::flow::FlowFilter& f : blacklist) {
      auto p = CompileFlowFilter(f);
      if (!p.ok()) return p.status();
      set.blacklist_.push_back(*std::move(p));
      set.uses_uuid_ |= f.uuid_size() > 0;
    }
    return set;
  }
  static absl::StatusOr<FlowFilterSet> Compile(const std::vector<::flow::FlowFilter>& whitelist,
                                               const std::vector<::flow::FlowFilter>& blacklist) {
    return Compile<std::vector<::flow::FlowFilter>>(whitelist, blacklist);
  }

  bool Matches(const Flow& flow) const;
  // Lost events and node status events always pass: Hubble never filters them.
  bool Matches(const Event& event) const { return !event.flow || Matches(*event.flow); }
  bool empty() const { return whitelist_.empty() && blacklist_.empty(); }
  // True when some filter looks at Flow.uuid (the replay server rewrites uuids per pass).
  bool uses_uuid() const { return uses_uuid_; }

 private:
  std::vector<FlowPredicate> whitelist_;
  std::vector<FlowPredicate> blacklist_;
  bool uses_uuid_ = false;
};

// A Kubernetes label selector evaluated over Cilium's "source:key=value" label strings.
class LabelSelector {
 public:
  static absl::StatusOr<LabelSelector> Parse(absl::string_view selector);
  bool Matches(const std::vector<Symbol>& labels) const;

  enum class Op { kExists, kNotExists, kIn, kNotIn };
  struct Requirement {
    std::string source;  // "" = any source
    std::string key;
    Op op = Op::kExists;
    std::vector<std::string> values;
  };
  const std::vector<Requirement>& requirements() const { return requirements_; }

 private:
  std::vector<Requirement> requirements_;
};

// Glob over DNS names as Hubble's FQDN filter: case-insensitive, `*` matches any run of
// [-.0-9a-z_], a trailing dot on either side is ignored.
bool FqdnGlobMatch(absl::string_view pattern, absl::string_view name);

// `hubble observe` filter flags. Flags named from-/to- constrain one side; the ones without
// a side (namespace, pod, label, ip, fqdn, port, identity, service) match either side
// (Hubble builds two filters: one on the source, one on the destination). Everything else
// applies to both. A pod name without "ns/" takes the namespace from --namespace /
// --from-namespace / --to-namespace when given (which are then consumed as qualifiers),
// else "default", as hubble documents.
struct ObserveFilterFlags {
  std::vector<std::string> uuid;
  std::vector<std::string> verdict;           // FORWARDED, DROPPED, AUDIT, ... (any case)
  std::vector<std::string> drop_reason_desc;  // POLICY_DENIED, ...
  std::vector<std::string> namespace_, from_namespace, to_namespace;
  std::vector<std::string> pod, from_pod, to_pod;
  std::vector<std::string> service, from_service, to_service;
  std::vector<std::string> label, from_label, to_label;
  std::vector<std::string> ip, from_ip, to_ip;
  std::vector<std::string> fqdn, from_fqdn, to_fqdn;
  std::vector<std::string> port, from_port, to_port;
  std::vector<std::string> identity, from_identity, to_identity;
  std::vector<std::string> protocol;           // tcp, udp, icmp, dns, http, ...
  std::vector<std::string> type;               // drop, trace[:to-endpoint], policy-verdict, l7, ...
  std::vector<std::string> traffic_direction;  // ingress, egress
  std::vector<std::string> node_name;          // glob, cluster/node or node
  std::vector<std::string> dns_query;          // regex
  std::vector<std::string> http_status;        // 404, 5+
  std::vector<std::string> http_method;
  std::vector<std::string> http_path;   // regex
  std::vector<std::string> ip_version;  // v4, v6
  std::optional<bool> reply;
};

struct FilterRequest {
  std::vector<::flow::FlowFilter> whitelist;
  std::vector<::flow::FlowFilter> blacklist;
};

// Builds the protos and validates them by compiling (so a bad value fails here, with the
// flag's name, rather than at the relay).
absl::StatusOr<FilterRequest> BuildObserveFilters(const ObserveFilterFlags& flags);

// Parses a `-t/--type` value ("drop", "trace:to-endpoint", "policy-verdict", "l7", "5").
absl::StatusOr<::flow::EventTypeFilter> ParseEventTypeFilter(absl::string_view text);

}  // namespace tw::flow
