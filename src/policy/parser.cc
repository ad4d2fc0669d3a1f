#include "policy/parser.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/yaml_schema.h"
#include "yaml-cpp/yaml.h"

namespace tw::policy {

bool LoadedPolicies::HasErrors() const { return ErrorCount() > 0; }

int LoadedPolicies::ErrorCount() const { return tw::ErrorCount(diagnostics); }

namespace {

namespace fs = std::filesystem;

constexpr absl::string_view kNsKey = "io.kubernetes.pod.namespace";
constexpr absl::string_view kNsLabelsPrefix = "io.cilium.k8s.namespace.labels.";

// The state of one document being parsed. Errors mark the policy rejected.
struct Doc {
  std::string file;
  int line_offset = 0;  // line number (0-based) of the chunk's first line in the file
  std::string policy;   // display name, once known
  LoadedPolicies* out = nullptr;
  bool error = false;
  bool cilium = true;  // Cilium CRD (string ports) vs KNP

  int Line(const YAML::Node& n, int fallback = 0) const {
    if (!n.IsDefined()) return fallback;
    YAML::Mark m = n.Mark();
    if (m.line < 0) return fallback;
    return m.line + 1 + line_offset;
  }
  void Add(Severity s, int line, std::string msg) {
    if (s == Severity::kError) error = true;
    Diagnostic d = Diagnostic::At(s, file, line, std::move(msg));
    d.path = policy;
    out->diagnostics.push_back(std::move(d));
  }
  void Error(const YAML::Node& n, std::string msg, int fallback = 0) {
    Add(Severity::kError, Line(n, fallback), std::move(msg));
  }
  void Warn(const YAML::Node& n, std::string msg, int fallback = 0) {
    Add(Severity::kWarning, Line(n, fallback), std::move(msg));
  }
  // Duplicate keys found by yaml::CheckTree before the walk, held until the policy's name
  // is known so that they are reported under it.
  std::vector<tw::yaml::TreeProblem> duplicates;
  void FlushDuplicates() {
    for (const tw::yaml::TreeProblem& t : duplicates) {
      Add(Severity::kError, t.line > 0 ? t.line + line_offset : line_offset + 1, t.ToString());
    }
    duplicates.clear();
  }
};

std::string Scalar(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "";
  if (!n.IsScalar()) return "";
  return n.Scalar();
}

// A scalar written without quotes that YAML would read as a number or bool.
bool PlainNonString(const YAML::Node& n) {
  if (!n.IsScalar() || n.Tag() == "!") return false;
  const std::string& s = n.Scalar();
  int64_t i;
  double d;
  if (absl::SimpleAtoi(s, &i) || absl::SimpleAtod(s, &d)) return true;
  std::string l = absl::AsciiStrToLower(s);
  return l == "true" || l == "false" || l == "yes" || l == "no" || l == "on" || l == "off";
}

bool Present(const YAML::Node& n) { return n.IsDefined() && !n.IsNull(); }

// "PATH: expected WHAT, got WHAT WAS FOUND": the wording of every tierwatch YAML reader
// (yaml::Reader), so that a policy file and the daemon's own config say a wrong type alike.
std::string Expected(absl::string_view path, absl::string_view what, const YAML::Node& got) {
  return absl::StrCat(path, ": expected ", what, ", got ", tw::yaml::Describe(got));
}

// A value that must be one of a few names, in Reader::Choice's wording (with "did you mean").
std::string ExpectedName(absl::string_view path, const std::vector<absl::string_view>& names,
                         const YAML::Node& got) {
  return absl::StrCat(
      path, ": ",
      tw::yaml::ExpectedOneOf(names, tw::yaml::Describe(got), got.IsScalar() ? got.Scalar() : ""));
}

// Checks that a mapping only has known keys; reports each unknown one.
bool CheckMap(Doc& d, const YAML::Node& n, absl::string_view path,
              std::initializer_list<absl::string_view> allowed, int fallback_line = 0) {
  if (!n.IsMap()) {
    d.Error(n, Expected(path, "a mapping", n), fallback_line);
    return false;
  }
  for (auto it = n.begin(); it != n.end(); ++it) {
    std::string key = it->first.Scalar();
    bool ok = false;
    for (absl::string_view a : allowed) ok |= a == key;
    if (!ok) {
      d.Error(it->first,
              absl::StrCat(path, ": ", tw::yaml::UnknownKeyMessage("field", key, allowed)));
    }
  }
  return true;
}

// A list field: nullopt when absent or null (Go: nil slice); reports non-lists.
std::optional<YAML::Node> List(Doc& d, const YAML::Node& parent, const char* key,
                               absl::string_view path) {
  YAML::Node n = parent[key];
  if (!Present(n)) return std::nullopt;
  if (!n.IsSequence()) {
    d.Error(n, Expected(absl::StrCat(path, ".", key), "a list", n));
    return std::nullopt;
  }
  return n;
}

std::optional<std::string> StringField(Doc& d, const YAML::Node& parent, const char* key,
                                       absl::string_view path) {
  YAML::Node n = parent[key];
  if (!Present(n)) return std::nullopt;
  if (!n.IsScalar()) {
    d.Error(n, Expected(absl::StrCat(path, ".", key), "a string", n));
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<bool> BoolField(Doc& d, const YAML::Node& parent, const char* key,
                              absl::string_view path) {
  YAML::Node n = parent[key];
  if (!Present(n)) return std::nullopt;
  std::string s = n.IsScalar() ? n.Scalar() : "";
  if (s == "true") return true;
  if (s == "false") return false;
  d.Error(n, Expected(absl::StrCat(path, ".", key), "true or false", n));
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// Selectors

// Splits a selector key into source and key; unprefixed keys get `default_source`.
void SplitKey(absl::string_view full, absl::string_view default_source, std::string* source,
              std::string* key) {
  size_t colon = full.find(':');
  if (colon != absl::string_view::npos) {
    *source = std::string(full.substr(0, colon));
    *key = std::string(full.substr(colon + 1));
  } else {
    *source = std::string(default_source);
    *key = std::string(full);
  }
}

void Normalize(Requirement& r) {
  std::sort(r.values.begin(), r.values.end());
  r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
}

// How a selector's keys become requirement keys. `default_source`: "any" for Cilium
// selectors, "k8s" for KNP. `key_prefix` is prepended to every key (KNP namespaceSelector:
// io.cilium.k8s.namespace.labels.), which then takes no source prefix of its own.
struct KeyScheme {
  absl::string_view default_source;
  absl::string_view key_prefix;

  void Set(absl::string_view k, Requirement& r) const {
    if (!key_prefix.empty()) {
      r.source = std::string(default_source);
      r.key = absl::StrCat(key_prefix, k);
    } else {
      SplitKey(k, default_source, &r.source, &r.key);
    }
  }
};

// matchLabels: each label is an `In` requirement with its one value.
void ParseMatchLabels(Doc& d, const YAML::Node& ml, absl::string_view path, const KeyScheme& keys,
                      Selector& sel) {
  if (!Present(ml)) return;
  if (!ml.IsMap()) {
    d.Error(ml, Expected(absl::StrCat(path, ".matchLabels"), "a mapping of label to value", ml));
    return;
  }
  for (auto it = ml.begin(); it != ml.end(); ++it) {
    Requirement r;
    std::string k = it->first.Scalar();
    if (k.empty()) d.Error(it->first, absl::StrCat(path, ".matchLabels has an empty key"));
    keys.Set(k, r);
    r.op = SelectorOp::kIn;
    if (it->second.IsNull()) {
      r.values.push_back("");
    } else if (!it->second.IsScalar()) {
      d.Error(it->second,
              Expected(absl::StrCat(path, ".matchLabels[\"", k, "\"]"), "a string", it->second));
      continue;
    } else {
      if (PlainNonString(it->second)) {
        d.Warn(it->second, absl::StrCat(path, ".matchLabels[\"", k, "\"]: ", it->second.Scalar(),
                                        " is not a string; quote it (the apiserver rejects "
                                        "non-string label values)"));
      }
      r.values.push_back(it->second.Scalar());
    }
    sel.requirements.push_back(std::move(r));
  }
}

std::optional<SelectorOp> SelectorOpNamed(absl::string_view op) {
  if (op == "In") return SelectorOp::kIn;
  if (op == "NotIn") return SelectorOp::kNotIn;
  if (op == "Exists") return SelectorOp::kExists;
  if (op == "DoesNotExist") return SelectorOp::kDoesNotExist;
  return std::nullopt;
}

// One matchExpressions item; nullopt (reported) when the apiserver would reject it: In and
// NotIn need values, Exists and DoesNotExist take none.
std::optional<Requirement> ParseMatchExpression(Doc& d, const YAML::Node& e, const std::string& p,
                                                const KeyScheme& keys) {
  if (!CheckMap(d, e, p, {"key", "operator", "values"})) return std::nullopt;
  Requirement r;
  std::string k = Scalar(e["key"]);
  if (k.empty()) {
    d.Error(e, absl::StrCat(p, ".key is required"));
    return std::nullopt;
  }
  keys.Set(k, r);
  std::string op = Scalar(e["operator"]);
  std::optional<SelectorOp> sop = SelectorOpNamed(op);
  if (!sop) {
    d.Error(Present(e["operator"]) ? e["operator"] : e,
            ExpectedName(absl::StrCat(p, ".operator"), {"In", "NotIn", "Exists", "DoesNotExist"},
                         e["operator"]));
    return std::nullopt;
  }
  r.op = *sop;
  YAML::Node vals = e["values"];
  if (Present(vals)) {
    if (!vals.IsSequence()) {
      d.Error(vals, Expected(absl::StrCat(p, ".values"), "a list", vals));
      return std::nullopt;
    }
    for (const auto& v : vals) r.values.push_back(Scalar(v));
  }
  bool in_like = r.op == SelectorOp::kIn || r.op == SelectorOp::kNotIn;
  if (in_like && r.values.empty()) {
    d.Error(e, absl::StrCat(p, ": operator ", op, " needs a non-empty values list"));
    return std::nullopt;
  }
  if (!in_like && !r.values.empty()) {
    d.Error(vals, absl::StrCat(p, ": operator ", op, " takes no values"));
    return std::nullopt;
  }
  Normalize(r);
  return r;
}

void ParseMatchExpressions(Doc& d, const YAML::Node& me, absl::string_view path,
                           const KeyScheme& keys, Selector& sel) {
  if (!Present(me)) return;
  if (!me.IsSequence()) {
    d.Error(me, Expected(absl::StrCat(path, ".matchExpressions"), "a list", me));
    return;
  }
  for (size_t i = 0; i < me.size(); ++i) {
    std::string p = absl::StrCat(path, ".matchExpressions[", i, "]");
    if (auto r = ParseMatchExpression(d, me[i], p, keys)) sel.requirements.push_back(std::move(*r));
  }
}

// `default_source`: "any" for Cilium selectors, "k8s" for KNP. `key_prefix` is prepended
// to every key (KNP namespaceSelector: io.cilium.k8s.namespace.labels.).
std::optional<Selector> ParseSelector(Doc& d, const YAML::Node& n, absl::string_view path,
                                      absl::string_view default_source,
                                      absl::string_view key_prefix = "") {
  Selector sel;
  sel.line = d.Line(n);
  if (!Present(n)) return sel;
  if (!CheckMap(d, n, path, {"matchLabels", "matchExpressions"})) return std::nullopt;
  const KeyScheme keys{default_source, key_prefix};
  ParseMatchLabels(d, n["matchLabels"], path, keys, sel);
  ParseMatchExpressions(d, n["matchExpressions"], path, keys, sel);
  for (auto& r : sel.requirements) Normalize(r);
  return sel;
}

Requirement NsEquals(absl::string_view ns) {
  Requirement r;
  r.source = "k8s";
  r.key = std::string(kNsKey);
  r.op = SelectorOp::kIn;
  r.values.push_back(std::string(ns));
  r.implicit = true;
  return r;
}

Requirement NsExists() {
  Requirement r;
  r.source = "k8s";
  r.key = std::string(kNsKey);
  r.op = SelectorOp::kExists;
  r.implicit = true;
  return r;
}

bool HasNsKey(const Selector& s) { return s.HasKey("k8s", kNsKey) || s.HasKey("any", kNsKey); }

// Cilium's getEndpointSelector (pkg/k8s/apis/cilium.io/utils): implicit scoping of
// fromEndpoints/toEndpoints. `ns` is "" for CCNP.
void ScopePeerSelector(Selector& s, absl::string_view ns, bool subject_matches_init) {
  if (s.HasSource("reserved")) return;  // reserved selectors are left alone
  if (HasNsKey(s)) return;
  if (ns.empty()) {
    if (!subject_matches_init) s.requirements.push_back(NsExists());
  } else if (!s.HasKeyWithPrefix("k8s", kNsLabelsPrefix) &&
             !s.HasKeyWithPrefix("any", kNsLabelsPrefix)) {
    s.requirements.push_back(NsEquals(ns));
  }
}

// ---------------------------------------------------------------------------------------
// Ports

bool IsSvcName(absl::string_view s) {
  // IANA service name (RFC 6335): 1-15 chars of [a-z0-9-], at least one letter, no
  // leading/trailing hyphen, no "--". Matching is case-insensitive in Cilium.
  if (s.empty() || s.size() > 15) return false;
  bool letter = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = absl::ascii_tolower(static_cast<unsigned char>(s[i]));
    if (c >= 'a' && c <= 'z')
      letter = true;
    else if (!(c >= '0' && c <= '9') && c != '-')
      return false;
    if (c == '-' && (i == 0 || i + 1 == s.size() || s[i - 1] == '-')) return false;
  }
  return letter;
}

std::optional<L4Proto> ParseProto(Doc& d, const YAML::Node& n, absl::string_view path, bool knp) {
  if (!Present(n)) return knp ? L4Proto::kTCP : L4Proto::kAny;
  std::string p = Scalar(n);
  if (p == "TCP") return L4Proto::kTCP;
  if (p == "UDP") return L4Proto::kUDP;
  if (p == "SCTP") return L4Proto::kSCTP;
  if (!knp && (p == "ANY" || p.empty())) return L4Proto::kAny;
  std::string upper = absl::AsciiStrToUpper(p);
  if (upper == "ICMP" || upper == "ICMPV6") {
    d.Error(n, absl::StrCat(path, ".protocol ", p,
                            " is not a port protocol; use an `icmps` element for ICMP"));
  } else if (!knp && (upper == "VRRP" || upper == "IGMP" || upper == "GRE" || upper == "IPIP" ||
                      upper == "ESP" || upper == "AH" || upper == "IPV6")) {
    d.Error(n, absl::StrCat(path, ".protocol ", p,
                            " needs --enable-extended-ip-protocols and is not evaluated by "
                            "tierwatch"));
  } else {
    // "did you mean" offers the upper-case name for "tcp" (names are matched ignoring case).
    std::vector<absl::string_view> names = {"TCP", "UDP", "SCTP"};
    if (!knp) names.push_back("ANY");
    d.Error(n, ExpectedName(absl::StrCat(path, ".protocol"), names, n));
  }
  return std::nullopt;
}

std::optional<PortProtocol> ParsePortProtocol(Doc& d, const YAML::Node& n, absl::string_view path) {
  if (!CheckMap(d, n, path, {"port", "endPort", "protocol"})) return std::nullopt;
  PortProtocol pp;
  pp.line = d.Line(n);
  YAML::Node port = n["port"];
  std::string ps = Scalar(port);
  bool ok = true;
  if (!Present(port) || ps.empty()) {
    d.Error(n, absl::StrCat(path, ".port must be specified (\"0\" means every port)"));
    ok = false;
  } else if (IsSvcName(ps)) {
    pp.name = absl::AsciiStrToLower(ps);
  } else {
    uint32_t v = 0;
    if (!absl::SimpleAtoi(ps, &v) || v > 65535) {
      d.Error(port, Expected(absl::StrCat(path, ".port"),
                             "a port number from 0 to 65535 or a port name", port));
      ok = false;
    } else {
      pp.port = static_cast<uint16_t>(v);
      if (PlainNonString(port)) {
        d.Warn(port, absl::StrCat(path, ".port ", ps,
                                  " is an integer; the CRD declares a string: write \"", ps, "\""));
      }
    }
  }
  YAML::Node ep = n["endPort"];
  if (Present(ep)) {
    int64_t e = 0;
    if (!absl::SimpleAtoi(Scalar(ep), &e) || e < 0 || e > 65535) {
      d.Error(ep, Expected(absl::StrCat(path, ".endPort"), "an integer from 0 to 65535", ep));
      ok = false;
    } else if (e != 0 && pp.IsNamed()) {
      d.Warn(ep, absl::StrCat(path, ".endPort is ignored for the named port \"", pp.name, "\""));
    } else if (e != 0 && e < pp.port) {
      d.Error(ep, absl::StrCat(path, ".endPort ", e, " is lower than port ", pp.port));
      ok = false;
    } else if (e != 0 && pp.port == 0) {
      d.Error(ep, absl::StrCat(path, ".endPort needs a non-zero port"));
      ok = false;
    } else {
      pp.end_port = static_cast<uint16_t>(e);
    }
  }
  auto proto = ParseProto(d, n["protocol"], path, false);
  if (!proto)
    ok = false;
  else
    pp.protocol = *proto;
  if (!ok) return std::nullopt;
  return pp;
}

bool ValidDnsPattern(absl::string_view p, bool pattern, std::string* why) {
  absl::string_view body = p;
  if (pattern && absl::StartsWith(body, "**.")) body.remove_prefix(3);
  for (char c : body) {
    bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
              c == '_' || (pattern && c == '*');
    if (!ok) {
      *why = absl::StrCat("character '", std::string(1, c), "' is not allowed");
      return false;
    }
  }
  if (pattern && body.find("**") != absl::string_view::npos) {
    *why = "`**.` is only allowed at the start of a pattern";
    return false;
  }
  return true;
}

std::optional<FqdnSelector> ParseFqdn(Doc& d, const YAML::Node& n, absl::string_view path) {
  if (!CheckMap(d, n, path, {"matchName", "matchPattern"})) return std::nullopt;
  FqdnSelector f;
  f.line = d.Line(n);
  f.match_name = Scalar(n["matchName"]);
  f.match_pattern = Scalar(n["matchPattern"]);
  if (f.match_name.empty() == f.match_pattern.empty()) {
    d.Error(n, absl::StrCat(path, " needs exactly one of matchName or matchPattern"));
    return std::nullopt;
  }
  std::string why;
  if (!f.match_name.empty() && !ValidDnsPattern(f.match_name, false, &why)) {
    d.Error(n["matchName"], absl::StrCat(path, ".matchName \"", f.match_name, "\": ", why));
    return std::nullopt;
  }
  if (!f.match_pattern.empty() && !ValidDnsPattern(f.match_pattern, true, &why)) {
    d.Error(n["matchPattern"],
            absl::StrCat(path, ".matchPattern \"", f.match_pattern, "\": ", why));
    return std::nullopt;
  }
  if (absl::StartsWith(f.match_pattern, "**.")) {
    d.Add(Severity::kInfo, d.Line(n["matchPattern"]),
          absl::StrCat(path, ".matchPattern \"", f.match_pattern,
                       "\": the multi-level `**.` prefix needs Cilium 1.19 or later"));
  }
  return f;
}

L7Rules ParseL7(Doc& d, const YAML::Node& n, absl::string_view path) {
  L7Rules r;
  r.line = d.Line(n);
  if (!CheckMap(d, n, path, {"http", "kafka", "dns", "l7proto", "l7"})) return r;
  if (auto http = List(d, n, "http", path)) {
    for (size_t i = 0; i < http->size(); ++i) {
      YAML::Node h = (*http)[i];
      std::string p = absl::StrCat(path, ".http[", i, "]");
      if (!CheckMap(d, h, p, {"method", "path", "host", "headers", "headerMatches"})) continue;
      HttpRule hr;
      hr.line = d.Line(h);
      hr.method = Scalar(h["method"]);
      hr.path = Scalar(h["path"]);
      hr.host = Scalar(h["host"]);
      if (Present(h["headers"]) && h["headers"].IsSequence()) {
        for (const auto& x : h["headers"]) hr.headers.push_back(Scalar(x));
      }
      r.http.push_back(std::move(hr));
    }
    if (http->size() == 0) r.http.push_back(HttpRule{});  // http: [] still engages the proxy
  }
  if (auto dns = List(d, n, "dns", path)) {
    for (size_t i = 0; i < dns->size(); ++i) {
      YAML::Node x = (*dns)[i];
      std::string p = absl::StrCat(path, ".dns[", i, "]");
      auto f = ParseFqdn(d, x, p);
      if (!f) continue;
      r.dns.push_back(DnsRule{f->match_name, f->match_pattern, f->line});
    }
  }
  if (Present(n["kafka"])) {
    r.other = true;
    d.Warn(n["kafka"], absl::StrCat(path,
                                    ".kafka is deprecated (removed in Cilium 1.20) and "
                                    "not evaluated"));
  }
  if (Present(n["l7proto"]) || Present(n["l7"])) r.other = true;
  int kinds =
      (!r.http.empty()) + (Present(n["dns"])) + (Present(n["kafka"])) + (Present(n["l7proto"]));
  if (kinds > 1) d.Error(n, absl::StrCat(path, ": multiple L7 protocol rule types in one rule"));
  return r;
}

std::optional<PortRule> ParsePortRule(Doc& d, const YAML::Node& n, absl::string_view path,
                                      Section section, bool host_policy) {
  bool deny = SectionAction(section) == Action::kDeny;
  if (deny) {
    if (!CheckMap(d, n, path, {"ports"})) return std::nullopt;
  } else if (!CheckMap(d, n, path,
                       {"ports", "rules", "serverNames", "terminatingTLS", "originatingTLS",
                        "listener"})) {
    return std::nullopt;
  }
  PortRule pr;
  pr.line = d.Line(n);
  bool ok = true;
  if (auto ports = List(d, n, "ports", path)) {
    if (ports->size() > 40) d.Error(*ports, absl::StrCat(path, ": too many ports, the max is 40"));
    for (size_t i = 0; i < ports->size(); ++i) {
      auto pp = ParsePortProtocol(d, (*ports)[i], absl::StrCat(path, ".ports[", i, "]"));
      if (pp)
        pr.ports.push_back(*pp);
      else
        ok = false;
    }
  }
  if (Present(n["rules"])) pr.rules = ParseL7(d, n["rules"], absl::StrCat(path, ".rules"));
  if (auto sn = List(d, n, "serverNames", path)) {
    for (const auto& x : *sn) pr.server_names.push_back(Scalar(x));
  }
  if (!ok) return std::nullopt;

  // Cilium PortRule.sanitize.
  bool ingress = SectionDirection(section) == Direction::kIngress;
  if (!pr.rules.dns.empty()) {
    if (ingress) d.Error(n["rules"], absl::StrCat(path, ": DNS rules are not allowed on ingress"));
    if (pr.ports.empty()) {
      d.Error(n["rules"], absl::StrCat(path, ": port 53 must be specified for DNS rules"));
    } else {
      bool has53 = false;
      for (const auto& pp : pr.ports) {
        if (pp.IsRange()) {
          d.Error(n["rules"], absl::StrCat(path, ": DNS rules do not support port ranges (",
                                           pp.ToString(), ")"));
        }
        has53 |= pp.port == 53 && !pp.IsRange();
      }
      if (!has53) {
        d.Error(n["rules"], absl::StrCat(path,
                                         ": DNS rules need port 53 (the DNS proxy only "
                                         "intercepts port 53)"));
      }
    }
  }
  if (!pr.rules.Empty()) {
    if (host_policy) {
      d.Error(n["rules"], absl::StrCat(path,
                                       ": host policies (nodeSelector) do not support L7 "
                                       "rules"));
    }
    for (const auto& pp : pr.ports) {
      if (pp.port == 0 && !pp.IsNamed()) {
        d.Error(n["rules"], absl::StrCat(path, ": L7 rules can not be used when a port is 0"));
        break;
      }
      if (pr.rules.dns.empty() && pp.protocol != L4Proto::kTCP) {
        d.Error(n["rules"], absl::StrCat(path, ": L7 rules can only apply to TCP (not ",
                                         L4ProtoName(pp.protocol), ") except for DNS rules"));
        break;
      }
    }
  }
  return pr;
}

std::optional<IcmpField> ParseIcmpField(Doc& d, const YAML::Node& n, absl::string_view path) {
  if (!CheckMap(d, n, path, {"family", "type"})) return std::nullopt;
  IcmpField f;
  f.line = d.Line(n);
  std::string fam = Scalar(n["family"]);
  if (fam.empty() || fam == "IPv4")
    f.family = IcmpFamily::kIPv4;
  else if (fam == "IPv6")
    f.family = IcmpFamily::kIPv6;
  else {
    d.Error(n["family"],
            ExpectedName(absl::StrCat(path, ".family"), {"IPv4", "IPv6"}, n["family"]));
    return std::nullopt;
  }
  std::string t = Scalar(n["type"]);
  int v = -1;
  if (absl::SimpleAtoi(t, &v)) {
    if (v < 0 || v > 255) {
      d.Error(n["type"], Expected(absl::StrCat(path, ".type"),
                                  "an integer from 0 to 255 or an ICMP type name", n["type"]));
      return std::nullopt;
    }
    f.type = static_cast<uint8_t>(v);
    return f;
  }
  // Names from Cilium's pkg/policy/api/icmp.go.
  static const std::pair<const char*, int> kV4[] = {{"EchoReply", 0},
                                                    {"DestinationUnreachable", 3},
                                                    {"Redirect", 5},
                                                    {"Echo", 8},
                                                    {"EchoRequest", 8},
                                                    {"RouterAdvertisement", 9},
                                                    {"RouterSelection", 10},
                                                    {"TimeExceeded", 11},
                                                    {"ParameterProblem", 12},
                                                    {"Timestamp", 13},
                                                    {"TimestampReply", 14},
                                                    {"Photuris", 40},
                                                    {"ExtendedEchoRequest", 42},
                                                    {"ExtendedEchoReply", 43}};
  static const std::pair<const char*, int> kV6[] = {{"DestinationUnreachable", 1},
                                                    {"PacketTooBig", 2},
                                                    {"TimeExceeded", 3},
                                                    {"ParameterProblem", 4},
                                                    {"EchoRequest", 128},
                                                    {"EchoReply", 129},
                                                    {"MulticastListenerQuery", 130},
                                                    {"MulticastListenerReport", 131},
                                                    {"MulticastListenerDone", 132},
                                                    {"RouterSolicitation", 133},
                                                    {"RouterAdvertisement", 134},
                                                    {"NeighborSolicitation", 135},
                                                    {"NeighborAdvertisement", 136},
                                                    {"RedirectMessage", 137},
                                                    {"RouterRenumbering", 138},
                                                    {"ICMPNodeInformationQuery", 139},
                                                    {"ICMPNodeInformationResponse", 140},
                                                    {"InverseNeighborDiscoverySolicitation", 141},
                                                    {"InverseNeighborDiscoveryAdvertisement", 142},
                                                    {"HomeAgentAddressDiscoveryRequest", 144},
                                                    {"HomeAgentAddressDiscoveryReply", 145},
                                                    {"MobilePrefixSolicitation", 146},
                                                    {"MobilePrefixAdvertisement", 147},
                                                    {"DuplicateAddressRequestCodeSuffix", 157},
                                                    {"DuplicateAddressConfirmationCodeSuffix", 158},
                                                    {"ExtendedEchoRequest", 160},
                                                    {"ExtendedEchoReply", 161}};
  if (f.family == IcmpFamily::kIPv4) {
    for (const auto& [name, num] : kV4) {
      if (t == name) v = num;
    }
  } else {
    for (const auto& [name, num] : kV6) {
      if (t == name) v = num;
    }
  }
  if (v < 0) {
    d.Error(n["type"], Expected(absl::StrCat(path, ".type"),
                                absl::StrCat("an ICMP", f.family == IcmpFamily::kIPv6 ? "v6" : "v4",
                                             " type number or name"),
                                n["type"]));
    return std::nullopt;
  }
  f.type = static_cast<uint8_t>(v);
  f.type_name = t;
  return f;
}

std::optional<CidrRule> ParseCidr(Doc& d, const YAML::Node& n, absl::string_view path,
                                  bool allow_address) {
  CidrRule c;
  c.line = d.Line(n);
  std::string s = Scalar(n);
  std::string err;
  if (s.empty()) {
    d.Error(n, absl::StrCat(path, ": IP must be specified"));
    return std::nullopt;
  }
  if (!allow_address && s.find('/') == std::string::npos) {
    d.Error(n, Expected(path, "a prefix in <IP>/<length> form", n));
    return std::nullopt;
  }
  auto p = ParsePrefix(s, &err);
  if (!p) {
    d.Error(n, absl::StrCat(path, ": unable to parse CIDR: ", err));
    return std::nullopt;
  }
  c.cidr = *p;
  return c;
}

std::optional<CidrRule> ParseCidrRule(Doc& d, const YAML::Node& n, absl::string_view path,
                                      bool knp) {
  if (knp) {
    if (!CheckMap(d, n, path, {"cidr", "except"})) return std::nullopt;
  } else if (!CheckMap(d, n, path, {"cidr", "except", "cidrGroupRef", "cidrGroupSelector"})) {
    return std::nullopt;
  }
  CidrRule c;
  c.line = d.Line(n);
  c.cidr_group_ref = Scalar(n["cidrGroupRef"]);
  c.cidr_group_selector = Present(n["cidrGroupSelector"]);
  int set = Present(n["cidr"]) + !c.cidr_group_ref.empty() + c.cidr_group_selector;
  if (set != 1) {
    d.Error(n, absl::StrCat(path, " needs exactly one of cidr, cidrGroupRef, cidrGroupSelector"));
    return std::nullopt;
  }
  if (Present(n["cidr"])) {
    auto base = ParseCidr(d, n["cidr"], absl::StrCat(path, ".cidr"), false);
    if (!base) return std::nullopt;
    c.cidr = base->cidr;
  }
  if (auto ex = List(d, n, "except", path)) {
    for (size_t i = 0; i < ex->size(); ++i) {
      std::string err;
      std::string s = Scalar((*ex)[i]);
      auto p = ParsePrefix(s, &err);
      if (!p || s.find('/') == std::string::npos) {
        d.Error((*ex)[i], absl::StrCat(path, ".except[", i, "]: \"", s,
                                       "\" is not a prefix in <IP>/<length> form"));
        return std::nullopt;
      }
      if (Present(n["cidr"]) && !c.cidr.Contains(*p)) {
        d.Error((*ex)[i], absl::StrCat(path, ".except[", i, "]: allow CIDR prefix ", c.cidr.text,
                                       " does not contain exclude CIDR prefix ", s));
        return std::nullopt;
      }
      c.except.push_back(*p);
    }
  }
  return c;
}

// ---------------------------------------------------------------------------------------
// Cilium rule elements

struct RuleCtx {
  absl::string_view ns;  // "" for CCNP
  bool subject_matches_init = false;
  bool host_policy = false;
  std::string path;  // "spec" / "specs[1]"
};

// One allowed entity of a toEntities/fromEntities list; nullopt (reported) when the CRD would
// reject it. Entities that need a newer Cilium or may not match everywhere are noted.
std::optional<Entity> ParseEntity(Doc& d, const YAML::Node& n, const std::string& item_path,
                                  bool ingress) {
  std::string name = Scalar(n);
  auto e = EntityFromName(name);
  if (!e || *e == Entity::kWorldIpv4 || *e == Entity::kWorldIpv6) {
    // The CRD's enum (world-ipv4 and world-ipv6 are not in it).
    d.Error(n, ExpectedName(item_path,
                            {"all", "world", "cluster", "cluster-mesh", "host", "remote-node",
                             "kube-apiserver", "ingress", "health", "init", "unmanaged", "none"},
                            n));
    return std::nullopt;
  }
  if (*e == Entity::kClusterMesh) {
    d.Add(Severity::kInfo, d.Line(n),
          absl::StrCat(item_path, ": entity cluster-mesh needs Cilium 1.19+"));
  }
  if (*e == Entity::kKubeApiserver && ingress) {
    d.Add(Severity::kInfo, d.Line(n),
          absl::StrCat(item_path,
                       ": fromEntities kube-apiserver may not match "
                       "on AKS and GKE (control plane traffic arrives through the nodes)"));
  }
  return e;
}

// One toServices item: a Service by name (its namespace defaulting to the policy's) or by
// selector; nullopt (reported) when it is malformed.
std::optional<ServiceSelector> ParseServicePeer(Doc& d, const YAML::Node& s, const std::string& p,
                                                absl::string_view policy_ns) {
  if (!CheckMap(d, s, p, {"k8sService", "k8sServiceSelector"})) return std::nullopt;
  ServiceSelector ss;
  ss.line = d.Line(s);
  if (Present(s["k8sService"]) == Present(s["k8sServiceSelector"])) {
    d.Error(s, absl::StrCat(p, " needs exactly one of k8sService or k8sServiceSelector"));
    return std::nullopt;
  }
  if (!Present(s["k8sService"])) {
    YAML::Node ks = s["k8sServiceSelector"];
    if (!CheckMap(d, ks, p + ".k8sServiceSelector", {"selector", "namespace"})) {
      return std::nullopt;
    }
    ss.namespace_ = Scalar(ks["namespace"]);
    ss.selector = ParseSelector(d, ks["selector"], p + ".k8sServiceSelector.selector", "any");
    return ss;
  }
  YAML::Node ks = s["k8sService"];
  if (!CheckMap(d, ks, p + ".k8sService", {"serviceName", "namespace"})) return std::nullopt;
  ss.service_name = Scalar(ks["serviceName"]);
  ss.namespace_ = Scalar(ks["namespace"]);
  if (ss.service_name.empty()) {
    d.Error(ks, absl::StrCat(p, ".k8sService.serviceName is required"));
    return std::nullopt;
  }
  if (ss.namespace_.empty()) ss.namespace_ = policy_ns.empty() ? "default" : std::string(policy_ns);
  if (ss.namespace_ == "default" && ss.service_name == "kubernetes") {
    d.Warn(ks, absl::StrCat(p,
                            ": use toEntities: [kube-apiserver] instead of "
                            "toServices default/kubernetes"));
  }
  return ss;
}

// Parses one element of a Cilium rule section (an item of ingress, ingressDeny, egress or
// egressDeny): its L3 peers, its ports or ICMP types, its authentication. Each field has its
// own step; Parse runs them in a fixed order, so the diagnostics come in that order.
class ElementParser {
 public:
  ElementParser(Doc& d, const YAML::Node& n, const RuleCtx& rc, Section section, int index,
                RuleElement& el)
      : d_(d),
        n_(n),
        rc_(rc),
        section_(section),
        index_(index),
        ingress_(SectionDirection(section) == Direction::kIngress),
        deny_(SectionAction(section) == Action::kDeny),
        path_(absl::StrCat(rc.path, ".", SectionName(section), "[", index, "]")),
        el_(el) {}

  void Parse() {
    el_.section = section_;
    el_.index = index_;
    el_.line = d_.Line(n_);
    if (n_.IsNull()) return;  // `- ` (null) behaves like `- {}`
    CheckFields();
    if (!n_.IsMap()) return;
    ParseEndpoints();
    ParseEntities();
    ParseCidrs();
    ParseCidrSets();
    ParseNodes();
    ParseGroups();
    ParseRequires();
    if (!ingress_) {
      ParseFqdns();
      ParseServices();
    }
    CheckOneL3Kind();
    ParseToPorts();
    ParseIcmps();
    CheckPortsOrIcmps();
    WarnDnsRuleOnFqdns();
    ParseAuthentication();
    MarkWildcard();
  }

 private:
  // The fields the section's CRD schema allows (deny sections have no authentication; a
  // toFQDNs in egressDeny gets its own, clearer error).
  void CheckFields() {
    if (ingress_) {
      if (deny_) {
        CheckMap(d_, n_, path_,
                 {"fromEndpoints", "fromRequires", "fromCIDR", "fromCIDRSet", "fromEntities",
                  "fromGroups", "fromNodes", "toPorts", "icmps"});
      } else {
        CheckMap(d_, n_, path_,
                 {"fromEndpoints", "fromRequires", "fromCIDR", "fromCIDRSet", "fromEntities",
                  "fromGroups", "fromNodes", "toPorts", "icmps", "authentication"});
      }
      return;
    }
    if (deny_) {
      if (Present(n_["toFQDNs"])) {
        d_.Error(n_["toFQDNs"], absl::StrCat(path_,
                                             ": toFQDNs is not supported in egressDeny "
                                             "(deny policies cannot use FQDN selectors)"));
      }
      CheckMap(d_, n_, path_,
               {"toEndpoints", "toRequires", "toCIDR", "toCIDRSet", "toEntities", "toServices",
                "toGroups", "toNodes", "toPorts", "icmps", "toFQDNs"});
    } else {
      CheckMap(d_, n_, path_,
               {"toEndpoints", "toRequires", "toCIDR", "toCIDRSet", "toEntities", "toServices",
                "toFQDNs", "toGroups", "toNodes", "toPorts", "icmps", "authentication"});
    }
  }

  // "fromEndpoints" on ingress, "toEndpoints" on egress.
  std::string Key(const char* suffix) const {
    return absl::StrCat(ingress_ ? "from" : "to", suffix);
  }
  std::string ItemPath(absl::string_view key, size_t i) const {
    return absl::StrCat(path_, ".", key, "[", i, "]");
  }

  // An L3 field written (even as []) turns the wildcard off; a non-empty one is the
  // element's peer kind, of which there may be only one.
  void NoteL3(const std::string& k, const YAML::Node& list, PeerField kind) {
    l3_written_ = true;
    if (list.size() > 0) {
      nonempty_l3_.push_back(k);
      el_.peers.kinds.push_back(kind);
    }
  }
  // The L3 list under `k`, noted; nullopt when absent.
  std::optional<YAML::Node> L3List(const std::string& k, PeerField kind) {
    auto l = List(d_, n_, k.c_str(), path_);
    if (l) NoteL3(k, *l, kind);
    return l;
  }

  void ParseEndpoints() {
    std::string k = Key("Endpoints");
    auto l = L3List(k, PeerField::kEndpoints);
    if (!l) return;
    for (size_t i = 0; i < l->size(); ++i) {
      auto s = ParseSelector(d_, (*l)[i], ItemPath(k, i), "any");
      if (!s) continue;
      ScopePeerSelector(*s, rc_.ns, rc_.subject_matches_init);
      el_.peers.endpoints.push_back(std::move(*s));
    }
  }

  void ParseEntities() {
    std::string k = Key("Entities");
    auto l = L3List(k, PeerField::kEntities);
    if (!l) return;
    for (size_t i = 0; i < l->size(); ++i) {
      if (auto e = ParseEntity(d_, (*l)[i], ItemPath(k, i), ingress_)) {
        el_.peers.entities.push_back(*e);
      }
    }
  }

  // fromCIDR/toCIDR: a bare address is accepted as a host prefix.
  void ParseCidrs() {
    std::string k = Key("CIDR");
    auto l = L3List(k, PeerField::kCidr);
    if (!l) return;
    for (size_t i = 0; i < l->size(); ++i) {
      auto c = ParseCidr(d_, (*l)[i], ItemPath(k, i), true);
      if (c) el_.peers.cidrs.push_back(*c);
    }
  }

  void ParseCidrSets() {
    std::string k = Key("CIDRSet");
    auto l = L3List(k, PeerField::kCidrSet);
    if (!l) return;
    for (size_t i = 0; i < l->size(); ++i) {
      auto c = ParseCidrRule(d_, (*l)[i], ItemPath(k, i), false);
      if (c) el_.peers.cidrs.push_back(*c);
    }
  }

  void ParseNodes() {
    std::string k = Key("Nodes");
    auto l = L3List(k, PeerField::kNodes);
    if (!l) return;
    if (l->size() > 0) {
      d_.Warn(*l, absl::StrCat(path_, ".", k,
                               " needs --enable-node-selector-labels; node labels "
                               "are not in flows, so these peers are undecidable"));
    }
    for (size_t i = 0; i < l->size(); ++i) {
      auto s = ParseSelector(d_, (*l)[i], ItemPath(k, i), "any");
      if (s) el_.peers.nodes.push_back(std::move(*s));
    }
  }

  // Groups (cloud provider security groups) are only recorded as present: flows do not say.
  void ParseGroups() {
    auto l = L3List(Key("Groups"), PeerField::kGroups);
    if (l) el_.peers.groups = l->size() > 0;
  }

  // Requires narrows other elements' peers rather than naming its own, so it is no L3 kind.
  void ParseRequires() {
    std::string k = Key("Requires");
    auto l = List(d_, n_, k.c_str(), path_);
    if (!l || l->size() == 0) return;
    d_.Warn(*l, absl::StrCat(path_, ".", k,
                             " is deprecated (1.17) and removed in Cilium 1.19; "
                             "tierwatch does not evaluate it"));
    for (const auto& x : *l) el_.peers.requires_.push_back(YAML::Dump(x));
  }

  // toFQDNs in egressDeny was reported by CheckFields; its items are still checked, but
  // it selects nothing there.
  void ParseFqdns() {
    auto l = List(d_, n_, "toFQDNs", path_);
    if (!l) return;
    if (!deny_) NoteL3("toFQDNs", *l, PeerField::kFqdn);
    for (size_t i = 0; i < l->size(); ++i) {
      auto f = ParseFqdn(d_, (*l)[i], ItemPath("toFQDNs", i));
      if (f && !deny_) el_.peers.fqdns.push_back(*f);
    }
  }

  void ParseServices() {
    auto l = L3List("toServices", PeerField::kServices);
    if (!l) return;
    for (size_t i = 0; i < l->size(); ++i) {
      if (auto ss = ParseServicePeer(d_, (*l)[i], ItemPath("toServices", i), rc_.ns)) {
        el_.peers.services.push_back(std::move(*ss));
      }
    }
  }

  void CheckOneL3Kind() {
    if (nonempty_l3_.size() > 1) {
      d_.Error(n_, absl::StrCat(path_, ": combining ", nonempty_l3_[0], " and ", nonempty_l3_[1],
                                " is not supported (one L3 peer kind per element)"));
    }
  }

  void ParseToPorts() {
    auto tp = List(d_, n_, "toPorts", path_);
    if (!tp) return;
    el_.has_to_ports = true;
    for (size_t i = 0; i < tp->size(); ++i) {
      auto pr = ParsePortRule(d_, (*tp)[i], ItemPath("toPorts", i), section_, rc_.host_policy);
      if (pr) el_.to_ports.push_back(std::move(*pr));
    }
  }

  void ParseIcmps() {
    auto ic = List(d_, n_, "icmps", path_);
    if (!ic) return;
    el_.has_icmps = true;
    for (size_t i = 0; i < ic->size(); ++i) {
      YAML::Node r = (*ic)[i];
      std::string p = ItemPath("icmps", i);
      if (!CheckMap(d_, r, p, {"fields"})) continue;
      auto fl = List(d_, r, "fields", p);
      if (!fl) continue;
      if (fl->size() > 40) d_.Error(*fl, absl::StrCat(p, ": too many types, the max is 40"));
      for (size_t j = 0; j < fl->size(); ++j) {
        auto f = ParseIcmpField(d_, (*fl)[j], absl::StrCat(p, ".fields[", j, "]"));
        if (f) el_.icmps.push_back(*f);
      }
    }
  }

  // Cilium rejects an element with both non-empty, and treats an empty toPorts/icmps list
  // like an absent one (len() == 0).
  void CheckPortsOrIcmps() {
    if (el_.has_icmps && el_.has_to_ports && Present(n_["icmps"]) && n_["icmps"].size() > 0 &&
        n_["toPorts"].size() > 0) {
      d_.Error(n_["icmps"], absl::StrCat(path_,
                                         ": the icmps block may only be present without "
                                         "toPorts; define a separate element for toPorts"));
    }
    if (el_.has_to_ports && n_["toPorts"].size() == 0) el_.has_to_ports = false;
    if (el_.has_icmps && n_["icmps"].size() == 0) el_.has_icmps = false;
  }

  // A common mistake: the DNS rule belongs on the element allowing the DNS server.
  void WarnDnsRuleOnFqdns() {
    if (ingress_ || deny_ || el_.peers.fqdns.empty()) return;
    for (const auto& pr : el_.to_ports) {
      if (!pr.rules.dns.empty()) {
        d_.Warn(n_, absl::StrCat(path_,
                                 ": a DNS rule on a toFQDNs element applies to traffic to "
                                 "the FQDN targets, not to the DNS server"));
      }
    }
  }

  void ParseAuthentication() {
    if (!Present(n_["authentication"])) return;
    YAML::Node a = n_["authentication"];
    if (!CheckMap(d_, a, path_ + ".authentication", {"mode"})) return;
    el_.auth_mode = Scalar(a["mode"]);
    if (el_.auth_mode != "disabled" && el_.auth_mode != "required" &&
        el_.auth_mode != "test-always-fail") {
      // test-always-fail (Cilium's test mode) is accepted but not offered.
      d_.Error(a["mode"], ExpectedName(absl::StrCat(path_, ".authentication.mode"),
                                       {"disabled", "required"}, a["mode"]));
    } else if (el_.auth_mode != "disabled") {
      d_.Warn(a, absl::StrCat(path_,
                              ": mutual authentication is not modelled; flows without "
                              "authentication would be dropped with AUTH_REQUIRED"));
    }
  }

  // Wildcard L3: no L3 field written at all and a port part present (nil selectors +
  // toPorts/icmps). An L3 field written as [] selects nothing. Entity `all` is the wildcard
  // too.
  void MarkWildcard() {
    if (!l3_written_ && (el_.has_to_ports || el_.has_icmps)) el_.peers.wildcard = true;
    for (Entity e : el_.peers.entities) {
      if (e == Entity::kAll) el_.peers.wildcard = true;
    }
  }

  Doc& d_;
  const YAML::Node& n_;
  const RuleCtx& rc_;
  const Section section_;
  const int index_;
  const bool ingress_;
  const bool deny_;
  const std::string path_;  // "spec.egress[2]"
  RuleElement& el_;
  bool l3_written_ = false;  // an L3 field present (even as [])
  std::vector<std::string> nonempty_l3_;
};

void ParseElement(Doc& d, const YAML::Node& n, const RuleCtx& rc, Section section, int index,
                  RuleElement& el) {
  ElementParser(d, n, rc, section, index, el).Parse();
}

void ParseSection(Doc& d, const YAML::Node& spec, const RuleCtx& rc, Section s,
                  std::vector<RuleElement>& out) {
  std::string key(SectionName(s));
  if (auto l = List(d, spec, key.c_str(), rc.path)) {
    for (size_t i = 0; i < l->size(); ++i) {
      RuleElement el;
      ParseElement(d, (*l)[i], rc, s, static_cast<int>(i), el);
      out.push_back(std::move(el));
    }
  }
}

// A CNP subject always applies in the policy's namespace; a different namespace match
// written by the author is replaced (Cilium warns and overrides).
void ScopeSubjectToNamespace(Doc& d, const YAML::Node& selector_node, const std::string& path,
                             absl::string_view ns, Selector& s) {
  auto& reqs = s.requirements;
  for (auto it = reqs.begin(); it != reqs.end();) {
    if (it->source == "k8s" && it->key == kNsKey) {
      if (!(it->op == SelectorOp::kIn && it->values.size() == 1 && it->values[0] == ns)) {
        d.Warn(selector_node, absl::StrCat(path,
                                           ".endpointSelector: a CiliumNetworkPolicy always "
                                           "selects in its own namespace \"",
                                           ns,
                                           "\"; the namespace "
                                           "match ",
                                           it->ToString(), " is replaced"));
      }
      it = reqs.erase(it);
    } else {
      ++it;
    }
  }
  reqs.push_back(NsEquals(ns));
}

std::optional<Rule> ParseCiliumRule(Doc& d, const YAML::Node& spec, absl::string_view ns,
                                    PolicyKind kind, int spec_index, const std::string& path) {
  Rule r;
  r.spec_index = spec_index;
  r.line = d.Line(spec);
  if (!CheckMap(d, spec, path,
                {"endpointSelector", "nodeSelector", "ingress", "ingressDeny", "egress",
                 "egressDeny", "labels", "enableDefaultDeny", "description", "log"})) {
    return std::nullopt;
  }
  bool has_es = Present(spec["endpointSelector"]);
  bool has_ns = Present(spec["nodeSelector"]);
  if (has_es && has_ns) {
    d.Error(spec, absl::StrCat(path,
                               ": rule cannot have both endpointSelector and "
                               "nodeSelector"));
  } else if (!has_es && !has_ns) {
    d.Error(spec, absl::StrCat(path,
                               ": rule must have one of endpointSelector or "
                               "nodeSelector"));
  }
  if (has_ns && kind == PolicyKind::kCiliumNetworkPolicy) {
    d.Error(spec["nodeSelector"], absl::StrCat(path,
                                               ".nodeSelector is only valid in a "
                                               "CiliumClusterwideNetworkPolicy"));
  }
  RuleCtx rc;
  rc.ns = ns;
  rc.path = path;
  if (has_es) {
    auto s = ParseSelector(d, spec["endpointSelector"], path + ".endpointSelector", "any");
    if (s) {
      if (!ns.empty()) ScopeSubjectToNamespace(d, spec["endpointSelector"], path, ns, *s);
      rc.subject_matches_init = s->HasKey("reserved", "init");
      r.endpoint_selector = std::move(*s);
    }
  }
  if (has_ns) {
    auto s = ParseSelector(d, spec["nodeSelector"], path + ".nodeSelector", "any");
    if (s) r.node_selector = std::move(*s);
    rc.host_policy = true;
  }
  if (Present(spec["enableDefaultDeny"])) {
    YAML::Node e = spec["enableDefaultDeny"];
    if (CheckMap(d, e, path + ".enableDefaultDeny", {"ingress", "egress"})) {
      r.enable_default_deny_ingress = BoolField(d, e, "ingress", path + ".enableDefaultDeny");
      r.enable_default_deny_egress = BoolField(d, e, "egress", path + ".enableDefaultDeny");
    }
  }
  if (auto s = StringField(d, spec, "description", path)) r.description = *s;
  if (Present(spec["log"])) {
    YAML::Node l = spec["log"];
    if (CheckMap(d, l, path + ".log", {"value"})) r.log = Scalar(l["value"]);
  }
  ParseSection(d, spec, rc, Section::kIngress, r.ingress);
  ParseSection(d, spec, rc, Section::kIngressDeny, r.ingress_deny);
  ParseSection(d, spec, rc, Section::kEgress, r.egress);
  ParseSection(d, spec, rc, Section::kEgressDeny, r.egress_deny);
  if (r.ingress.empty() && r.ingress_deny.empty() && r.egress.empty() && r.egress_deny.empty()) {
    d.Error(spec, absl::StrCat(path,
                               ": rule must have at least one of ingress, ingressDeny, "
                               "egress, egressDeny with at least one element (Cilium 1.17+ "
                               "rejects it)"));
  }
  if (r.enable_default_deny_ingress.has_value() && !r.HasEntries(Direction::kIngress)) {
    d.Add(Severity::kInfo, d.Line(spec["enableDefaultDeny"]),
          absl::StrCat(path,
                       ".enableDefaultDeny.ingress has no effect: the rule has no ingress "
                       "or ingressDeny elements"));
  }
  if (r.enable_default_deny_egress.has_value() && !r.HasEntries(Direction::kEgress)) {
    d.Add(Severity::kInfo, d.Line(spec["enableDefaultDeny"]),
          absl::StrCat(path,
                       ".enableDefaultDeny.egress has no effect: the rule has no egress "
                       "or egressDeny elements"));
  }
  return r;
}

// ---------------------------------------------------------------------------------------
// Kubernetes NetworkPolicy (Cilium's pkg/k8s/network_policy.go ParseNetworkPolicy)

void ParseKnpPorts(Doc& d, const YAML::Node& rule, const std::string& path, RuleElement& el) {
  auto ports = List(d, rule, "ports", path);
  if (!ports || ports->size() == 0) return;  // no ports: L3-only (every protocol)
  el.has_to_ports = true;
  PortRule pr;
  pr.line = d.Line(*ports);
  for (size_t i = 0; i < ports->size(); ++i) {
    YAML::Node p = (*ports)[i];
    std::string pp_path = absl::StrCat(path, ".ports[", i, "]");
    if (!CheckMap(d, p, pp_path, {"port", "endPort", "protocol"})) continue;
    PortProtocol pp;
    pp.line = d.Line(p);
    auto proto = ParseProto(d, p["protocol"], pp_path, true);
    if (!proto) continue;
    pp.protocol = *proto;
    if (Present(p["port"])) {
      std::string s = Scalar(p["port"]);
      uint32_t v = 0;
      if (absl::SimpleAtoi(s, &v)) {
        if (v < 1 || v > 65535) {
          d.Error(p["port"], Expected(absl::StrCat(pp_path, ".port"),
                                      "a port number from 1 to 65535 or a port name", p["port"]));
          continue;
        }
        pp.port = static_cast<uint16_t>(v);
      } else if (IsSvcName(s)) {
        pp.name = absl::AsciiStrToLower(s);
      } else {
        d.Error(p["port"], Expected(absl::StrCat(pp_path, ".port"),
                                    "a port number from 1 to 65535 or a port name", p["port"]));
        continue;
      }
    }
    if (Present(p["endPort"])) {
      int64_t e = 0;
      if (!absl::SimpleAtoi(Scalar(p["endPort"]), &e) || e < 1 || e > 65535) {
        d.Error(p["endPort"], Expected(absl::StrCat(pp_path, ".endPort"),
                                       "an integer from 1 to 65535", p["endPort"]));
        continue;
      }
      if (pp.IsNamed() || pp.port == 0) {
        d.Error(p["endPort"], absl::StrCat(pp_path, ".endPort needs a numeric port"));
        continue;
      }
      if (e < pp.port) {
        d.Error(p["endPort"],
                absl::StrCat(pp_path, ".endPort ", e, " is lower than port ", pp.port));
        continue;
      }
      pp.end_port = static_cast<uint16_t>(e);
    }
    pr.ports.push_back(pp);
  }
  el.to_ports.push_back(std::move(pr));
}

void ParseKnpPeers(Doc& d, const YAML::Node& rule, const char* key, const std::string& path,
                   absl::string_view ns, RuleElement& el) {
  auto peers = List(d, rule, key, path);
  if (!peers || peers->size() == 0) {
    // "If this field is empty or missing, this rule matches all sources": Cilium uses the
    // wildcard selector, so world, host and remote nodes are included.
    el.peers.wildcard = true;
    return;
  }
  for (size_t i = 0; i < peers->size(); ++i) {
    YAML::Node p = (*peers)[i];
    std::string pp = absl::StrCat(path, ".", key, "[", i, "]");
    if (!CheckMap(d, p, pp, {"podSelector", "namespaceSelector", "ipBlock"})) continue;
    bool has_pod = Present(p["podSelector"]);
    bool has_nsel = Present(p["namespaceSelector"]);
    bool has_ip = Present(p["ipBlock"]);
    if (has_ip && (has_pod || has_nsel)) {
      d.Error(p, absl::StrCat(pp,
                              ": ipBlock may not be combined with podSelector or "
                              "namespaceSelector"));
      continue;
    }
    if (!has_ip && !has_pod && !has_nsel) {
      d.Error(p, absl::StrCat(pp,
                              ": must specify a peer (podSelector, namespaceSelector or "
                              "ipBlock)"));
      continue;
    }
    if (has_ip) {
      auto c = ParseCidrRule(d, p["ipBlock"], pp + ".ipBlock", true);
      if (c) {
        el.peers.cidrs.push_back(*c);
        el.peers.kinds.push_back(PeerField::kIpBlock);
      }
      continue;
    }
    Selector sel;
    sel.line = d.Line(p);
    if (has_nsel) {
      auto nsel = ParseSelector(d, p["namespaceSelector"], pp + ".namespaceSelector", "k8s",
                                kNsLabelsPrefix);
      if (!nsel) continue;
      if (nsel->requirements.empty()) {
        sel.requirements.push_back(NsExists());  // every namespace (pods only)
      } else {
        sel.requirements = nsel->requirements;
      }
      if (has_pod) {
        auto psel = ParseSelector(d, p["podSelector"], pp + ".podSelector", "k8s");
        if (!psel) continue;
        for (auto& r : psel->requirements) sel.requirements.push_back(r);
      }
    } else {
      auto psel = ParseSelector(d, p["podSelector"], pp + ".podSelector", "k8s");
      if (!psel) continue;
      sel.requirements = psel->requirements;
      sel.requirements.push_back(NsEquals(ns));
    }
    el.peers.endpoints.push_back(std::move(sel));
    el.peers.kinds.push_back(PeerField::kEndpoints);
  }
}

std::optional<Rule> ParseKnpSpec(Doc& d, const YAML::Node& spec, absl::string_view ns) {
  Rule r;
  r.line = d.Line(spec);
  if (!CheckMap(d, spec, "spec", {"podSelector", "ingress", "egress", "policyTypes"})) {
    return std::nullopt;
  }
  if (!spec["podSelector"].IsDefined()) {
    d.Error(spec, "spec.podSelector is required (use {} for every pod of the namespace)");
  }
  auto sel = ParseSelector(d, spec["podSelector"], "spec.podSelector", "k8s");
  if (!sel) return std::nullopt;
  sel->requirements.push_back(NsEquals(ns));
  r.endpoint_selector = std::move(*sel);

  bool type_ingress = false, type_egress = false;
  if (auto pt = List(d, spec, "policyTypes", "spec")) {
    for (const auto& t : *pt) {
      std::string s = Scalar(t);
      if (s == "Ingress")
        type_ingress = true;
      else if (s == "Egress")
        type_egress = true;
      else
        d.Error(t, ExpectedName("spec.policyTypes", {"Ingress", "Egress"}, t));
    }
  }
  if (auto l = List(d, spec, "ingress", "spec")) {
    for (size_t i = 0; i < l->size(); ++i) {
      YAML::Node ir = (*l)[i];
      std::string p = absl::StrCat("spec.ingress[", i, "]");
      RuleElement el;
      el.section = Section::kIngress;
      el.index = static_cast<int>(i);
      el.line = d.Line(ir);
      if (!ir.IsNull() && !CheckMap(d, ir, p, {"from", "ports"})) continue;
      if (!ir.IsNull()) {
        ParseKnpPeers(d, ir, "from", p, ns, el);
        ParseKnpPorts(d, ir, p, el);
      } else {
        el.peers.wildcard = true;
      }
      r.ingress.push_back(std::move(el));
    }
  }
  if (auto l = List(d, spec, "egress", "spec")) {
    for (size_t i = 0; i < l->size(); ++i) {
      YAML::Node er = (*l)[i];
      std::string p = absl::StrCat("spec.egress[", i, "]");
      RuleElement el;
      el.section = Section::kEgress;
      el.index = static_cast<int>(i);
      el.line = d.Line(er);
      if (!er.IsNull() && !CheckMap(d, er, p, {"to", "ports"})) continue;
      if (!er.IsNull()) {
        ParseKnpPeers(d, er, "to", p, ns, el);
        ParseKnpPorts(d, er, p, el);
      } else {
        el.peers.wildcard = true;
      }
      r.egress.push_back(std::move(el));
    }
  }
  // Cilium: ingress default-deny without rules when policyTypes has Ingress or lacks Egress;
  // egress only when policyTypes has Egress.
  if (r.ingress.empty() && (type_ingress || !type_egress)) r.knp_isolates_ingress = true;
  if (r.egress.empty() && type_egress) r.knp_isolates_egress = true;
  if (type_egress && !type_ingress && !r.ingress.empty()) {
    d.Warn(spec["ingress"],
           "spec.ingress is set but policyTypes lists only Egress: Kubernetes "
           "ignores these ingress rules, Cilium still installs them");
  }
  return r;
}

// ---------------------------------------------------------------------------------------
// Documents

struct Chunk {
  std::string text;
  int start_line = 0;  // 0-based line in the file
};

// Splits a multi-document YAML file at "---" marker lines. Each document is parsed alone
// so that a syntax error in one does not hide the others.
std::vector<Chunk> SplitDocuments(absl::string_view text) {
  std::vector<Chunk> out;
  Chunk cur;
  int line_no = 0;
  bool has_content = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    bool marker = absl::StartsWith(line, "---") &&
                  (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
    bool end_marker =
        absl::StartsWith(line, "...") && (line.size() == 3 || line[3] == ' ' || line[3] == '\r');
    if (marker || end_marker) {
      if (has_content) out.push_back(std::move(cur));
      cur = Chunk{};
      cur.start_line = line_no;
      has_content = false;
      if (marker) {
        // Keep what follows the marker on the same line ("--- {a: 1}"), in place.
        std::string rest(line);
        rest.replace(0, 3, "   ");
        cur.text = rest + "\n";
        if (!absl::StripAsciiWhitespace(rest).empty() &&
            !absl::StartsWith(absl::StripLeadingAsciiWhitespace(rest), "#")) {
          has_content = true;
        }
      }
    } else {
      if (cur.text.empty() && !has_content) cur.start_line = line_no;
      absl::string_view stripped = absl::StripAsciiWhitespace(line);
      if (!stripped.empty() && !absl::StartsWith(stripped, "#")) has_content = true;
      cur.text.append(line.data(), line.size());
      cur.text.push_back('\n');
    }
    ++line_no;
  }
  if (has_content) out.push_back(std::move(cur));
  return out;
}

bool IsKustomizationFile(absl::string_view filename) {
  std::string base = fs::path(std::string(filename)).filename().string();
  return base == "kustomization.yaml" || base == "kustomization.yml" || base == "Kustomization";
}

void ParseObject(Doc& d, const YAML::Node& root, int document_index, absl::string_view filename);

void ParseChunk(const Chunk& c, absl::string_view filename, int document_index,
                LoadedPolicies& out) {
  Doc d;
  d.file = std::string(filename);
  d.line_offset = c.start_line;
  d.out = &out;
  YAML::Node root;
  try {
    root = YAML::Load(c.text);
  } catch (const YAML::Exception& e) {
    int line = e.mark.line >= 0 ? e.mark.line + 1 + c.start_line : c.start_line + 1;
    d.Add(Severity::kError, line,
          absl::StrCat("YAML syntax error: ", tw::yaml::LoadErrorMessage(e),
                       "; this document is skipped"));
    out.documents++;
    return;
  }
  if (!Present(root)) return;
  out.documents++;
  d.duplicates = tw::yaml::CheckTree(root, tw::yaml::LimitsFor(c.text.size()));
  if (tw::yaml::HasLimitProblem(d.duplicates)) {
    // Reading a tree that blew the budget would do the expansion just refused.
    d.FlushDuplicates();
    return;
  }
  try {
    ParseObject(d, root, document_index, filename);
  } catch (const YAML::Exception& e) {
    // yaml-cpp throws on conversions of unexpected node shapes; report it, don't crash.
    int line = e.mark.line >= 0 ? e.mark.line + 1 + c.start_line : c.start_line + 1;
    d.Add(Severity::kError, line, absl::StrCat("unexpected YAML structure: ", e.msg));
  }
  d.FlushDuplicates();  // a document that is not a policy (or a List) still has them
}

// A kind that is meant to be a network policy: in a policy API group, or a near miss of a
// policy kind's name.
bool LooksLikeAPolicyKind(const std::string& api, const std::string& kind) {
  if (absl::StartsWith(api, "cilium.io/") || absl::StartsWith(api, "networking.k8s.io/")) {
    return true;
  }
  std::string k = absl::AsciiStrToLower(kind);
  if (absl::StrContains(k, "policy") || absl::StrContains(k, "polcy") ||
      absl::StrContains(k, "poilcy")) {
    return true;
  }
  for (const char* known :
       {"ciliumnetworkpolicy", "ciliumclusterwidenetworkpolicy", "networkpolicy"}) {
    // Small edit distance to a known kind.
    const std::string b = known;
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= k.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (k[i - 1] != b[j - 1])});
      }
      std::swap(prev, cur);
    }
    if (prev[b.size()] <= 3) return true;
  }
  return false;
}

