#include "tier/tier_model.h"

#include <fnmatch.h>

#include <algorithm>
#include <map>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tw::tier {

namespace {

bool IsAlnumLower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); }

// Label names and values: up to 63 of [A-Za-z0-9._-], alphanumeric at both ends.
bool IsQualifiedName(absl::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

// DNS-1123 subdomain: dot-separated labels, 253 characters at most.
bool IsDnsSubdomain(absl::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    absl::string_view label =
        s.substr(start, dot == absl::string_view::npos ? s.npos : dot - start);
    if (!IsValidNamespaceName(label)) return false;
    if (dot == absl::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

}  // namespace

bool IsValidNamespaceName(absl::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!IsAlnumLower(s.front()) || !IsAlnumLower(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsAlnumLower(c) || c == '-'; });
}

bool IsValidNamespacePattern(absl::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  bool in_class = false;
  size_t class_len = 0;
  for (char c : s) {
    if (in_class) {
      if (c == ']' && class_len > 0) {
        in_class = false;
        continue;
      }
      if (!(IsAlnumLower(c) || c == '-' || (c == '!' && class_len == 0))) return false;
      ++class_len;
      continue;
    }
    if (c == '[') {
      in_class = true;
      class_len = 0;
      continue;
    }
    if (!(IsAlnumLower(c) || c == '-' || c == '*' || c == '?')) return false;
  }
  return !in_class;
}

bool IsValidLabelKey(absl::string_view s) {
  size_t slash = s.find('/');
  if (slash == absl::string_view::npos) return IsQualifiedName(s);
  return IsDnsSubdomain(s.substr(0, slash)) && IsQualifiedName(s.substr(slash + 1));
}

bool IsValidLabelValue(absl::string_view s) { return s.empty() || IsQualifiedName(s); }

bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  std::string p(pattern), t(text);
  return fnmatch(p.c_str(), t.c_str(), 0) == 0;
}

std::string ServicePort::ToString() const {
  absl::string_view p = flow::ProtocolName(protocol);
  return absl::StrCat(port, "/", p.empty() ? "?" : p);
}

std::vector<TierSpec> TierOptions::DefaultTiers() {
  std::vector<TierSpec> tiers(3);
  tiers[0].level = 0;
  tiers[0].name = "system";
  tiers[0].description = "Cluster infrastructure; excluded from default-deny, never policed.";
  tiers[0].namespaces = defaults::Strings(defaults::kTier0Namespaces);
  tiers[1].level = 1;
  tiers[1].name = "platform";
  tiers[1].description = "Platform services with explicit, controlled access.";
  tiers[1].namespaces = defaults::Strings(defaults::kTier1Namespaces);
  tiers[2].level = 2;
  tiers[2].name = "workloads";
  tiers[2].description = "Applications: default-deny plus explicit CiliumNetworkPolicies.";
  tiers[2].is_default = true;
  return tiers;
}

std::string TierAssignment::ToString() const {
  switch (kind) {
    case TierKind::kNamespace:
      return absl::StrCat("tier ", level);
    case TierKind::kCiliumReserved:
      return absl::StrCat("tier ", level, " (cilium ", entity, ")");
    case TierKind::kEntity:
      return absl::StrCat("entity ", entity);
    case TierKind::kUnknown:
      break;
  }
  return "unknown";
}

