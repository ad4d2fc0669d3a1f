#include "flow/filter.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>
#include <optional>
#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/glob.h"
#include "common/status_macros.h"
#include "google/protobuf/util/message_differencer.h"

namespace tw::flow {

namespace {

absl::Status Bad(absl::string_view field, absl::string_view value, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("filter ", field, " \"", value, "\": ", why));
}

// --- generic predicates -------------------------------------------------------------

// Every field of one FlowFilter becomes one of these; the filter is their conjunction.
using Preds = std::vector<FlowPredicate>;

template <typename T, typename Get>
FlowPredicate AnyOf(std::vector<T> values, Get get) {
  return [values = std::move(values), get](const Flow& f) {
    const auto& v = get(f);
    for (const auto& want : values) {
      if (v == want) return true;
    }
    return false;
  };
}

// --- IPs --------------------------------------------------------------------------

struct IpMatcher {
  int family = AF_INET;
  std::array<uint8_t, 16> addr{};
  int prefix_bits = 0;  // full length for an exact address

  bool Matches(absl::string_view ip) const {
    if (ip.empty()) return false;
    std::array<uint8_t, 16> got{};
    std::string s(ip);
    int fam = s.find(':') != std::string::npos ? AF_INET6 : AF_INET;
    if (fam != family) return false;
    if (inet_pton(fam, s.c_str(), got.data()) != 1) return false;
    int full = prefix_bits / 8;
    if (std::memcmp(got.data(), addr.data(), full) != 0) return false;
    int rest = prefix_bits % 8;
    if (rest == 0) return true;
    uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
    return (got[full] & mask) == (addr[full] & mask);
  }
};

absl::StatusOr<IpMatcher> ParseIp(absl::string_view field, absl::string_view text) {
  IpMatcher m;
  std::string s(absl::StripAsciiWhitespace(text));
  std::string addr = s;
  int prefix = -1;
  size_t slash = s.find('/');
  if (slash != std::string::npos) {
    addr = s.substr(0, slash);
    if (!absl::SimpleAtoi(s.substr(slash + 1), &prefix)) {
      return Bad(field, text, "expected an IP address or CIDR (10.0.0.0/8)");
    }
  }
  m.family = addr.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  if (inet_pton(m.family, addr.c_str(), m.addr.data()) != 1) {
    return Bad(field, text, "expected an IP address or CIDR (10.0.0.0/8)");
  }
  int max_bits = m.family == AF_INET ? 32 : 128;
  if (prefix < 0) prefix = max_bits;
  if (prefix > max_bits) return Bad(field, text, "CIDR prefix length out of range");
  m.prefix_bits = prefix;
  return m;
}

// --- pods and services: "ns/prefix" -------------------------------------------------

struct NamespacedPrefix {
  std::string ns;  // "" = any namespace
  std::string prefix;
};

// Hubble's server reading of "[ns/][name-prefix]": "name" is in namespace "default",
// "ns/" is all of ns, "/name" and "/" are any namespace (what -A/--all-namespaces sends).
absl::StatusOr<NamespacedPrefix> ParseNamespaced(absl::string_view field, absl::string_view v) {
  NamespacedPrefix p;
  size_t slash = v.find('/');
  if (slash == absl::string_view::npos) {
    if (v.empty()) return Bad(field, v, "expected [namespace/][name-prefix]");
    p.ns = "default";
    p.prefix = std::string(v);
  } else {
    p.ns = std::string(v.substr(0, slash));
    p.prefix = std::string(v.substr(slash + 1));
    if (p.prefix.find('/') != std::string::npos) {
      return Bad(field, v, "expected [namespace/][name-prefix]");
    }
  }
  return p;
}

// --- globs ------------------------------------------------------------------------

bool DnsChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}
bool NodeChar(char c) { return c != '/'; }

std::string LowerNoDot(absl::string_view s) {
  s = absl::StripAsciiWhitespace(s);
  if (absl::EndsWith(s, ".")) s.remove_suffix(1);
  return absl::AsciiStrToLower(s);
}

// --- regex ------------------------------------------------------------------------

absl::StatusOr<std::shared_ptr<const std::regex>> CompileRegex(absl::string_view field,
                                                               absl::string_view text) {
  try {
    return std::make_shared<const std::regex>(std::string(text), std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return Bad(field, text, absl::StrCat("invalid regular expression: ", e.what()));
  }
}

bool RegexSearch(const std::vector<std::shared_ptr<const std::regex>>& res, const std::string& s) {
  for (const auto& re : res) {
    if (std::regex_search(s, *re)) return true;
  }
  return false;
}

// --- label selectors ----------------------------------------------------------------

struct ParsedLabel {
  absl::string_view source, key, value;
};

ParsedLabel SplitLabel(absl::string_view l) {
  ParsedLabel p;
  size_t eq = l.find('=');
  size_t colon = l.find(':');
  if (colon != absl::string_view::npos && (eq == absl::string_view::npos || colon < eq)) {
    p.source = l.substr(0, colon);
    l.remove_prefix(colon + 1);
    if (eq != absl::string_view::npos) eq -= colon + 1;
  }
  if (eq == absl::string_view::npos) {
    p.key = l;
  } else {
    p.key = l.substr(0, eq);
    p.value = l.substr(eq + 1);
  }
  return p;
}

absl::Status SetKey(absl::string_view selector, absl::string_view key,
                    LabelSelector::Requirement* r) {
  key = absl::StripAsciiWhitespace(key);
  if (key.empty() || key.find_first_of(" \t(),!=") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("label selector \"", selector, "\": invalid key \"", key, "\""));
  }
  size_t colon = key.find(':');
  if (colon != absl::string_view::npos) {
    r->source = std::string(key.substr(0, colon));
    if (r->source == "any") r->source.clear();
    key.remove_prefix(colon + 1);
    if (key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("label selector \"", selector, "\": empty key after source prefix"));
    }
  }
  r->key = std::string(key);
  return absl::OkStatus();
}

// Splits on commas that are not inside parentheses.
std::vector<std::string> SplitTopLevel(absl::string_view s) {
  std::vector<std::string> out;
  int depth = 0;
  std::string cur;
  for (char c : s) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

// --- misc parsing -------------------------------------------------------------------

absl::StatusOr<uint16_t> ParsePort(absl::string_view field, absl::string_view v) {
  uint32_t port;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(v), &port) || port > 65535) {
    return Bad(field, v, "expected a port number 0-65535");
  }
  return static_cast<uint16_t>(port);
}

uint16_t TcpFlagsMask(const ::flow::TCPFlags& f) {
  uint16_t m = 0;
  if (f.fin()) m |= kFIN;
  if (f.syn()) m |= kSYN;
  if (f.rst()) m |= kRST;
  if (f.psh()) m |= kPSH;
  if (f.ack()) m |= kACK;
  if (f.urg()) m |= kURG;
  if (f.ece()) m |= kECE;
  if (f.cwr()) m |= kCWR;
  if (f.ns()) m |= kNS;
  return m;
}

bool HasPorts(const Flow& f) {
  return f.l4.protocol == Protocol::kTCP || f.l4.protocol == Protocol::kUDP ||
         f.l4.protocol == Protocol::kSCTP;
}

absl::string_view UrlPath(absl::string_view url) {
  size_t scheme = url.find("://");
  if (scheme != absl::string_view::npos) {
    url.remove_prefix(scheme + 3);
    size_t slash = url.find('/');
    url = slash == absl::string_view::npos ? absl::string_view() : url.substr(slash);
  }
  size_t q = url.find_first_of("?#");
  if (q != absl::string_view::npos) url = url.substr(0, q);
  return url;
}

// --- per-field compilers ------------------------------------------------------------