// What a document says it is, read before knowing whether it is a policy.
struct ObjectHeader {
  std::string api;  // apiVersion
  std::string kind;
  std::string name;  // metadata.name
  int line = 0;
};

// Kustomize files sit beside policies in a GitOps tree. They are skipped with a note: the
// policies they deploy are read from the directory itself.
bool SkipKustomization(Doc& d, const ObjectHeader& h, absl::string_view filename) {
  if (absl::StartsWith(h.api, "kustomize.toolkit.fluxcd.io/") && h.kind == "Kustomization") {
    d.out->skipped_documents++;
    d.Add(Severity::kInfo, h.line,
          absl::StrCat("Flux Kustomization '", h.name,
                       "' skipped (it deploys policies, it is not "
                       "one)"));
    return true;
  }
  if (absl::StartsWith(h.api, "kustomize.config.k8s.io/") ||
      (IsKustomizationFile(filename) && (h.kind.empty() || h.kind == "Kustomization"))) {
    d.out->skipped_documents++;
    d.Add(Severity::kInfo, h.line,
          "kustomize kustomization skipped (resources are read from the "
          "directory itself, not through it)");
    return true;
  }
  return false;
}

std::optional<PolicyKind> PolicyKindOf(const ObjectHeader& h) {
  bool is_cilium = absl::StartsWith(h.api, "cilium.io/");
  if (is_cilium && h.kind == "CiliumNetworkPolicy") return PolicyKind::kCiliumNetworkPolicy;
  if (is_cilium && h.kind == "CiliumClusterwideNetworkPolicy") {
    return PolicyKind::kCiliumClusterwideNetworkPolicy;
  }
  if (h.api == "networking.k8s.io/v1" && h.kind == "NetworkPolicy") {
    return PolicyKind::kNetworkPolicy;
  }
  return std::nullopt;
}