namespace {

using Issues = std::vector<TierOptionIssue>;

void Add(Issues& issues, std::string path, std::string message) {
  issues.push_back({std::move(path), std::move(message)});
}

// Where a namespace was first listed, to report it listed again.
struct Listed {
  int level;
  std::string path;
};

// The tiers one by one: a valid level, defined once; valid, unique namespace names; valid
// patterns. Returns where each namespace was first listed.
std::map<std::string, Listed> CheckTiers(const TierOptions& o, Issues& issues) {
  std::map<int, size_t> levels;          // level -> tier index
  std::map<std::string, Listed> listed;  // namespace -> where first listed
  for (size_t i = 0; i < o.tiers.size(); ++i) {
    const TierSpec& t = o.tiers[i];
    std::string at = absl::StrCat("tiers[", i, "]");
    if (t.level < 0 || t.level > 2) {
      Add(issues, at + ".level", absl::StrCat("tier level ", t.level, " is not 0, 1 or 2"));
    } else if (!levels.emplace(t.level, i).second) {
      Add(issues, at + ".level", absl::StrCat("tier ", t.level, " is defined twice"));
    }
    for (size_t j = 0; j < t.namespaces.size(); ++j) {
      const std::string& ns = t.namespaces[j];
      std::string path = absl::StrCat(at, ".namespaces[", j, "]");
      if (!IsValidNamespaceName(ns)) {
        Add(issues, path,
            absl::StrCat("\"", ns,
                         "\" is not a valid namespace name (lowercase letters, digits and "
                         "'-', starting and ending alphanumeric, at most 63)"));
      }
      auto [it, inserted] = listed.emplace(ns, Listed{t.level, path});
      if (!inserted) {
        Add(issues, path,
            it->second.level == t.level
                ? absl::StrCat("namespace ", ns, " is listed twice in tier ", t.level)
                : absl::StrCat("namespace ", ns, " is already in tier ", it->second.level,
                               "; a namespace belongs to one tier"));
      }
    }
    for (size_t j = 0; j < t.patterns.size(); ++j) {
      if (!IsValidNamespacePattern(t.patterns[j])) {
        Add(issues, absl::StrCat(at, ".patterns[", j, "]"),
            absl::StrCat("\"", t.patterns[j],
                         "\" is not a valid namespace pattern (namespace characters and the "
                         "globs * ? [...])"));
      }
    }
  }
  return listed;
}

// A namespace listed in one tier must not match another tier's pattern: which tier would it
// be in?
void CheckPatternsAgainstListed(const TierOptions& o, const std::map<std::string, Listed>& listed,
                                Issues& issues) {
  for (const TierSpec& t : o.tiers) {
    for (const std::string& pattern : t.patterns) {
      for (const auto& [ns, where] : listed) {
        if (where.level != t.level && GlobMatch(pattern, ns)) {
          Add(issues, where.path,
              absl::StrCat("namespace ", ns, " is listed in tier ", where.level,
                           " but also matches tier ", t.level, " pattern \"", pattern, "\""));
        }
      }
    }
  }
}

// Exactly one tier takes the namespaces no tier lists.
void CheckOneDefaultTier(const TierOptions& o, Issues& issues) {
  int defaults = 0;
  for (const TierSpec& t : o.tiers) {
    if (t.is_default) ++defaults;
  }
  if (defaults != 1) {
    Add(issues, "tiers",
        defaults == 0 ? "no default tier: mark one tier (normally 2) with default: true"
                      : "more than one tier is marked default: true");
  }
}

void CheckDnsService(const DnsServiceSpec& dns, Issues& issues) {
  if (!IsValidNamespaceName(dns.namespace_)) {
    Add(issues, "dns_service.namespace",
        absl::StrCat("\"", dns.namespace_, "\" is not a valid namespace name"));
  }
  for (size_t j = 0; j < dns.labels.size(); ++j) {
    const LabelRequirement& l = dns.labels[j];
    if (!IsValidLabelKey(l.key)) {
      Add(issues, absl::StrCat("dns_service.labels[", j, "]"),
          absl::StrCat("\"", l.key, "\" is not a valid label key ([prefix/]name)"));
    } else if (!IsValidLabelValue(l.value)) {
      Add(issues, absl::StrCat("dns_service.labels[", j, "]"),
          absl::StrCat("\"", l.value, "\" is not a valid label value"));
    }
  }
  if (dns.ports.empty()) Add(issues, "dns_service.ports", "at least one port is needed");
  for (size_t j = 0; j < dns.ports.size(); ++j) {
    const ServicePort& p = dns.ports[j];
    if (p.port == 0 || (p.protocol != flow::Protocol::kTCP && p.protocol != flow::Protocol::kUDP &&
                        p.protocol != flow::Protocol::kSCTP)) {
      Add(issues, absl::StrCat("dns_service.ports[", j, "]"),
          absl::StrCat("\"", p.ToString(),
                       "\" is not PORT/PROTOCOL with PORT 1-65535 and PROTOCOL TCP, UDP or SCTP"));
    }
  }
}

// Each of `names` (the list at `field`) a valid namespace name.
void CheckNamespaceList(const std::vector<std::string>& names, absl::string_view field,
                        Issues& issues) {
  for (size_t j = 0; j < names.size(); ++j) {
    if (!IsValidNamespaceName(names[j])) {
      Add(issues, absl::StrCat(field, "[", j, "]"),
          absl::StrCat("\"", names[j], "\" is not a valid namespace name"));
    }
  }
}

void CheckScrapers(const ScraperSpec& s, Issues& issues) {
  CheckNamespaceList(s.namespaces, "scrapers.namespaces", issues);
  if (!IsValidLabelKey(s.label)) {
    Add(issues, "scrapers.label",
        absl::StrCat("\"", s.label, "\" is not a valid label key ([prefix/]name)"));
  }
  for (size_t j = 0; j < s.values.size(); ++j) {
    if (!IsValidLabelValue(s.values[j])) {
      Add(issues, absl::StrCat("scrapers.values[", j, "]"),
          absl::StrCat("\"", s.values[j], "\" is not a valid label value"));
    }
  }
}

void CheckMetricsPorts(const std::vector<uint16_t>& metrics_ports, Issues& issues) {
  std::set<uint16_t> ports;
  for (size_t j = 0; j < metrics_ports.size(); ++j) {
    uint16_t p = metrics_ports[j];
    std::string path = absl::StrCat("metrics_ports[", j, "]");
    if (p == 0) Add(issues, path, "0 is not a port (1-65535)");
    if (!ports.insert(p).second) Add(issues, path, absl::StrCat("port ", p, " is listed twice"));
  }
}

}  // namespace