// Parses every value of a repeated field with `parse(field, value)`; the first bad value is
// the error.
template <typename T, typename Parse>
absl::StatusOr<std::vector<T>> ParseAll(
    absl::string_view field, const google::protobuf::RepeatedPtrField<std::string>& values,
    Parse parse) {
  std::vector<T> out;
  out.reserve(values.size());
  for (const auto& v : values) {
    TW_ASSIGN_OR_RETURN(T parsed, parse(field, v));
    out.push_back(std::move(parsed));
  }
  return out;
}

template <typename GetEp>
absl::Status AddIps(Preds* preds, absl::string_view field,
                    const google::protobuf::RepeatedPtrField<std::string>& values, GetEp get) {
  if (values.empty()) return absl::OkStatus();
  TW_ASSIGN_OR_RETURN(std::vector<IpMatcher> ms, ParseAll<IpMatcher>(field, values, ParseIp));
  preds->push_back([ms = std::move(ms), get](const Flow& f) {
    const std::string& ip = get(f);
    for (const auto& m : ms) {
      if (m.Matches(ip)) return true;
    }
    return false;
  });
  return absl::OkStatus();
}

template <typename GetNsName>
absl::Status AddNamespaced(Preds* preds, absl::string_view field,
                           const google::protobuf::RepeatedPtrField<std::string>& values,
                           GetNsName get) {
  if (values.empty()) return absl::OkStatus();
  TW_ASSIGN_OR_RETURN(std::vector<NamespacedPrefix> ps,
                      ParseAll<NamespacedPrefix>(field, values, ParseNamespaced));
  preds->push_back([ps = std::move(ps), get](const Flow& f) {
    auto [ns, name] = get(f);
    if (ns.empty() && name.empty()) return false;  // not a Kubernetes endpoint
    for (const auto& p : ps) {
      if ((p.ns.empty() || ns == p.ns) && absl::StartsWith(name, p.prefix)) return true;
    }
    return false;
  });
  return absl::OkStatus();
}

template <typename GetNames>
absl::Status AddFqdns(Preds* preds, absl::string_view field,
                      const google::protobuf::RepeatedPtrField<std::string>& values, GetNames get) {
  if (values.empty()) return absl::OkStatus();
  std::vector<std::string> pats;
  for (const auto& v : values) {
    std::string p = LowerNoDot(v);
    if (p.empty()) return Bad(field, v, "empty FQDN pattern");
    for (char c : p) {
      if (c != '*' && !DnsChar(c))
        return Bad(field, v, "expected a DNS name pattern (*.example.com)");
    }
    pats.push_back(std::move(p));
  }
  preds->push_back([pats = std::move(pats), get](const Flow& f) {
    for (Symbol n : get(f)) {
      std::string name = LowerNoDot(n.view());
      for (const auto& p : pats) {
        if (GlobMatch(p, name, DnsChar)) return true;
      }
    }
    return false;
  });
  return absl::OkStatus();
}

template <typename GetLabels>
absl::Status AddLabels(Preds* preds, const google::protobuf::RepeatedPtrField<std::string>& values,
                       GetLabels get) {
  if (values.empty()) return absl::OkStatus();
  std::vector<LabelSelector> sels;
  for (const auto& v : values) {
    auto s = LabelSelector::Parse(v);
    if (!s.ok()) return s.status();
    sels.push_back(*std::move(s));
  }
  preds->push_back([sels = std::move(sels), get](const Flow& f) {
    const std::vector<Symbol>& labels = get(f);
    for (const auto& s : sels) {
      if (s.Matches(labels)) return true;
    }
    return false;
  });
  return absl::OkStatus();
}

template <typename GetPort>
absl::Status AddPorts(Preds* preds, absl::string_view field,
                      const google::protobuf::RepeatedPtrField<std::string>& values, GetPort get) {
  if (values.empty()) return absl::OkStatus();
  TW_ASSIGN_OR_RETURN(std::vector<uint16_t> ports, ParseAll<uint16_t>(field, values, ParsePort));
  preds->push_back([ports = std::move(ports), get](const Flow& f) {
    if (!HasPorts(f)) return false;
    uint16_t got = get(f);
    for (uint16_t p : ports) {
      if (p == got) return true;
    }
    return false;
  });
  return absl::OkStatus();
}

template <typename GetEp>
void AddWorkloads(Preds* preds, const google::protobuf::RepeatedPtrField<::flow::Workload>& values,
                  GetEp get) {
  if (values.empty()) return;
  std::vector<std::pair<std::string, std::string>> ws;
  for (const auto& w : values) ws.emplace_back(w.name(), w.kind());
  preds->push_back([ws = std::move(ws), get](const Flow& f) {
    const Endpoint& ep = get(f);
    for (const auto& [name, kind] : ws) {
      for (const auto& have : ep.workloads) {
        if ((name.empty() || have.name == name) && (kind.empty() || have.kind == kind)) {
          return true;
        }
      }
    }
    return false;
  });
}

template <typename T>
std::vector<T> ToVector(const google::protobuf::RepeatedPtrField<T>& r) {
  return std::vector<T>(r.begin(), r.end());
}
template <typename T>
std::vector<T> ToVector(const google::protobuf::RepeatedField<T>& r) {
  return std::vector<T>(r.begin(), r.end());
}

}  // namespace

// --- LabelSelector ------------------------------------------------------------------

absl::StatusOr<LabelSelector> LabelSelector::Parse(absl::string_view selector) {
  LabelSelector sel;
  if (absl::StripAsciiWhitespace(selector).empty()) {
    return absl::InvalidArgumentError("label selector is empty");
  }
  for (const std::string& raw : SplitTopLevel(selector)) {
    absl::string_view part = absl::StripAsciiWhitespace(raw);
    if (part.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("label selector \"", selector, "\": empty requirement"));
    }
    Requirement r;
    size_t paren = part.find('(');
    if (paren != absl::string_view::npos) {
      // key in (a,b) / key notin (a,b)
      if (!absl::EndsWith(part, ")")) {
        return absl::InvalidArgumentError(
            absl::StrCat("label selector \"", selector, "\": missing ')'"));
      }
      absl::string_view head = absl::StripAsciiWhitespace(part.substr(0, paren));
      size_t sp = head.find_last_of(" \t");
      if (sp == absl::string_view::npos) {
        return absl::InvalidArgumentError(absl::StrCat(
            "label selector \"", selector, "\": expected `key in (a,b)` or `key notin (a,b)`"));
      }
      absl::string_view op = head.substr(sp + 1);
      if (op == "in") {
        r.op = Op::kIn;
      } else if (op == "notin") {
        r.op = Op::kNotIn;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("label selector \"", selector, "\": unknown operator \"", op, "\""));
      }
      auto st = SetKey(selector, head.substr(0, sp), &r);
      if (!st.ok()) return st;
      absl::string_view inner = part.substr(paren + 1, part.size() - paren - 2);
      for (absl::string_view v : absl::StrSplit(inner, ',')) {
        v = absl::StripAsciiWhitespace(v);
        if (!v.empty()) r.values.emplace_back(v);
      }
      if (r.values.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("label selector \"", selector, "\": empty value set"));
      }
    } else if (size_t ne = part.find("!="); ne != absl::string_view::npos) {
      r.op = Op::kNotIn;
      auto st = SetKey(selector, part.substr(0, ne), &r);
      if (!st.ok()) return st;
      r.values.emplace_back(absl::StripAsciiWhitespace(part.substr(ne + 2)));
    } else if (size_t eq = part.find('='); eq != absl::string_view::npos) {
      r.op = Op::kIn;
      size_t vstart = eq + 1;
      if (vstart < part.size() && part[vstart] == '=') ++vstart;
      auto st = SetKey(selector, part.substr(0, eq), &r);
      if (!st.ok()) return st;
      r.values.emplace_back(absl::StripAsciiWhitespace(part.substr(vstart)));
    } else if (part[0] == '!') {
      r.op = Op::kNotExists;
      auto st = SetKey(selector, part.substr(1), &r);
      if (!st.ok()) return st;
    } else {
      r.op = Op::kExists;
      auto st = SetKey(selector, part, &r);
      if (!st.ok()) return st;
    }
    sel.requirements_.push_back(std::move(r));
  }
  return sel;
}