// Any other object is skipped, with a warning when it looks like a policy whose kind is
// misspelled.
void SkipNonPolicy(Doc& d, const ObjectHeader& h) {
  d.out->skipped_documents++;
  if (h.kind.empty() && h.api.empty()) {
    d.Add(Severity::kWarning, h.line, "document has no apiVersion/kind; skipped");
  } else if (LooksLikeAPolicyKind(h.api, h.kind)) {
    // A misspelled kind would otherwise vanish from every check without a word.
    d.Add(Severity::kWarning, h.line,
          absl::StrCat("kind \"", h.kind, "\" (", h.api.empty() ? "no apiVersion" : h.api,
                       ") is not a policy kind tierwatch understands, so '", h.name,
                       "' is skipped: misspelled? Understood: CiliumNetworkPolicy, "
                       "CiliumClusterwideNetworkPolicy (cilium.io/v2), NetworkPolicy "
                       "(networking.k8s.io/v1)"));
  } else {
    d.Add(Severity::kInfo, h.line,
          absl::StrCat("skipped ", h.kind.empty() ? "object" : h.kind, " '", h.name, "' (",
                       h.api.empty() ? "no apiVersion" : h.api,
                       "): not a CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy or "
                       "NetworkPolicy"));
  }
}

// The policy's namespace from its metadata: none for a CCNP, "default" when unwritten. From
// here on diagnostics are reported under the policy's name, the duplicate keys found
// earlier included; then the object's top-level fields and its metadata are checked.
void ReadMetadata(Doc& d, const YAML::Node& root, const ObjectHeader& h, Policy& pol) {
  const bool clusterwide = pol.kind == PolicyKind::kCiliumClusterwideNetworkPolicy;
  YAML::Node md = root["metadata"];
  bool has_md = Present(md) && md.IsMap();
  if (has_md) pol.namespace_ = Scalar(md["namespace"]);
  std::string written_ns = pol.namespace_;
  if (clusterwide) {
    pol.namespace_.clear();
  } else if (pol.namespace_.empty()) {
    pol.namespace_ = "default";
  }
  d.policy = pol.DisplayName();
  d.FlushDuplicates();
  CheckMap(d, root, h.kind, {"apiVersion", "kind", "metadata", "spec", "specs", "status"});
  if (!has_md) d.Add(Severity::kError, h.line, absl::StrCat(h.kind, " has no metadata"));
  if (clusterwide && !written_ns.empty()) {
    d.Add(Severity::kWarning, d.Line(md["namespace"], h.line),
          absl::StrCat("metadata.namespace \"", written_ns,
                       "\" is ignored: CiliumClusterwideNetworkPolicy is cluster-scoped"));
  } else if (!clusterwide && written_ns.empty()) {
    d.Add(Severity::kInfo, h.line,
          absl::StrCat(h.kind,
                       " has no metadata.namespace; assuming \"default\" (kubectl or "
                       "Flux may place it elsewhere)"));
  }
  if (h.name.empty()) {
    d.Add(Severity::kError, h.line, absl::StrCat(h.kind, " has no metadata.name"));
  }
}