// Section by section, in the order of config/tiers.yaml, so that the issues read top to
// bottom.
std::vector<TierOptionIssue> ValidateTierOptions(const TierOptions& o) {
  Issues issues;
  const std::map<std::string, Listed> listed = CheckTiers(o, issues);
  CheckPatternsAgainstListed(o, listed, issues);
  CheckOneDefaultTier(o, issues);
  CheckDnsService(o.dns_service, issues);
  CheckScrapers(o.scrapers, issues);
  CheckMetricsPorts(o.metrics_ports, issues);
  const LabelRequirement& b = o.debug_bypass_label;
  if (!IsValidLabelKey(b.key) || !IsValidLabelValue(b.value)) {
    Add(issues, "debug_bypass_label",
        absl::StrCat("\"", b.ToString(), "\" is not a valid label KEY=VALUE"));
  }
  CheckNamespaceList(o.apiserver_egress_namespaces, "apiserver_egress_namespaces", issues);
  return issues;
}

TierModel::TierModel() : TierModel(TierOptions{}, true) {}

TierModel::TierModel(TierOptions options, bool) : options_(std::move(options)) {
  for (size_t i = 0; i < options_.tiers.size(); ++i) {
    by_level_.push_back(i);
    if (options_.tiers[i].is_default) default_tier_ = i;
    for (const std::string& ns : options_.tiers[i].namespaces) by_namespace_.emplace(ns, i);
  }
  std::sort(by_level_.begin(), by_level_.end(), [this](size_t a, size_t b) {
    return options_.tiers[a].level < options_.tiers[b].level;
  });
}

absl::StatusOr<TierModel> TierModel::Create(TierOptions options) {
  std::vector<TierOptionIssue> issues = ValidateTierOptions(options);
  if (!issues.empty()) {
    std::string msg = "invalid tier model:";
    for (const auto& i : issues) absl::StrAppend(&msg, "\n  ", i.path, ": ", i.message);
    return absl::InvalidArgumentError(msg);
  }
  return TierModel(std::move(options), true);
}

const TierSpec* TierModel::Tier(int level) const {
  for (const TierSpec& t : options_.tiers) {
    if (t.level == level) return &t;
  }
  return nullptr;
}