bool LabelSelector::Matches(const std::vector<Symbol>& labels) const {
  for (const auto& r : requirements_) {
    bool present = false;
    bool value_in = false;
    for (Symbol l : labels) {
      ParsedLabel p = SplitLabel(l.view());
      if (p.key != r.key || (!r.source.empty() && p.source != r.source)) continue;
      present = true;
      for (const auto& v : r.values) {
        if (p.value == v) value_in = true;
      }
    }
    bool ok = false;
    switch (r.op) {
      case Op::kExists:
        ok = present;
        break;
      case Op::kNotExists:
        ok = !present;
        break;
      case Op::kIn:
        ok = value_in;
        break;
      case Op::kNotIn:
        ok = !value_in;
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool FqdnGlobMatch(absl::string_view pattern, absl::string_view name) {
  return GlobMatch(LowerNoDot(pattern), LowerNoDot(name), DnsChar);
}

// --- CompileFlowFilter: one builder per FlowFilter field ------------------------------

namespace {

using ::flow::FlowFilter;

// Adds the predicate for one field of `ff` to `p` when that field is populated; an error
// names the field and the bad value. Every builder is a small function of its own so that
// each field's semantics can be read (and tested) alone.
using FieldBuilder = absl::Status (*)(const FlowFilter& ff, Preds* p);

const std::string& SourceIp(const Flow& f) { return f.source_ip; }
const std::string& SourceIpXlated(const Flow& f) { return f.source_ip_xlated; }
const std::string& DestinationIp(const Flow& f) { return f.destination_ip; }
const std::vector<Symbol>& SourceNames(const Flow& f) { return f.source_names; }
const std::vector<Symbol>& DestinationNames(const Flow& f) { return f.destination_names; }
const std::vector<Symbol>& SourceLabels(const Flow& f) { return f.source.labels; }
const std::vector<Symbol>& DestinationLabels(const Flow& f) { return f.destination.labels; }
const std::vector<Symbol>& NodeLabels(const Flow& f) { return f.node_labels; }
const Endpoint& SourceEndpoint(const Flow& f) { return f.source; }
const Endpoint& DestinationEndpoint(const Flow& f) { return f.destination; }

absl::Status BuildUuid(const FlowFilter& ff, Preds* p) {
  if (ff.uuid_size() > 0) {
    p->push_back(
        AnyOf(ToVector(ff.uuid()), [](const Flow& f) -> const std::string& { return f.uuid; }));
  }
  return absl::OkStatus();
}

absl::Status BuildSourceIp(const FlowFilter& ff, Preds* p) {
  return AddIps(p, "source_ip", ff.source_ip(), SourceIp);
}
absl::Status BuildSourceIpXlated(const FlowFilter& ff, Preds* p) {
  return AddIps(p, "source_ip_xlated", ff.source_ip_xlated(), SourceIpXlated);
}
absl::Status BuildDestinationIp(const FlowFilter& ff, Preds* p) {
  return AddIps(p, "destination_ip", ff.destination_ip(), DestinationIp);
}

absl::Status BuildSourcePod(const FlowFilter& ff, Preds* p) {
  return AddNamespaced(p, "source_pod", ff.source_pod(), [](const Flow& f) {
    return std::make_pair(f.source.namespace_.view(), f.source.pod_name.view());
  });
}
absl::Status BuildDestinationPod(const FlowFilter& ff, Preds* p) {
  return AddNamespaced(p, "destination_pod", ff.destination_pod(), [](const Flow& f) {
    return std::make_pair(f.destination.namespace_.view(), f.destination.pod_name.view());
  });
}
absl::Status BuildSourceService(const FlowFilter& ff, Preds* p) {
  return AddNamespaced(p, "source_service", ff.source_service(), [](const Flow& f) {
    return std::make_pair(f.source_service.namespace_.view(), f.source_service.name.view());
  });
}
absl::Status BuildDestinationService(const FlowFilter& ff, Preds* p) {
  return AddNamespaced(p, "destination_service", ff.destination_service(), [](const Flow& f) {
    return std::make_pair(f.destination_service.namespace_.view(),
                          f.destination_service.name.view());
  });
}

absl::Status BuildSourceFqdn(const FlowFilter& ff, Preds* p) {
  return AddFqdns(p, "source_fqdn", ff.source_fqdn(), SourceNames);
}
absl::Status BuildDestinationFqdn(const FlowFilter& ff, Preds* p) {
  return AddFqdns(p, "destination_fqdn", ff.destination_fqdn(), DestinationNames);
}

absl::Status BuildSourceLabel(const FlowFilter& ff, Preds* p) {
  return AddLabels(p, ff.source_label(), SourceLabels);
}
absl::Status BuildDestinationLabel(const FlowFilter& ff, Preds* p) {
  return AddLabels(p, ff.destination_label(), DestinationLabels);
}
absl::Status BuildNodeLabels(const FlowFilter& ff, Preds* p) {
  return AddLabels(p, ff.node_labels(), NodeLabels);
}

absl::Status BuildSourceWorkload(const FlowFilter& ff, Preds* p) {
  AddWorkloads(p, ff.source_workload(), SourceEndpoint);
  return absl::OkStatus();
}
absl::Status BuildDestinationWorkload(const FlowFilter& ff, Preds* p) {
  AddWorkloads(p, ff.destination_workload(), DestinationEndpoint);
  return absl::OkStatus();
}

absl::Status BuildSourceClusterName(const FlowFilter& ff, Preds* p) {
  if (ff.source_cluster_name_size() > 0) {
    p->push_back(AnyOf(ToVector(ff.source_cluster_name()),
                       [](const Flow& f) { return f.source.cluster_name.str(); }));
  }
  return absl::OkStatus();
}
absl::Status BuildDestinationClusterName(const FlowFilter& ff, Preds* p) {
  if (ff.destination_cluster_name_size() > 0) {
    p->push_back(AnyOf(ToVector(ff.destination_cluster_name()),
                       [](const Flow& f) { return f.destination.cluster_name.str(); }));
  }
  return absl::OkStatus();
}

// Enum fields arrive as ints; the flow model's enums share Hubble's numbering.
template <typename E, typename Get>
void AddEnums(Preds* p, const google::protobuf::RepeatedField<int>& values, Get get) {
  if (values.empty()) return;
  std::vector<E> v;
  for (int d : values) v.push_back(static_cast<E>(d));
  p->push_back(AnyOf(std::move(v), get));
}

absl::Status BuildTrafficDirection(const FlowFilter& ff, Preds* p) {
  AddEnums<TrafficDirection>(p, ff.traffic_direction(),
                             [](const Flow& f) { return f.traffic_direction; });
  return absl::OkStatus();
}
absl::Status BuildVerdict(const FlowFilter& ff, Preds* p) {
  AddEnums<Verdict>(p, ff.verdict(), [](const Flow& f) { return f.verdict; });
  return absl::OkStatus();
}
absl::Status BuildDropReasonDesc(const FlowFilter& ff, Preds* p) {
  // EffectiveDropReason: older captures carry the reason only in the deprecated field or
  // the drop event's sub_type; a relay built from them should still answer the filter.
  AddEnums<uint32_t>(p, ff.drop_reason_desc(),
                     [](const Flow& f) { return f.EffectiveDropReason(); });
  return absl::OkStatus();
}
absl::Status BuildIpVersion(const FlowFilter& ff, Preds* p) {
  AddEnums<IpVersion>(p, ff.ip_version(), [](const Flow& f) { return f.ip_version; });
  return absl::OkStatus();
}

absl::Status BuildInterface(const FlowFilter& ff, Preds* p) {
  if (ff.interface_size() == 0) return absl::OkStatus();
  std::vector<std::pair<uint32_t, std::string>> ifs;
  for (const auto& i : ff.interface()) ifs.emplace_back(i.index(), i.name());
  p->push_back([ifs = std::move(ifs)](const Flow& f) {
    for (const auto& [index, name] : ifs) {
      if ((index == 0 || f.interface_index == index) &&
          (name.empty() || f.interface_name == name)) {
        return true;
      }
    }
    return false;
  });
  return absl::OkStatus();
}

absl::Status BuildEventType(const FlowFilter& ff, Preds* p) {
  if (ff.event_type_size() == 0) return absl::OkStatus();
  std::vector<::flow::EventTypeFilter> ets(ff.event_type().begin(), ff.event_type().end());
  p->push_back([ets = std::move(ets)](const Flow& f) {
    for (const auto& e : ets) {
      if (e.type() == f.event_type && (!e.match_sub_type() || e.sub_type() == f.event_sub_type)) {
        return true;
      }
    }
    return false;
  });
  return absl::OkStatus();
}

absl::Status BuildHttpStatusCode(const FlowFilter& ff, Preds* p) {
  if (ff.http_status_code_size() == 0) return absl::OkStatus();
  // "404" exact; "4+" / "40+" a prefix of the three-digit code (Hubble's syntax).
  std::vector<std::pair<std::string, bool>> codes;
  for (const auto& c : ff.http_status_code()) {
    bool full = c.size() == 3 && c[0] >= '1' && c[0] <= '5' && absl::ascii_isdigit(c[1]) &&
                absl::ascii_isdigit(c[2]);
    bool prefix = (c.size() == 2 || c.size() == 3) && c.back() == '+' && c[0] >= '1' &&
                  c[0] <= '5' && (c.size() == 2 || absl::ascii_isdigit(c[1]));
    if (!full && !prefix) {
      return Bad("http_status_code", c,
                 "expected a status code (404) or a prefix of one (5+, 40+)");
    }
    codes.emplace_back(prefix ? c.substr(0, c.size() - 1) : c, prefix);
  }
  p->push_back([codes = std::move(codes)](const Flow& f) {
    if (!f.l7 || !f.l7->http || f.l7->http->code == 0) return false;
    std::string got = absl::StrFormat("%03d", f.l7->http->code);
    for (const auto& [code, prefix] : codes) {
      if (prefix ? absl::StartsWith(got, code) : got == code) return true;
    }
    return false;
  });
  return absl::OkStatus();
}

bool FlowHasProtocol(const Flow& f, const std::string& pr) {
  if (pr == "dns") return f.l7 && f.l7->dns;
  if (pr == "http") return f.l7 && f.l7->http;
  if (pr == "kafka") return false;  // Kafka records are not part of the flow model.
  if (pr == "icmp") {
    return f.l4.protocol == Protocol::kICMPv4 || f.l4.protocol == Protocol::kICMPv6;
  }
  auto want = ProtocolFromName(pr);
  return want && f.l4.protocol == *want;
}

absl::Status BuildProtocol(const FlowFilter& ff, Preds* p) {
  if (ff.protocol_size() == 0) return absl::OkStatus();
  static const char* const kKnown[] = {"tcp",  "udp",  "sctp", "icmp", "icmpv4", "icmpv6",
                                       "vrrp", "igmp", "dns",  "http", "kafka"};
  std::vector<std::string> protos;
  for (const auto& pr : ff.protocol()) {
    std::string l = absl::AsciiStrToLower(absl::StripAsciiWhitespace(pr));
    bool known = false;
    for (const char* k : kKnown) known |= l == k;
    if (!known) {
      return Bad("protocol", pr,
                 "expected tcp, udp, sctp, icmp, icmpv4, icmpv6, vrrp, igmp, dns, http or kafka");
    }
    protos.push_back(std::move(l));
  }
  p->push_back([protos = std::move(protos)](const Flow& f) {
    for (const auto& pr : protos) {
      if (FlowHasProtocol(f, pr)) return true;
    }
    return false;
  });
  return absl::OkStatus();
}

absl::Status BuildSourcePort(const FlowFilter& ff, Preds* p) {
  return AddPorts(p, "source_port", ff.source_port(),
                  [](const Flow& f) { return f.l4.source_port; });
}
absl::Status BuildDestinationPort(const FlowFilter& ff, Preds* p) {
  return AddPorts(p, "destination_port", ff.destination_port(),
                  [](const Flow& f) { return f.l4.destination_port; });
}

absl::Status BuildReply(const FlowFilter& ff, Preds* p) {
  if (ff.reply_size() > 0) {
    p->push_back(
        AnyOf(ToVector(ff.reply()), [](const Flow& f) { return f.is_reply.value_or(false); }));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::shared_ptr<const std::regex>>> CompileRegexes(
    absl::string_view field, const google::protobuf::RepeatedPtrField<std::string>& values) {
  return ParseAll<std::shared_ptr<const std::regex>>(field, values, CompileRegex);
}

absl::Status BuildDnsQuery(const FlowFilter& ff, Preds* p) {
  if (ff.dns_query_size() == 0) return absl::OkStatus();
  TW_ASSIGN_OR_RETURN(auto res, CompileRegexes("dns_query", ff.dns_query()));
  p->push_back([res = std::move(res)](const Flow& f) {
    return f.l7 && f.l7->dns && RegexSearch(res, f.l7->dns->query);
  });
  return absl::OkStatus();
}

absl::Status BuildSourceIdentity(const FlowFilter& ff, Preds* p) {
  if (ff.source_identity_size() > 0) {
    p->push_back(
        AnyOf(ToVector(ff.source_identity()), [](const Flow& f) { return f.source.identity; }));
  }
  return absl::OkStatus();
}
absl::Status BuildDestinationIdentity(const FlowFilter& ff, Preds* p) {
  if (ff.destination_identity_size() > 0) {
    p->push_back(AnyOf(ToVector(ff.destination_identity()),
                       [](const Flow& f) { return f.destination.identity; }));
  }
  return absl::OkStatus();
}

absl::Status BuildHttpMethod(const FlowFilter& ff, Preds* p) {
  if (ff.http_method_size() == 0) return absl::OkStatus();
  std::vector<std::string> ms;
  for (const auto& m : ff.http_method()) ms.push_back(absl::AsciiStrToUpper(m));
  p->push_back([ms = std::move(ms)](const Flow& f) {
    if (!f.l7 || !f.l7->http) return false;
    for (const auto& m : ms) {
      if (absl::EqualsIgnoreCase(f.l7->http->method, m)) return true;
    }
    return false;
  });
  return absl::OkStatus();
}

// http_path matches the URL's path only; http_url the whole URL.
absl::Status AddHttpUrl(Preds* p, absl::string_view field,
                        const google::protobuf::RepeatedPtrField<std::string>& values,
                        bool path_only) {
  if (values.empty()) return absl::OkStatus();
  TW_ASSIGN_OR_RETURN(auto res, CompileRegexes(field, values));
  p->push_back([res = std::move(res), path_only](const Flow& f) {
    if (!f.l7 || !f.l7->http) return false;
    const std::string& url = f.l7->http->url;
    return RegexSearch(res, path_only ? std::string(UrlPath(url)) : url);
  });
  return absl::OkStatus();
}
absl::Status BuildHttpPath(const FlowFilter& ff, Preds* p) {
  return AddHttpUrl(p, "http_path", ff.http_path(), /*path_only=*/true);
}
absl::Status BuildHttpUrl(const FlowFilter& ff, Preds* p) {
  return AddHttpUrl(p, "http_url", ff.http_url(), /*path_only=*/false);
}

absl::Status BuildHttpHeader(const FlowFilter& ff, Preds* p) {
  if (ff.http_header_size() == 0) return absl::OkStatus();
  std::vector<std::pair<std::string, std::string>> want;
  for (const auto& h : ff.http_header()) want.emplace_back(h.key(), h.value());
  p->push_back([want = std::move(want)](const Flow& f) {
    if (!f.l7 || !f.l7->http) return false;
    for (const auto& w : want) {
      for (const auto& h : f.l7->http->headers) {
        if (h == w) return true;
      }
    }
    return false;
  });
  return absl::OkStatus();
}

absl::Status BuildTraceId(const FlowFilter& ff, Preds* p) {
  if (ff.trace_id_size() > 0) {
    p->push_back(AnyOf(ToVector(ff.trace_id()),
                       [](const Flow& f) -> const std::string& { return f.trace_id; }));
  }
  return absl::OkStatus();
}

absl::Status BuildEncrypted(const FlowFilter& ff, Preds* p) {
  if (ff.encrypted_size() > 0) {
    p->push_back(AnyOf(ToVector(ff.encrypted()), [](const Flow& f) { return f.encrypted; }));
  }
  return absl::OkStatus();
}

absl::Status BuildTcpFlags(const FlowFilter& ff, Preds* p) {
  if (ff.tcp_flags_size() == 0) return absl::OkStatus();
  std::vector<uint16_t> masks;
  for (const auto& t : ff.tcp_flags()) masks.push_back(TcpFlagsMask(t));
  p->push_back([masks = std::move(masks)](const Flow& f) {
    if (f.l4.protocol != Protocol::kTCP) return false;
    for (uint16_t m : masks) {
      if ((f.l4.tcp_flags & m) == m) return true;
    }
    return false;
  });
  return absl::OkStatus();
}

// A node name pattern split into cluster and node globs ("*" when the cluster is not given).
absl::StatusOr<std::pair<std::string, std::string>> ParseNodePattern(const std::string& n) {
  std::string l = absl::AsciiStrToLower(absl::StripAsciiWhitespace(n));
  std::vector<std::string> parts = absl::StrSplit(l, '/');
  if (l.empty() || parts.size() > 2 || parts.back().empty()) {
    return Bad("node_name", n, "expected a node name pattern: node or cluster/node");
  }
  if (parts.size() == 1) return std::make_pair(std::string("*"), parts[0]);
  return std::make_pair(parts[0].empty() ? std::string("*") : parts[0], parts[1]);
}

absl::Status BuildNodeName(const FlowFilter& ff, Preds* p) {
  if (ff.node_name_size() == 0) return absl::OkStatus();
  // "cluster/node" or "node" (any cluster); `*` stays within one part.
  std::vector<std::pair<std::string, std::string>> pats;
  for (const auto& n : ff.node_name()) {
    TW_ASSIGN_OR_RETURN(auto pat, ParseNodePattern(n));
    pats.push_back(std::move(pat));
  }
  p->push_back([pats = std::move(pats)](const Flow& f) {
    std::string name = absl::AsciiStrToLower(f.node_name.view());
    if (name.empty()) return false;
    absl::string_view cluster, node = name;
    size_t slash = name.rfind('/');
    bool has_cluster = slash != std::string::npos;
    if (has_cluster) {
      cluster = absl::string_view(name).substr(0, slash);
      node = absl::string_view(name).substr(slash + 1);
    }
    for (const auto& [cp, np] : pats) {
      if (!GlobMatch(np, node, NodeChar)) continue;
      if (!has_cluster || GlobMatch(cp, cluster, NodeChar)) return true;
    }
    return false;
  });
  return absl::OkStatus();
}

struct FieldRule {
  absl::string_view field;  // the FlowFilter field's proto name
  FieldBuilder build;
};

// Every supported field, cheap exact comparisons roughly first (the conjunction stops at
// the first predicate that fails).
constexpr FieldRule kFieldRules[] = {
    {"uuid", BuildUuid},
    {"source_ip", BuildSourceIp},
    {"source_ip_xlated", BuildSourceIpXlated},
    {"destination_ip", BuildDestinationIp},
    {"source_pod", BuildSourcePod},
    {"destination_pod", BuildDestinationPod},
    {"source_service", BuildSourceService},
    {"destination_service", BuildDestinationService},
    {"source_fqdn", BuildSourceFqdn},
    {"destination_fqdn", BuildDestinationFqdn},
    {"source_label", BuildSourceLabel},
    {"destination_label", BuildDestinationLabel},
    {"node_labels", BuildNodeLabels},
    {"source_workload", BuildSourceWorkload},
    {"destination_workload", BuildDestinationWorkload},
    {"source_cluster_name", BuildSourceClusterName},
    {"destination_cluster_name", BuildDestinationClusterName},
    {"traffic_direction", BuildTrafficDirection},
    {"verdict", BuildVerdict},
    {"drop_reason_desc", BuildDropReasonDesc},
    {"interface", BuildInterface},
    {"event_type", BuildEventType},
    {"http_status_code", BuildHttpStatusCode},
    {"protocol", BuildProtocol},
    {"source_port", BuildSourcePort},
    {"destination_port", BuildDestinationPort},
    {"reply", BuildReply},
    {"dns_query", BuildDnsQuery},
    {"source_identity", BuildSourceIdentity},
    {"destination_identity", BuildDestinationIdentity},
    {"http_method", BuildHttpMethod},
    {"http_path", BuildHttpPath},
    {"http_url", BuildHttpUrl},
    {"http_header", BuildHttpHeader},
    {"trace_id", BuildTraceId},
    {"encrypted", BuildEncrypted},
    {"tcp_flags", BuildTcpFlags},
    {"node_name", BuildNodeName},
    {"ip_version", BuildIpVersion},
};

FlowPredicate AllOf(Preds p) {
  return [p = std::move(p)](const Flow& f) {
    for (const auto& pred : p) {
      if (!pred(f)) return false;
    }
    return true;
  };
}

}  // namespace

const std::vector<absl::string_view>& FlowFilterFields() {
  static const std::vector<absl::string_view>* const kFields = [] {
    auto* v = new std::vector<absl::string_view>();
    for (const FieldRule& r : kFieldRules) v->push_back(r.field);
    return v;
  }();
  return *kFields;
}

absl::StatusOr<FlowPredicate> CompileFlowFilterField(absl::string_view field,
                                                     const ::flow::FlowFilter& filter) {
  for (const FieldRule& r : kFieldRules) {
    if (r.field != field) continue;
    Preds p;
    TW_RETURN_IF_ERROR(r.build(filter, &p));
    return AllOf(std::move(p));
  }
  return absl::InvalidArgumentError(absl::StrCat("filter field \"", field, "\" is not supported"));
}

absl::StatusOr<FlowPredicate> CompileFlowFilter(const ::flow::FlowFilter& ff) {
  Preds p;
  for (const FieldRule& r : kFieldRules) TW_RETURN_IF_ERROR(r.build(ff, &p));
  return AllOf(std::move(p));
}

bool FlowFilterSet::Matches(const Flow& flow) const {
  if (!whitelist_.empty()) {
    bool any = false;
    for (const auto& w : whitelist_) {
      if (w(flow)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  for (const auto& b : blacklist_) {
    if (b(flow)) return false;
  }
  return true;
}

// --- the hubble observe flag set ------------------------------------------------------

absl::StatusOr<::flow::EventTypeFilter> ParseEventTypeFilter(absl::string_view text) {
  static const std::pair<const char*, int> kTypes[] = {
      {"drop", kEventDrop},
      {"debug", kEventDebug},
      {"capture", kEventCapture},
      {"trace", kEventTrace},
      {"policy-verdict", kEventPolicyVerdict},
      {"recorder", 6},
      {"trace-sock", kEventTraceSock},
      {"sock", kEventTraceSock},
      {"l7", kEventL7},
      {"agent", kEventAgent},
  };
  // Datapath observation points (the sub_type of trace events), hubble-api.md §5.12.
  static const char* const kTracePoints[] = {
      "to-endpoint",   "to-proxy",   "to-host",     "to-stack",   "to-overlay",
      "from-endpoint", "from-proxy", "from-host",   "from-stack", "from-overlay",
      "from-network",  "to-network", "from-crypto", "to-crypto"};
  std::string l = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  std::pair<std::string, std::string> parts = absl::StrSplit(l, absl::MaxSplits(':', 1));
  ::flow::EventTypeFilter f;
  int type = -1;
  for (const auto& [name, code] : kTypes) {
    if (parts.first == name) type = code;
  }
  if (type < 0 && !absl::SimpleAtoi(parts.first, &type)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--type \"", text,
        "\": expected drop, trace, policy-verdict, l7, capture, debug, trace-sock, agent or a "
        "number, optionally with :subtype (trace:to-endpoint, drop:133)"));
  }
  f.set_type(type);
  if (!parts.second.empty()) {
    int sub = -1;
    if (type == kEventTrace) {
      for (int i = 0; i < 14; ++i) {
        if (parts.second == kTracePoints[i]) sub = i;
      }
    }
    if (sub < 0 && type == kEventDrop) {
      auto r = DropReasonFromName(absl::AsciiStrToUpper(parts.second));
      if (r) sub = static_cast<int>(*r);
    }
    if (sub < 0 && !absl::SimpleAtoi(parts.second, &sub)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--type \"", text, "\": unknown subtype \"", parts.second, "\""));
    }
    f.set_match_sub_type(true);
    f.set_sub_type(sub);
  }
  return f;
}

namespace {

// Groups of flags hubble will not combine in one filter (cmd/observe's conflict table).
const std::vector<std::vector<std::string>>& Conflicts() {
  static const auto* groups = new std::vector<std::vector<std::string>>{
      {"from-fqdn", "from-ip", "ip", "fqdn", "from-namespace", "namespace", "from-all-namespaces",
       "all-namespaces"},
      {"from-fqdn", "from-ip", "ip", "fqdn", "from-pod", "pod"},
      {"to-fqdn", "to-ip", "ip", "fqdn", "to-namespace", "namespace", "to-all-namespaces",
       "all-namespaces"},
      {"to-fqdn", "to-ip", "ip", "fqdn", "to-pod", "pod"},
      {"to-pod", "namespace", "all-namespaces"},
      {"from-pod", "namespace", "all-namespaces"},
      {"to-service", "namespace", "all-namespaces"},
      {"from-service", "namespace", "all-namespaces"},
      {"label", "from-label"},
      {"label", "to-label"},
      {"service", "from-service"},
      {"service", "to-service"},
      {"port", "to-port"},
      {"port", "from-port"},
      {"identity", "to-identity"},
      {"identity", "from-identity"},
      {"workload", "to-workload"},
      {"workload", "from-workload"},
      {"encrypted", "unencrypted"},
  };
  return *groups;
}

std::string NamespaceOf(absl::string_view name) {
  size_t slash = name.find('/');
  return slash == absl::string_view::npos ? "" : std::string(name.substr(0, slash));
}

std::vector<std::string> Qualify(const std::vector<std::string>& names,
                                 const std::vector<std::string>& namespaces) {
  if (namespaces.empty() || names.empty()) return names;
  std::vector<std::string> out;
  for (const auto& n : names) {
    if (n.find('/') != std::string::npos) {
      out.push_back(n);
      continue;
    }
    for (const auto& ns : namespaces) out.push_back(ns + "/" + n);
  }
  return out;
}

std::vector<std::string> Get(const google::protobuf::RepeatedPtrField<std::string>& r) {
  return std::vector<std::string>(r.begin(), r.end());
}
void Put(google::protobuf::RepeatedPtrField<std::string>* r, const std::vector<std::string>& v) {
  r->Clear();
  for (const auto& x : v) *r->Add() = x;
}

// Namespaces from --namespace/--from-namespace/--to-namespace ("" = all namespaces) applied
// to a filter's pods and services on one side; alone they select the whole namespace.
void ApplySourceNamespaces(const std::vector<std::string>& ns, ::flow::FlowFilter* f) {
  if (f->source_pod_size() == 0 && f->source_service_size() == 0) *f->add_source_pod() = "";
  Put(f->mutable_source_pod(), Qualify(Get(f->source_pod()), ns));
  Put(f->mutable_source_service(), Qualify(Get(f->source_service()), ns));
}
void ApplyDestinationNamespaces(const std::vector<std::string>& ns, ::flow::FlowFilter* f) {
  if (f->destination_pod_size() == 0 && f->destination_service_size() == 0) {
    *f->add_destination_pod() = "";
  }
  Put(f->mutable_destination_pod(), Qualify(Get(f->destination_pod()), ns));
  Put(f->mutable_destination_service(), Qualify(Get(f->destination_service()), ns));
}

absl::Status NamespaceConflicts(const std::vector<std::string>& ns,
                                const google::protobuf::RepeatedPtrField<std::string>& names) {
  for (const auto& n : ns) {
    for (const auto& name : names) {
      std::string have = NamespaceOf(name);
      if (!have.empty() && !n.empty() && have != n) {
        return absl::InvalidArgumentError(
            absl::StrCat("namespace conflict: \"", n, "\" does not contain \"", name, "\""));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<::flow::TCPFlags> ParseTcpFlags(absl::string_view value) {
  ::flow::TCPFlags flags;
  for (absl::string_view name : absl::StrSplit(value, ',')) {
    std::string u = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(name));
    if (u == "SYN") {
      flags.set_syn(true);
    } else if (u == "FIN") {
      flags.set_fin(true);
    } else if (u == "RST") {
      flags.set_rst(true);
    } else if (u == "PSH") {
      flags.set_psh(true);
    } else if (u == "ACK") {
      flags.set_ack(true);
    } else if (u == "URG") {
      flags.set_urg(true);
    } else if (u == "ECE") {
      flags.set_ece(true);
    } else if (u == "CWR") {
      flags.set_cwr(true);
    } else if (u == "NS") {
      flags.set_ns(true);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "--tcp-flags \"", value, "\": unknown tcp flag \"", name,
          "\" (expected SYN, FIN, RST, PSH, ACK, URG, ECE, CWR or NS, comma-separated)"));
    }
  }
  return flags;
}

absl::StatusOr<uint32_t> ParseIdentity(absl::string_view flag, absl::string_view v) {
  static const std::pair<const char*, uint32_t> kReserved[] = {
      {"unknown", 0}, {"host", 1},       {"world", 2},       {"unmanaged", 3},
      {"health", 4},  {"init", 5},       {"remote-node", 6}, {"kube-apiserver", 7},
      {"ingress", 8}, {"world-ipv4", 9}, {"world-ipv6", 10}};
  for (const auto& [name, id] : kReserved) {
    if (v == name) return id;
  }
  uint32_t id;
  if (!absl::SimpleAtoi(v, &id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " \"", v,
                     "\": expected a security identity number or a reserved identity (host, "
                     "world, remote-node, kube-apiserver, health, ingress, ...)"));
  }
  return id;
}

}  // namespace

// The two halves of one list (whitelist or blacklist), as hubble's CLI keeps them.
struct ObserveFilterBuilder::Tracker {
  std::optional<::flow::FlowFilter> left, right;
  std::vector<std::string> ns, src_ns, dst_ns;
  std::vector<std::string> changed;

  template <typename F>
  void Both(F f) {
    Left(f);
    Right(f);
  }
  template <typename F>
  void Left(F f) {
    if (!left) left.emplace();
    f(&*left);
  }
  template <typename F>
  void Right(F f) {
    if (!right) right.emplace();
    f(&*right);
  }
  bool empty() const { return !left && !right && ns.empty() && src_ns.empty() && dst_ns.empty(); }

  // A flag from kStringFlags (the value as given); false when `name` is not one.
  bool ApplyStringFlag(absl::string_view name, const std::string& v);
  // Every other flag: the value parsed and checked first.
  absl::Status ApplyParsedFlag(const std::string& name, const std::string& v);
  // `base` sets src in the left filter and dst in the right; "from-"base src in both,
  // "to-"base dst in both.
  template <typename Src, typename Dst>
  void Sided(absl::string_view name, absl::string_view base, Src src, Dst dst);
  std::vector<::flow::FlowFilter> Filters() const {
    if (empty()) return {};
    ::flow::FlowFilter l = left.value_or(::flow::FlowFilter());
    ::flow::FlowFilter r = right.value_or(::flow::FlowFilter());
    if (!dst_ns.empty()) {
      ApplyDestinationNamespaces(dst_ns, &l);
      ApplyDestinationNamespaces(dst_ns, &r);
    }
    if (!src_ns.empty()) {
      ApplySourceNamespaces(src_ns, &l);
      ApplySourceNamespaces(src_ns, &r);
    }
    if (!ns.empty()) {
      ApplySourceNamespaces(ns, &l);
      ApplyDestinationNamespaces(ns, &r);
    }
    if (google::protobuf::util::MessageDifferencer::Equals(l, r)) return {l};
    return {l, r};
  }
  absl::Status CheckNamespaces() const {
    for (const auto* f : {left ? &*left : nullptr, right ? &*right : nullptr}) {
      if (f == nullptr) continue;
      for (const auto& [mods, names] :
           {std::make_pair(&ns, &f->source_pod()), std::make_pair(&ns, &f->source_service()),
            std::make_pair(&ns, &f->destination_pod()),
            std::make_pair(&ns, &f->destination_service()),
            std::make_pair(&src_ns, &f->source_pod()),
            std::make_pair(&src_ns, &f->source_service()),
            std::make_pair(&dst_ns, &f->destination_pod()),
            std::make_pair(&dst_ns, &f->destination_service())}) {
        absl::Status st = NamespaceConflicts(*mods, *names);
        if (!st.ok()) return st;
      }
    }
    return absl::OkStatus();
  }
};

ObserveFilterBuilder::ObserveFilterBuilder() = default;
ObserveFilterBuilder::~ObserveFilterBuilder() = default;
ObserveFilterBuilder::ObserveFilterBuilder(ObserveFilterBuilder&&) noexcept = default;
ObserveFilterBuilder& ObserveFilterBuilder::operator=(ObserveFilterBuilder&&) noexcept = default;

const std::vector<std::pair<std::string, bool>>& ObserveFilterBuilder::Flags() {
  static const auto* flags = new std::vector<std::pair<std::string, bool>>{
      {"uuid", true},
      {"node-name", true},
      {"node-label", true},
      {"cluster", true},
      {"from-cluster", true},
      {"to-cluster", true},
      {"protocol", true},
      {"tcp-flags", true},
      {"type", true},
      {"verdict", true},
      {"drop-reason-desc", true},
      {"http-status", true},
      {"http-method", true},
      {"http-path", true},
      {"http-url", true},
      {"http-header", true},
      {"trace-id", true},
      {"fqdn", true},
      {"from-fqdn", true},
      {"to-fqdn", true},
      {"ip", true},
      {"from-ip", true},
      {"to-ip", true},
      {"snat-ip", true},
      {"ipv4", false},
      {"ipv6", false},
      {"ip-version", true},
      {"pod", true},
      {"from-pod", true},
      {"to-pod", true},
      {"namespace", true},
      {"from-namespace", true},
      {"to-namespace", true},
      {"all-namespaces", false},
      {"from-all-namespaces", false},
      {"to-all-namespaces", false},
      {"label", true},
      {"from-label", true},
      {"to-label", true},
      {"service", true},
      {"from-service", true},
      {"to-service", true},
      {"port", true},
      {"from-port", true},
      {"to-port", true},
      {"workload", true},
      {"from-workload", true},
      {"to-workload", true},
      {"identity", true},
      {"from-identity", true},
      {"to-identity", true},
      {"traffic-direction", true},
      {"interface", true},
      {"encrypted", false},
      {"unencrypted", false},
      {"dns-query", true},
      {"reply", false},
  };
  return *flags;
}

absl::Status ObserveFilterBuilder::Not() {
  if (blacklisting_) return absl::InvalidArgumentError("consecutive --not statements");
  blacklisting_ = true;
  return absl::OkStatus();
}

namespace {

using FF = ::flow::FlowFilter;
using StringField = google::protobuf::RepeatedPtrField<std::string>* (FF::*)();

// A flag whose value goes into a string field as given. With `right` unset, both filters
// get it in `left`'s field; otherwise it is an either-side flag: the left filter matches
// the value as the source, the right filter as the destination.
struct StringFlag {
  absl::string_view flag;
  StringField left;
  StringField right;  // nullptr: the same field in both filters
};

constexpr StringFlag kStringFlags[] = {
    {"uuid", &FF::mutable_uuid, nullptr},
    {"fqdn", &FF::mutable_source_fqdn, &FF::mutable_destination_fqdn},
    {"from-fqdn", &FF::mutable_source_fqdn, nullptr},
    {"to-fqdn", &FF::mutable_destination_fqdn, nullptr},
    {"pod", &FF::mutable_source_pod, &FF::mutable_destination_pod},
    {"from-pod", &FF::mutable_source_pod, nullptr},
    {"to-pod", &FF::mutable_destination_pod, nullptr},
    {"ip", &FF::mutable_source_ip, &FF::mutable_destination_ip},
    {"from-ip", &FF::mutable_source_ip, nullptr},
    {"to-ip", &FF::mutable_destination_ip, nullptr},
    {"snat-ip", &FF::mutable_source_ip_xlated, nullptr},
    {"label", &FF::mutable_source_label, &FF::mutable_destination_label},
    {"from-label", &FF::mutable_source_label, nullptr},
    {"to-label", &FF::mutable_destination_label, nullptr},
    {"service", &FF::mutable_source_service, &FF::mutable_destination_service},
    {"from-service", &FF::mutable_source_service, nullptr},
    {"to-service", &FF::mutable_destination_service, nullptr},
    {"port", &FF::mutable_source_port, &FF::mutable_destination_port},
    {"from-port", &FF::mutable_source_port, nullptr},
    {"to-port", &FF::mutable_destination_port, nullptr},
    {"trace-id", &FF::mutable_trace_id, nullptr},
    {"http-status", &FF::mutable_http_status_code, nullptr},
    {"http-method", &FF::mutable_http_method, nullptr},
    {"http-path", &FF::mutable_http_path, nullptr},
    {"http-url", &FF::mutable_http_url, nullptr},
    {"protocol", &FF::mutable_protocol, nullptr},
    {"node-name", &FF::mutable_node_name, nullptr},
    {"node-label", &FF::mutable_node_labels, nullptr},
    {"cluster", &FF::mutable_source_cluster_name, &FF::mutable_destination_cluster_name},
    {"from-cluster", &FF::mutable_source_cluster_name, nullptr},
    {"to-cluster", &FF::mutable_destination_cluster_name, nullptr},
    {"dns-query", &FF::mutable_dns_query, nullptr},
};

// Flags of one group that together would make a filter nothing can match.
absl::Status CheckConflicts(const std::vector<std::string>& changed) {
  auto has = [&](const std::string& f) {
    return std::find(changed.begin(), changed.end(), f) != changed.end();
  };
  for (const auto& group : Conflicts()) {
    for (const auto& a : group) {
      if (!has(a)) continue;
      for (const auto& b : group) {
        if (b != a && has(b)) {
          return absl::InvalidArgumentError(
              absl::StrCat("filters --", a, " and --", b, " cannot be combined"));
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<::flow::IPVersion> ParseIpVersion(absl::string_view text) {
  std::string l = absl::AsciiStrToLower(text);
  if (l == "4" || l == "v4" || l == "ipv4" || l == "ip4") return ::flow::IPv4;
  if (l == "6" || l == "v6" || l == "ipv6" || l == "ip6") return ::flow::IPv6;
  if (l == "none") return ::flow::IP_NOT_USED;
  return absl::InvalidArgumentError(
      absl::StrCat("--ip-version \"", text, "\": expected v4, v6 or none"));
}

// "name" or "Kind/name" (hubble's parseWorkload).
::flow::Workload ParseWorkload(const std::string& v) {
  ::flow::Workload w;
  size_t slash = v.find('/');
  if (slash == std::string::npos) {
    w.set_name(v);
  } else {
    w.set_kind(v.substr(0, slash));
    w.set_name(v.substr(slash + 1));
  }
  return w;
}

absl::StatusOr<::flow::HTTPHeader> ParseHttpHeader(const std::string& v) {
  size_t colon = v.find(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--http-header \"", v, "\": expected name:value"));
  }
  ::flow::HTTPHeader h;
  h.set_key(v.substr(0, colon));
  h.set_value(v.substr(colon + 1));
  return h;
}

}  // namespace

bool ObserveFilterBuilder::Tracker::ApplyStringFlag(absl::string_view name, const std::string& v) {
  for (const StringFlag& s : kStringFlags) {
    if (s.flag != name) continue;
    StringField left_field = s.left;
    StringField right_field = s.right != nullptr ? s.right : s.left;
    Left([&](FF* f) { *(f->*left_field)()->Add() = v; });
    Right([&](FF* f) { *(f->*right_field)()->Add() = v; });
    return true;
  }
  return false;
}

template <typename Src, typename Dst>
void ObserveFilterBuilder::Tracker::Sided(absl::string_view name, absl::string_view base, Src src,
                                          Dst dst) {
  if (name == base) {
    Left(src);
    Right(dst);
  } else if (absl::StartsWith(name, "from-")) {
    Both(src);
  } else {
    Both(dst);
  }
}

absl::Status ObserveFilterBuilder::Tracker::ApplyParsedFlag(const std::string& name,
                                                            const std::string& v) {
  if (name == "ipv4" || name == "ipv6" || name == "ip-version") {
    TW_ASSIGN_OR_RETURN(::flow::IPVersion ipv, ParseIpVersion(name == "ip-version" ? v : name));
    Both([ipv](FF* f) { f->add_ip_version(ipv); });
  } else if (name == "namespace" || name == "all-namespaces") {
    ns.push_back(name == "namespace" ? v : "");
  } else if (name == "from-namespace" || name == "from-all-namespaces") {
    src_ns.push_back(name == "from-namespace" ? v : "");
  } else if (name == "to-namespace" || name == "to-all-namespaces") {
    dst_ns.push_back(name == "to-namespace" ? v : "");
  } else if (name == "verdict") {
    auto verdict = VerdictFromName(absl::AsciiStrToUpper(v));
    if (!verdict || *verdict == Verdict::kUnknown) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--verdict \"", v,
          "\": expected FORWARDED, DROPPED, AUDIT, REDIRECTED, ERROR, TRACED or TRANSLATED"));
    }
    Both([&](FF* f) { f->add_verdict(static_cast<::flow::Verdict>(*verdict)); });
  } else if (name == "drop-reason-desc") {
    auto r = DropReasonFromName(absl::AsciiStrToUpper(v));
    if (!r) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--drop-reason-desc \"", v, "\": expected a Hubble drop reason such as POLICY_DENIED"));
    }
    Both([&](FF* f) { f->add_drop_reason_desc(static_cast<::flow::DropReason>(*r)); });
  } else if (name == "http-header") {
    TW_ASSIGN_OR_RETURN(::flow::HTTPHeader h, ParseHttpHeader(v));
    Both([&](FF* f) { *f->add_http_header() = h; });
  } else if (name == "type") {
    TW_ASSIGN_OR_RETURN(::flow::EventTypeFilter et, ParseEventTypeFilter(v));
    Both([&](FF* f) { *f->add_event_type() = et; });
  } else if (name == "workload" || name == "from-workload" || name == "to-workload") {
    ::flow::Workload w = ParseWorkload(v);
    Sided(
        name, "workload", [&](FF* f) { *f->add_source_workload() = w; },
        [&](FF* f) { *f->add_destination_workload() = w; });
  } else if (name == "identity" || name == "from-identity" || name == "to-identity") {
    TW_ASSIGN_OR_RETURN(uint32_t n, ParseIdentity(name, v));
    Sided(
        name, "identity", [n](FF* f) { f->add_source_identity(n); },
        [n](FF* f) { f->add_destination_identity(n); });
  } else if (name == "tcp-flags") {
    TW_ASSIGN_OR_RETURN(::flow::TCPFlags flags, ParseTcpFlags(v));
    Both([&](FF* f) { *f->add_tcp_flags() = flags; });
  } else if (name == "traffic-direction") {
    auto d = TrafficDirectionFromName(absl::AsciiStrToUpper(v));
    if (!d || *d == TrafficDirection::kUnknown) {
      return absl::InvalidArgumentError(
          absl::StrCat("--traffic-direction \"", v, "\": expected ingress or egress"));
    }
    Both([&](FF* f) { f->add_traffic_direction(static_cast<::flow::TrafficDirection>(*d)); });
  } else if (name == "interface") {
    Both([&](FF* f) { f->add_interface()->set_name(v); });
  } else if (name == "encrypted" || name == "unencrypted") {
    bool enc = name == "encrypted";
    Both([enc](FF* f) { f->add_encrypted(enc); });
  } else if (name == "reply") {
    Both([](FF* f) { f->add_reply(true); });
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown filter flag --", name));
  }
  return absl::OkStatus();
}

absl::Status ObserveFilterBuilder::Set(absl::string_view flag, absl::string_view value) {
  std::unique_ptr<Tracker>& slot = blacklisting_ ? black_ : white_;
  blacklisting_ = false;  // --not applies to one filter
  if (!slot) slot = std::make_unique<Tracker>();
  Tracker& t = *slot;
  const std::string name(flag);
  const std::string v(value);
  if (std::find(t.changed.begin(), t.changed.end(), name) == t.changed.end()) {
    t.changed.push_back(name);
  }
  TW_RETURN_IF_ERROR(CheckConflicts(t.changed));
  if (!t.ApplyStringFlag(name, v)) TW_RETURN_IF_ERROR(t.ApplyParsedFlag(name, v));
  return t.CheckNamespaces();
}

absl::StatusOr<FilterRequest> ObserveFilterBuilder::Build() const {
  if (blacklisting_) return absl::InvalidArgumentError("trailing --not found in the arguments");
  FilterRequest req;
  if (white_) req.whitelist = white_->Filters();
  if (black_) req.blacklist = black_->Filters();
  // Compile once so that a bad value is reported here, before any flow is read.
  for (const auto* list : {&req.whitelist, &req.blacklist}) {
    for (const auto& f : *list) {
      auto p = CompileFlowFilter(f);
      if (!p.ok()) return p.status();
    }
  }
  return req;
}

}  // namespace tw::flow