// A Cilium policy's rules: its `spec`, its `specs` list, or both.
void ParseCiliumRules(Doc& d, const YAML::Node& root, const ObjectHeader& h, Policy& pol) {
  bool any = false;
  if (Present(root["spec"])) {
    any = true;
    if (auto r = ParseCiliumRule(d, root["spec"], pol.namespace_, pol.kind, -1, "spec")) {
      pol.rules.push_back(std::move(*r));
    }
  }
  if (Present(root["specs"])) {
    if (!root["specs"].IsSequence()) {
      d.Error(root["specs"], Expected("specs", "a list of rules", root["specs"]));
    } else {
      for (size_t i = 0; i < root["specs"].size(); ++i) {
        any = true;
        if (auto r = ParseCiliumRule(d, root["specs"][i], pol.namespace_, pol.kind,
                                     static_cast<int>(i), absl::StrCat("specs[", i, "]"))) {
          pol.rules.push_back(std::move(*r));
        }
      }
    }
  }
  if (!any) d.Add(Severity::kError, h.line, absl::StrCat(h.kind, " has neither spec nor specs"));
}

void ParseKnpRules(Doc& d, const YAML::Node& root, const ObjectHeader& h, Policy& pol) {
  YAML::Node spec = root["spec"];
  if (!Present(spec)) {
    d.Add(Severity::kError, h.line, "NetworkPolicy has no spec");
  } else if (auto r = ParseKnpSpec(d, spec, pol.namespace_)) {
    pol.rules.push_back(std::move(*r));
  }
}

