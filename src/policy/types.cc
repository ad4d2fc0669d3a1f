#include "policy/types.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/glob.h"

namespace tw::policy {

absl::string_view PolicyKindName(PolicyKind k) {
  switch (k) {
    case PolicyKind::kCiliumNetworkPolicy:
      return "CiliumNetworkPolicy";
    case PolicyKind::kCiliumClusterwideNetworkPolicy:
      return "CiliumClusterwideNetworkPolicy";
    case PolicyKind::kNetworkPolicy:
      return "NetworkPolicy";
  }
  return "";
}

absl::string_view DirectionName(Direction d) {
  return d == Direction::kIngress ? "ingress" : "egress";
}

absl::string_view SectionName(Section s) {
  switch (s) {
    case Section::kIngress:
      return "ingress";
    case Section::kIngressDeny:
      return "ingressDeny";
    case Section::kEgress:
      return "egress";
    case Section::kEgressDeny:
      return "egressDeny";
  }
  return "";
}

Direction SectionDirection(Section s) {
  return (s == Section::kIngress || s == Section::kIngressDeny) ? Direction::kIngress
                                                                : Direction::kEgress;
}

Action SectionAction(Section s) {
  return (s == Section::kIngressDeny || s == Section::kEgressDeny) ? Action::kDeny : Action::kAllow;
}

// ---------------------------------------------------------------------------------------

Label ParseLabel(absl::string_view s) {
  Label l;
  // Cilium's label parsing: a source prefix ends at the first ':' if it comes before any
  // '='; the value starts after the first '='.
  size_t colon = s.find(':');
  size_t eq = s.find('=');
  if (colon != absl::string_view::npos && (eq == absl::string_view::npos || colon < eq)) {
    l.source = s.substr(0, colon);
    s.remove_prefix(colon + 1);
    if (eq != absl::string_view::npos) eq -= colon + 1;
  } else {
    l.source = "unspec";
  }
  if (eq == absl::string_view::npos) {
    l.key = s;
  } else {
    l.key = s.substr(0, eq);
    l.value = s.substr(eq + 1);
  }
  return l;
}

absl::string_view SelectorOpName(SelectorOp op) {
  switch (op) {
    case SelectorOp::kIn:
      return "In";
    case SelectorOp::kNotIn:
      return "NotIn";
    case SelectorOp::kExists:
      return "Exists";
    case SelectorOp::kDoesNotExist:
      return "DoesNotExist";
  }
  return "";
}

bool Requirement::Matches(absl::Span<const Label> labels) const {
  // "any" matches the key from every source; another source only its own labels.
  bool any = source == "any";
  bool found = false;
  bool value_in = false;
  for (const Label& l : labels) {
    if (l.key != key) continue;
    if (!any && l.source != source) continue;
    found = true;
    if (op == SelectorOp::kIn || op == SelectorOp::kNotIn) {
      if (std::binary_search(values.begin(), values.end(), l.value)) {
        value_in = true;
        break;
      }
    } else {
      break;
    }
  }
  switch (op) {
    case SelectorOp::kIn:
      return value_in;
    case SelectorOp::kNotIn:
      return !value_in;  // absent key -> true (k8s semantics)
    case SelectorOp::kExists:
      return found;
    case SelectorOp::kDoesNotExist:
      return !found;
  }
  return false;
}

std::string Requirement::ToString() const {
  std::string s = QualifiedKey();
  switch (op) {
    case SelectorOp::kIn:
      if (values.size() == 1) return absl::StrCat(s, "=", values[0]);
      return absl::StrCat(s, " In (", absl::StrJoin(values, ","), ")");
    case SelectorOp::kNotIn:
      return absl::StrCat(s, " NotIn (", absl::StrJoin(values, ","), ")");
    case SelectorOp::kExists:
      return absl::StrCat(s, " Exists");
    case SelectorOp::kDoesNotExist:
      return absl::StrCat(s, " DoesNotExist");
  }
  return s;
}

bool Selector::Matches(absl::Span<const Label> labels) const {
  for (const Requirement& r : requirements) {
    if (!r.Matches(labels)) return false;
  }
  return true;
}

bool Selector::HasKey(absl::string_view source, absl::string_view key) const {
  for (const Requirement& r : requirements) {
    if (r.key == key && r.source == source) return true;
  }
  return false;
}

bool Selector::HasKeyWithPrefix(absl::string_view source, absl::string_view key_prefix) const {
  for (const Requirement& r : requirements) {
    if (r.source == source && absl::StartsWith(r.key, key_prefix)) return true;
  }
  return false;
}

bool Selector::HasSource(absl::string_view source) const {
  for (const Requirement& r : requirements) {
    if (r.source == source) return true;
  }
  return false;
}

std::vector<const Requirement*> Selector::Written() const {
  std::vector<const Requirement*> out;
  for (const Requirement& r : requirements) {
    if (!r.implicit) out.push_back(&r);
  }
  return out;
}

std::string Selector::ToString() const {
  std::vector<std::string> parts;
  for (const Requirement& r : requirements) parts.push_back(r.ToString());
  return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
}

// ---------------------------------------------------------------------------------------

namespace {
struct EntityEntry {
  Entity e;
  absl::string_view name;
};
constexpr EntityEntry kEntityNames[] = {
    {Entity::kAll, "all"},
    {Entity::kWorld, "world"},
    {Entity::kWorldIpv4, "world-ipv4"},
    {Entity::kWorldIpv6, "world-ipv6"},
    {Entity::kCluster, "cluster"},
    {Entity::kClusterMesh, "cluster-mesh"},
    {Entity::kHost, "host"},
    {Entity::kRemoteNode, "remote-node"},
    {Entity::kKubeApiserver, "kube-apiserver"},
    {Entity::kIngress, "ingress"},
    {Entity::kHealth, "health"},
    {Entity::kInit, "init"},
    {Entity::kUnmanaged, "unmanaged"},
    {Entity::kNone, "none"},
};
}  // namespace

absl::string_view EntityName(Entity e) {
  for (const auto& x : kEntityNames) {
    if (x.e == e) return x.name;
  }
  return "";
}

std::optional<Entity> EntityFromName(absl::string_view name) {
  for (const auto& x : kEntityNames) {
    if (x.name == name) return x.e;
  }
  return std::nullopt;
}

absl::string_view PeerFieldName(PeerField k) {
  switch (k) {
    case PeerField::kEndpoints:
      return "Endpoints";
    case PeerField::kEntities:
      return "Entities";
    case PeerField::kCidr:
      return "CIDR";
    case PeerField::kCidrSet:
      return "CIDRSet";
    case PeerField::kFqdn:
      return "FQDNs";
    case PeerField::kServices:
      return "Services";
    case PeerField::kNodes:
      return "Nodes";
    case PeerField::kGroups:
      return "Groups";
    case PeerField::kRequires:
      return "Requires";
    case PeerField::kIpBlock:
      return "ipBlock";
  }
  return "";
}

// ---------------------------------------------------------------------------------------

namespace {

bool ParseV4(absl::string_view s, uint8_t out[4]) {
  std::vector<absl::string_view> parts = absl::StrSplit(s, '.');
  if (parts.size() != 4) return false;
  for (int i = 0; i < 4; ++i) {
    if (parts[i].empty() || parts[i].size() > 3) return false;
    for (char c : parts[i]) {
      if (c < '0' || c > '9') return false;
    }
    int v = 0;
    if (!absl::SimpleAtoi(parts[i], &v) || v > 255) return false;
    out[i] = static_cast<uint8_t>(v);
  }
  return true;
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ParseV6(absl::string_view s, uint8_t out[16]) {
  // Handles "::", embedded IPv4 tail and zone-less addresses.
  std::memset(out, 0, 16);
  size_t dc = s.find("::");
  if (dc != absl::string_view::npos && s.find("::", dc + 1) != absl::string_view::npos)
    return false;
  auto parse_groups = [](absl::string_view part, std::vector<uint16_t>& groups,
                         bool allow_v4_tail) -> bool {
    if (part.empty()) return true;
    std::vector<absl::string_view> gs = absl::StrSplit(part, ':');
    for (size_t i = 0; i < gs.size(); ++i) {
      absl::string_view g = gs[i];
      if (allow_v4_tail && i + 1 == gs.size() && g.find('.') != absl::string_view::npos) {
        uint8_t v4[4];
        if (!ParseV4(g, v4)) return false;
        groups.push_back(static_cast<uint16_t>(v4[0] << 8 | v4[1]));
        groups.push_back(static_cast<uint16_t>(v4[2] << 8 | v4[3]));
        continue;
      }
      if (g.empty() || g.size() > 4) return false;
      int v = 0;
      for (char c : g) {
        int h = HexVal(c);
        if (h < 0) return false;
        v = v * 16 + h;
      }
      groups.push_back(static_cast<uint16_t>(v));
    }
    return true;
  };
  std::vector<uint16_t> head, tail;
  if (dc == absl::string_view::npos) {
    if (!parse_groups(s, head, true) || head.size() != 8) return false;
  } else {
    if (!parse_groups(s.substr(0, dc), head, false)) return false;
    if (!parse_groups(s.substr(dc + 2), tail, true)) return false;
    if (head.size() + tail.size() > 7) return false;
  }
  for (size_t i = 0; i < head.size(); ++i) {
    out[2 * i] = head[i] >> 8;
    out[2 * i + 1] = head[i] & 0xff;
  }
  for (size_t i = 0; i < tail.size(); ++i) {
    size_t pos = 8 - tail.size() + i;
    out[2 * pos] = tail[i] >> 8;
    out[2 * pos + 1] = tail[i] & 0xff;
  }
  return true;
}

}  // namespace

std::optional<Prefix> ParsePrefix(absl::string_view s, std::string* error) {
  auto fail = [&](std::string msg) -> std::optional<Prefix> {
    if (error) *error = std::move(msg);
    return std::nullopt;
  };
  Prefix p;
  p.text = std::string(s);
  absl::string_view addr = s;
  int bits = -1;
  size_t slash = s.find('/');
  if (slash != absl::string_view::npos) {
    addr = s.substr(0, slash);
    if (!absl::SimpleAtoi(s.substr(slash + 1), &bits) || bits < 0) {
      return fail(absl::StrCat("bad prefix length in \"", s, "\""));
    }
  }
  if (addr.find(':') != absl::string_view::npos) {
    p.v6 = true;
    if (!ParseV6(addr, p.addr)) return fail(absl::StrCat("\"", s, "\" is not an IPv6 address"));
    if (bits < 0) bits = 128;
    if (bits > 128) return fail(absl::StrCat("prefix length of \"", s, "\" exceeds 128"));
  } else {
    if (!ParseV4(addr, p.addr)) return fail(absl::StrCat("\"", s, "\" is not an IPv4 address"));
    if (bits < 0) bits = 32;
    if (bits > 32) return fail(absl::StrCat("prefix length of \"", s, "\" exceeds 32"));
  }
  p.bits = static_cast<uint8_t>(bits);
  return p;
}

bool Prefix::Contains(const Prefix& ip) const {
  if (ip.v6 != v6) return false;
  if (ip.bits < bits) return false;
  int full = bits / 8;
  if (std::memcmp(addr, ip.addr, full) != 0) return false;
  int rem = bits % 8;
  if (rem == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rem));
  return (addr[full] & mask) == (ip.addr[full] & mask);
}

// ---------------------------------------------------------------------------------------

namespace {

bool IsDnsChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

// Glob match of one pattern (lowercase, trailing dot) against a name (same form), where
// '*' matches zero or more DNS characters and never a '.'.
bool GlobLabelMatch(absl::string_view pat, absl::string_view name) {
  return GlobMatch(pat, name, IsDnsChar);
}

std::string CanonicalName(absl::string_view s) {
  std::string out = absl::AsciiStrToLower(absl::StripAsciiWhitespace(s));
  if (out.empty() || out.back() != '.') out.push_back('.');
  return out;
}

}  // namespace

bool FqdnSelector::Matches(absl::string_view dns_name) const {
  std::string name = CanonicalName(dns_name);
  if (!match_name.empty()) return name == CanonicalName(match_name);
  std::string pat = absl::AsciiStrToLower(absl::StripAsciiWhitespace(match_pattern));
  if (pat.empty()) return false;
  if (pat == "*") {
    // Cilium: "(chars+.)+" — any non-empty name made of DNS labels.
    return name.size() > 1;
  }
  if (pat.back() != '.') pat.push_back('.');
  if (absl::StartsWith(pat, "**.")) {
    // Multi-level prefix: one or more whole labels, then the rest of the pattern.
    absl::string_view rest = absl::string_view(pat).substr(3);
    for (size_t i = 0; i < name.size(); ++i) {
      if (name[i] != '.') continue;
      absl::string_view prefix = absl::string_view(name).substr(0, i);
      absl::string_view suffix = absl::string_view(name).substr(i + 1);
      if (prefix.empty()) continue;
      bool labels_ok = true;
      for (absl::string_view lbl : absl::StrSplit(prefix, '.')) {
        if (lbl.empty()) labels_ok = false;
      }
      if (labels_ok && GlobLabelMatch(rest, suffix)) return true;
    }
    return false;
  }
  return GlobLabelMatch(pat, name);
}

std::string FqdnSelector::ToString() const {
  if (!match_name.empty()) return absl::StrCat("matchName: ", match_name);
  return absl::StrCat("matchPattern: ", match_pattern);
}

// ---------------------------------------------------------------------------------------

absl::string_view L4ProtoName(L4Proto p) {
  switch (p) {
    case L4Proto::kAny:
      return "ANY";
    case L4Proto::kTCP:
      return "TCP";
    case L4Proto::kUDP:
      return "UDP";
    case L4Proto::kSCTP:
      return "SCTP";
  }
  return "";
}

std::string PortProtocol::ToString() const {
  if (IsNamed()) return absl::StrCat(name, "/", L4ProtoName(protocol));
  if (IsRange()) return absl::StrCat(port, "-", end_port, "/", L4ProtoName(protocol));
  return absl::StrCat(port, "/", L4ProtoName(protocol));
}

bool RuleElement::HasL7() const {
  for (const PortRule& pr : to_ports) {
    if (!pr.rules.Empty()) return true;
  }
  return false;
}

bool RuleElement::HasDnsRule() const {
  for (const PortRule& pr : to_ports) {
    if (!pr.rules.dns.empty()) return true;
  }
  return false;
}

const std::vector<RuleElement>& Rule::Elements(Section s) const {
  switch (s) {
    case Section::kIngress:
      return ingress;
    case Section::kIngressDeny:
      return ingress_deny;
    case Section::kEgress:
      return egress;
    case Section::kEgressDeny:
      return egress_deny;
  }
  return ingress;
}

bool Rule::HasEntries(Direction d) const {
  if (d == Direction::kIngress)
    return !ingress.empty() || !ingress_deny.empty() || knp_isolates_ingress;
  return !egress.empty() || !egress_deny.empty() || knp_isolates_egress;
}

bool Rule::DefaultDeny(Direction d) const {
  if (!HasEntries(d)) return false;
  const std::optional<bool>& e =
      d == Direction::kIngress ? enable_default_deny_ingress : enable_default_deny_egress;
  return !e.has_value() || *e;
}

std::string Policy::DisplayName() const {
  if (namespace_.empty()) return name;
  return absl::StrCat(namespace_, "/", name);
}

}  // namespace tw::policy