TierAssignment TierModel::TierOfNamespace(absl::string_view ns) const {
  TierAssignment a;
  if (ns.empty()) return a;
  a.kind = TierKind::kNamespace;
  auto it = by_namespace_.find(ns);
  if (it != by_namespace_.end()) {
    const TierSpec& t = options_.tiers[it->second];
    a.level = t.level;
    a.tier_name = t.name;
    a.match = TierMatch::kNamespaceList;
    return a;
  }
  // Patterns: the lowest tier level whose pattern matches wins.
  for (size_t i : by_level_) {
    const TierSpec& t = options_.tiers[i];
    for (const std::string& p : t.patterns) {
      if (GlobMatch(p, ns)) {
        a.level = t.level;
        a.tier_name = t.name;
        a.match = TierMatch::kPattern;
        a.pattern = p;
        return a;
      }
    }
  }
  if (default_tier_ < options_.tiers.size()) {
    const TierSpec& t = options_.tiers[default_tier_];
    a.level = t.level;
    a.tier_name = t.name;
    a.match = TierMatch::kDefault;
  }
  return a;
}

namespace {
TierAssignment EntityAssignment(absl::string_view entity, const TierModel& model) {
  TierAssignment a;
  a.entity = entity;
  a.match = TierMatch::kReserved;
  if (entity == "health" || entity == "ingress") {
    a.kind = TierKind::kCiliumReserved;
    a.level = 0;
    if (const TierSpec* t = model.Tier(0)) a.tier_name = t->name;
  } else {
    a.kind = TierKind::kEntity;
  }
  return a;
}
}  // namespace

TierAssignment TierModel::TierOf(const flow::Endpoint& endpoint) const {
  uint16_t bits = endpoint.reserved & ~flow::kReservedUnknown;
  if (bits != 0) return EntityAssignment(flow::ReservedEntityName(bits), *this);
  absl::string_view ns = flow::EndpointNamespace(endpoint);
  if (!ns.empty()) return TierOfNamespace(ns);
  return TierAssignment{};
}

TierAssignment TierModel::TierOf(const flow::Peer& peer) const {
  switch (peer.kind) {
    case flow::PeerKind::kWorkload:
      return TierOfNamespace(peer.namespace_.view());
    case flow::PeerKind::kEntity:
      return EntityAssignment(peer.name.view(), *this);
    case flow::PeerKind::kFqdn:
    case flow::PeerKind::kIp:
      break;
  }
  return EntityAssignment("world", *this);
}

bool TierModel::IsDnsPort(flow::Protocol protocol, uint16_t port) const {
  for (const ServicePort& p : options_.dns_service.ports) {
    if (p.port == port && p.protocol == protocol) return true;
  }
  return false;
}

bool TierModel::IsDnsService(const flow::Endpoint& endpoint, flow::Protocol protocol,
                             uint16_t port) const {
  if (!IsDnsPort(protocol, port)) return false;
  if (flow::EndpointNamespace(endpoint) != options_.dns_service.namespace_) return false;
  for (const LabelRequirement& l : options_.dns_service.labels) {
    auto v = endpoint.LabelValue(l.key);
    if (!v || *v != l.value) return false;
  }
  return true;
}

bool TierModel::IsScraper(const flow::Endpoint& endpoint) const {
  const ScraperSpec& s = options_.scrapers;
  if (!s.namespaces.empty() && std::find(s.namespaces.begin(), s.namespaces.end(),
                                         flow::EndpointNamespace(endpoint)) == s.namespaces.end()) {
    return false;
  }
  auto v = endpoint.LabelValue(s.label);
  return v && std::find(s.values.begin(), s.values.end(), *v) != s.values.end();
}

bool TierModel::IsMetricsPort(uint16_t port) const {
  return std::find(options_.metrics_ports.begin(), options_.metrics_ports.end(), port) !=
         options_.metrics_ports.end();
}

bool TierModel::HasBypassLabel(const flow::Endpoint& endpoint) const {
  auto v = endpoint.LabelValue(options_.debug_bypass_label.key);
  return v && *v == options_.debug_bypass_label.value;
}

bool TierModel::NeedsApiserverEgress(absl::string_view ns) const {
  const auto& v = options_.apiserver_egress_namespaces;
  return std::find(v.begin(), v.end(), ns) != v.end();
}

}  // namespace tw::tier