void ParseObject(Doc& d, const YAML::Node& root, int document_index, absl::string_view filename) {
  LoadedPolicies& out = *d.out;
  if (!root.IsMap()) {
    d.Add(Severity::kError, d.Line(root, d.line_offset + 1),
          "document is not a Kubernetes object (expected a mapping with apiVersion and kind)");
    return;
  }
  ObjectHeader h;
  h.api = Scalar(root["apiVersion"]);
  h.kind = Scalar(root["kind"]);
  h.line = d.Line(root, d.line_offset + 1);
  h.name =
      Present(root["metadata"]) && root["metadata"].IsMap() ? Scalar(root["metadata"]["name"]) : "";

  if (h.kind == "List" && Present(root["items"]) && root["items"].IsSequence()) {
    // Each item is an object of its own: its own name, errors and duplicate keys.
    int i = 0;
    for (const auto& item : root["items"]) {
      Doc sub = d;
      sub.policy.clear();
      sub.error = false;
      sub.duplicates.clear();
      ParseObject(sub, item, document_index * 1000 + i++, filename);
    }
    return;
  }
  if (SkipKustomization(d, h, filename)) return;
  std::optional<PolicyKind> pk = PolicyKindOf(h);
  if (!pk) {
    SkipNonPolicy(d, h);
    return;
  }

  Policy pol;
  pol.kind = *pk;
  pol.file = std::string(filename);
  pol.line = h.line;
  pol.document_index = document_index;
  pol.name = h.name;
  d.cilium = *pk != PolicyKind::kNetworkPolicy;
  ReadMetadata(d, root, h, pol);
  if (*pk == PolicyKind::kNetworkPolicy) {
    ParseKnpRules(d, root, h, pol);
  } else {
    ParseCiliumRules(d, root, h, pol);
  }

  if (d.error) {
    d.Add(Severity::kInfo, h.line, "policy excluded from evaluation because of the errors above");
    out.rejected.push_back(std::move(pol));
  } else {
    out.policies.policies.push_back(std::move(pol));
  }
}

