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
//   tw::flow::ObserveFilterBuilder flags;          // from the command line, in order
//   flags.Set("verdict", "DROPPED");
//   flags.Set("namespace", "business");
//   auto req = flags.Build();                      // req->whitelist, req->blacklist
//
// Supported FlowFilter fields: uuid, source/destination_ip (exact or CIDR),
// source_ip_xlated, source/destination_pod and _service ("ns/prefix", "ns/" = whole
// namespace), source/destination_fqdn (glob, `*`),
// source/destination_label and node_labels (Kubernetes label selectors: `k=v`, `k!=v`, `k`,
// `!k`, `k in (a,b)`, `k notin (a,b)`; a key may carry a source prefix such as `k8s:app`,
// without one it matches any source), source/destination_workload,
// source/destination_cluster_name, source/destination_identity, verdict, drop_reason_desc,
// interface, event_type (type, and sub_type when match_sub_type), protocol (tcp, udp, sctp,
// icmp, icmpv4, icmpv6, vrrp, igmp, and dns/http/kafka for L7), source/destination_port,
// traffic_direction, reply (compares is_reply, absent = false), ip_version, tcp_flags,
// node_name (glob, `cluster/node` or `node`), dns_query, http_status_code ("404", "4+",
// "40+"), http_method, http_path, http_url, http_header (key and value), trace_id,
// encrypted. A pod or service name without "ns/" is in namespace "default"; "/name" and
// "/" match any namespace (as Hubble's server reads them). Hubble's regex fields (dns_query,
// http_path, http_url) use RE2 there; here they are std::regex ECMAScript, searched (not
// anchored) as RE2's MatchString does — the two dialects agree on ordinary patterns.
#pragma once

#include <functional>
#include <memory>
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
// Each populated field is compiled by a builder of its own (filter.cc's field table, after
// Hubble's pkg/hubble/filters) and the predicate is their conjunction.
absl::StatusOr<FlowPredicate> CompileFlowFilter(const ::flow::FlowFilter& filter);

// The FlowFilter fields CompileFlowFilter understands, by proto field name, in the order it
// applies them. Fields not listed are ignored.
const std::vector<absl::string_view>& FlowFilterFields();
// Only `field` of `filter` as a predicate (true for every flow when the field is empty);
// InvalidArgument for a field not in FlowFilterFields(). Tests check each builder with it.
absl::StatusOr<FlowPredicate> CompileFlowFilterField(absl::string_view field,
                                                     const ::flow::FlowFilter& filter);

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

// `hubble observe` filter flags, fed in command-line order, built into the request's
// whitelist and blacklist as hubble's CLI builds them:
//   - flags with a side (--from-pod, --to-port, ...) and side-less ones (--verdict,
//     --protocol, ...) constrain every filter; either-side flags (--pod, --ip, --label,
//     --port, --fqdn, --service, --identity, --workload, --cluster) make two filters, one on
//     the source ("left") and one on the destination ("right"), OR-ed; identical halves
//     collapse into one;
//   - --namespace/-n qualifies the pod and service names on its side, or alone selects the
//     namespace ("ns/"); -A/--all-namespaces does so for every namespace ("/name", "/");
//     a pod name without a namespace means namespace "default", as Hubble's server reads it;
//   - --not puts the next filter flag into the blacklist (its own left/right pair);
//   - combinations hubble refuses (--ip with --pod, --port with --to-port, --namespace with
//     --to-pod, ...) are errors with hubble's words.
//
//   ObserveFilterBuilder b;
//   b.Set("namespace", "business");
//   b.Not();
//   b.Set("verdict", "FORWARDED");
//   absl::StatusOr<FilterRequest> req = b.Build();
struct FilterRequest {
  std::vector<::flow::FlowFilter> whitelist;
  std::vector<::flow::FlowFilter> blacklist;
};

class ObserveFilterBuilder {
 public:
  ObserveFilterBuilder();
  ~ObserveFilterBuilder();
  ObserveFilterBuilder(ObserveFilterBuilder&&) noexcept;
  ObserveFilterBuilder& operator=(ObserveFilterBuilder&&) noexcept;

  // --not: the next filter goes into the blacklist.
  absl::Status Not();
  // One occurrence of a filter flag, named as hubble names it without the dashes
  // ("from-pod", "verdict", "all-namespaces", "ipv4", "tcp-flags", ...); `value` is ""
  // for flags that take none. Errors name the flag and say what was expected.
  absl::Status Set(absl::string_view flag, absl::string_view value);
  // The request; validated by compiling it (a bad label selector or regex fails here).
  absl::StatusOr<FilterRequest> Build() const;

  // The flag names Set() understands, and whether each takes a value.
  static const std::vector<std::pair<std::string, bool>>& Flags();

 private:
  struct Tracker;
  bool blacklisting_ = false;
  std::unique_ptr<Tracker> white_, black_;
};

// Parses a `-t/--type` value ("drop", "trace:to-endpoint", "policy-verdict", "l7", "5").
absl::StatusOr<::flow::EventTypeFilter> ParseEventTypeFilter(absl::string_view text);

}  // namespace tw::flow