bool IsYamlFile(const fs::path& p) {
  std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml";
}

}  // namespace

void ParsePolicyText(absl::string_view text, absl::string_view filename, LoadedPolicies& out) {
  std::vector<Chunk> chunks = SplitDocuments(text);
  for (size_t i = 0; i < chunks.size(); ++i) {
    ParseChunk(chunks[i], filename, static_cast<int>(i), out);
  }
}

LoadedPolicies ParsePolicyText(absl::string_view text, absl::string_view filename) {
  LoadedPolicies r;
  ParsePolicyText(text, filename, r);
  return r;
}

absl::StatusOr<LoadedPolicies> LoadPolicies(const std::vector<std::string>& paths) {
  LoadedPolicies result;
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    fs::file_status st = fs::status(p, ec);
    if (ec || !fs::exists(st)) {
      return absl::NotFoundError(absl::StrCat(p, ": no such file or directory"));
    }
    if (fs::is_directory(st)) {
      std::vector<std::string> found;
      fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, ec);
      if (ec) return absl::PermissionDeniedError(absl::StrCat(p, ": ", ec.message()));
      // Hidden entries are skipped, directories included: a Kubernetes ConfigMap volume
      // holds every file twice (the visible symlink and, under `..<timestamp>/`, its
      // target), and reading both would load every policy twice.
      for (auto end = fs::recursive_directory_iterator(); it != end; it.increment(ec)) {
        if (ec) return absl::PermissionDeniedError(absl::StrCat(p, ": ", ec.message()));
        if (absl::StartsWith(it->path().filename().string(), ".")) {
          it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file(ec) && IsYamlFile(it->path())) {
          found.push_back(it->path().string());
        }
      }
      std::sort(found.begin(), found.end());
      if (found.empty()) {
        result.diagnostics.push_back(
            Diagnostic::At(Severity::kWarning, p, 0, "directory holds no *.yaml or *.yml files"));
      }
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(p);
    }
  }
  for (const std::string& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) return absl::PermissionDeniedError(absl::StrCat(f, ": cannot be read"));
    std::stringstream ss;
    ss << in.rdbuf();
    result.files.push_back(f);
    ParsePolicyText(ss.str(), f, result);
  }
  return result;
}

}  // namespace tw::policy
