#include "tier/tier_config.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/yaml_schema.h"
#include "yaml-cpp/yaml.h"

namespace tw::tier {

namespace {

// Parsing records the YAML position of every element path ("tiers[0].namespaces[1]") so
// that the semantic checks in ValidateTierOptions, which know paths but not files, can be
// reported at file:line.
class Parser : public tw::yaml::Reader {
 public:
  explicit Parser(absl::string_view file) : Reader(std::string(file)) {}

  using Reader::Error;
  // An error whose message names its own place ("tiers[0]: ...").
  void Error(const YAML::Node& at, std::string message) { Error(at, "", std::move(message)); }
  void ErrorAtPath(const std::string& options_path, std::string message) {
    const std::string path = Translate(options_path);
    // The element itself, else the closest enclosing element that was in the file.
    std::string p = path;
    int line = 0, column = 0;
    while (true) {
      auto it = marks_.find(p);
      if (it != marks_.end()) {
        line = it->second.line + 1;
        column = it->second.column + 1;
        break;
      }
      size_t cut = p.find_last_of(".[");
      if (cut == std::string::npos || cut == 0) break;
      p = p.substr(0, cut);
    }
    ErrorAt(line, column, path, std::move(message));
  }
  void Remember(const std::string& path, const YAML::Node& n) {
    YAML::Mark m = n.Mark();
    if (!m.is_null()) marks_[path] = m;
  }
  void Visited(const std::string& path, const YAML::Node& n) override { Remember(path, n); }
  // Elements that fail to parse are left out of the options, so an options index can differ
  // from the file's: `options_path` (e.g. "metrics_ports[1]") is where the file has it
  // (`file_path`, e.g. "metrics_ports[2]").
  void Alias(const std::string& options_path, const std::string& file_path) {
    if (options_path != file_path) aliases_[options_path] = file_path;
  }
  // Rewrites an options path into the file's, segment by segment (aliases nest).
  std::string Translate(const std::string& path) const {
    std::string result;
    size_t i = 0;
    while (i < path.size()) {
      size_t j = i;
      if (path[j] == '[') {
        j = path.find(']', j);
        j = j == std::string::npos ? path.size() : j + 1;
      } else {
        if (path[j] == '.') ++j;
        while (j < path.size() && path[j] != '.' && path[j] != '[') ++j;
      }
      result += path.substr(i, j - i);
      auto it = aliases_.find(result);
      if (it != aliases_.end()) result = it->second;
      i = j;
    }
    return result;
  }

  // Checks that a map has only known keys; reports each unknown one.
  bool CheckMap(const YAML::Node& n, absl::string_view what,
                const std::vector<absl::string_view>& keys) {
    return Map(n, std::string(what), keys);
  }

  bool StringList(const YAML::Node& n, const std::string& path, std::vector<std::string>* out) {
    Remember(path, n);
    if (n.IsNull()) {
      out->clear();
      return true;
    }
    if (!n.IsSequence()) {
      Error(n, absl::StrCat(path, ": expected a list of strings, got ", tw::yaml::Describe(n)));
      return false;
    }
    out->clear();
    bool ok = true;
    for (size_t i = 0; i < n.size(); ++i) {
      std::string s;
      if (String(n[i], absl::StrCat(path, "[", i, "]"), &s)) {
        Alias(absl::StrCat(path, "[", out->size(), "]"), absl::StrCat(path, "[", i, "]"));
        out->push_back(std::move(s));
      } else {
        ok = false;
      }
    }
    return ok;
  }

  bool PortProto(const YAML::Node& n, const std::string& path, ServicePort* out) {
    Remember(path, n);
    const std::string expected =
        "expected PORT/PROTOCOL such as 53/UDP (PORT 1-65535; "
        "PROTOCOL TCP, UDP or SCTP)";
    if (!n.IsScalar()) {
      Error(n, absl::StrCat(path, ": ", expected));
      return false;
    }
    std::vector<std::string> parts = absl::StrSplit(n.Scalar(), '/');
    uint32_t port = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &port) || port == 0 || port > 65535) {
      Error(n, absl::StrCat(path, ": \"", n.Scalar(), "\": ", expected));
      return false;
    }
    std::string proto = absl::AsciiStrToUpper(parts[1]);
    flow::Protocol p = proto == "TCP"    ? flow::Protocol::kTCP
                       : proto == "UDP"  ? flow::Protocol::kUDP
                       : proto == "SCTP" ? flow::Protocol::kSCTP
                                         : flow::Protocol::kUnknown;
    if (p == flow::Protocol::kUnknown) {
      Error(n, absl::StrCat(path, ": \"", n.Scalar(), "\": ", expected));
      return false;
    }
    out->port = static_cast<uint16_t>(port);
    out->protocol = p;
    return true;
  }

  void Tiers(const YAML::Node& n, std::vector<TierSpec>* out) {
    Remember("tiers", n);
    if (!n.IsSequence()) {
      Error(n,
            "tiers: expected a list of tiers (each with level, name, namespaces, patterns, "
            "default)");
      return;
    }
    out->clear();
    for (size_t i = 0; i < n.size(); ++i) {
      const YAML::Node& t = n[i];
      std::string at = absl::StrCat("tiers[", i, "]");
      Remember(at, t);
      TierSpec spec;
      spec.level = -1;
      if (!CheckMap(t, at, {"level", "name", "description", "namespaces", "patterns", "default"})) {
        continue;
      }
      int64_t level = -1;
      if (!t["level"]) {
        Error(t, absl::StrCat(at, ": missing level (0, 1 or 2)"));
      } else if (Int(t["level"], at + ".level", 0, 2, &level)) {
        spec.level = static_cast<int>(level);
      }
      if (t["name"]) String(t["name"], at + ".name", &spec.name);
      if (spec.name.empty() && spec.level >= 0) spec.name = absl::StrCat("tier", spec.level);
      if (t["description"]) String(t["description"], at + ".description", &spec.description);
      if (t["namespaces"]) StringList(t["namespaces"], at + ".namespaces", &spec.namespaces);
      if (t["patterns"]) StringList(t["patterns"], at + ".patterns", &spec.patterns);
      if (t["default"]) Bool(t["default"], at + ".default", &spec.is_default);
      // A tier whose level could not be read is still kept (as level -1 would add a
      // misleading "not 0, 1 or 2"), so skip it from the semantic checks instead.
      if (spec.level >= 0) {
        Alias(absl::StrCat("tiers[", out->size(), "]"), at);
        out->push_back(std::move(spec));
      }
    }
  }

  void DnsService(const YAML::Node& n, DnsServiceSpec* out) {
    Remember("dns_service", n);
    if (!CheckMap(n, "dns_service", {"namespace", "labels", "ports"})) return;
    if (n["namespace"]) String(n["namespace"], "dns_service.namespace", &out->namespace_);
    if (const YAML::Node& l = n["labels"]) {
      Remember("dns_service.labels", l);
      if (!l.IsMap()) {
        Error(l,
              "dns_service.labels: expected a mapping of label key to value "
              "(k8s-app: kube-dns)");
      } else {
        out->labels.clear();
        size_t j = 0;
        for (const auto& kv : l) {
          std::string path = absl::StrCat("dns_service.labels[", j++, "]");
          Remember(path, kv.first);
          LabelRequirement req;
          req.key = kv.first.Scalar();
          if (String(kv.second, path, &req.value)) {
            Alias(absl::StrCat("dns_service.labels[", out->labels.size(), "]"), path);
            out->labels.push_back(req);
          }
          Remember(path, kv.first);  // point at the key, not the value
        }
      }
    }
    if (const YAML::Node& p = n["ports"]) {
      Remember("dns_service.ports", p);
      if (!p.IsSequence()) {
        Error(p, "dns_service.ports: expected a list such as [53/UDP, 53/TCP]");
      } else {
        out->ports.clear();
        for (size_t j = 0; j < p.size(); ++j) {
          ServicePort pp;
          if (PortProto(p[j], absl::StrCat("dns_service.ports[", j, "]"), &pp)) {
            Alias(absl::StrCat("dns_service.ports[", out->ports.size(), "]"),
                  absl::StrCat("dns_service.ports[", j, "]"));
            out->ports.push_back(pp);
          }
        }
      }
    }
  }

  void Scrapers(const YAML::Node& n, ScraperSpec* out) {
    Remember("scrapers", n);
    if (!CheckMap(n, "scrapers", {"namespaces", "label", "values"})) return;
    if (n["namespaces"]) StringList(n["namespaces"], "scrapers.namespaces", &out->namespaces);
    if (n["label"]) String(n["label"], "scrapers.label", &out->label);
    if (n["values"]) StringList(n["values"], "scrapers.values", &out->values);
  }

  void MetricsPorts(const YAML::Node& n, std::vector<uint16_t>* out) {
    Remember("metrics_ports", n);
    if (!n.IsSequence()) {
      Error(n, "metrics_ports: expected a list of port numbers such as [9090, 9100]");
      return;
    }
    out->clear();
    for (size_t j = 0; j < n.size(); ++j) {
      int64_t v = 0;
      if (Int(n[j], absl::StrCat("metrics_ports[", j, "]"), 1, 65535, &v)) {
        Alias(absl::StrCat("metrics_ports[", out->size(), "]"),
              absl::StrCat("metrics_ports[", j, "]"));
        out->push_back(static_cast<uint16_t>(v));
      }
    }
  }

  void BypassLabel(const YAML::Node& n, LabelRequirement* out) {
    std::string s;
    if (!String(n, "debug_bypass_label", &s)) return;
    size_t eq = s.find('=');
    if (eq == std::string::npos) {
      Error(n, absl::StrCat("debug_bypass_label: \"", s,
                            "\": expected KEY=VALUE such as policy.cilium.io/enforce=false"));
      return;
    }
    out->key = s.substr(0, eq);
    out->value = s.substr(eq + 1);
  }

 private:
  std::map<std::string, YAML::Mark> marks_;
  std::map<std::string, std::string> aliases_;
};

absl::Status DiagnosticsStatus(absl::string_view file, const std::vector<Diagnostic>& d) {
  std::string msg = absl::StrCat(d.size(), d.size() == 1 ? " error" : " errors", " in ", file, ":");
  for (const auto& x : d) absl::StrAppend(&msg, "\n", x.ToString());
  return absl::InvalidArgumentError(msg);
}

}  // namespace

absl::StatusOr<TierOptions> ParseTierConfig(absl::string_view yaml, absl::string_view file,
                                            std::vector<Diagnostic>* diagnostics) {
  Parser p(file);
  TierOptions options;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    Diagnostic d;
    d.file = std::string(file);
    d.line = e.mark.is_null() ? 0 : e.mark.line + 1;
    d.column = e.mark.is_null() ? 0 : e.mark.column + 1;
    d.message = absl::StrCat("YAML syntax: ", tw::yaml::LoadErrorMessage(e));
    if (diagnostics) *diagnostics = {d};
    return DiagnosticsStatus(file, {d});
  }
  {
    std::vector<tw::yaml::TreeProblem> problems =
        tw::yaml::CheckTree(root, tw::yaml::LimitsFor(yaml.size()));
    for (const tw::yaml::TreeProblem& t : problems) {
      Diagnostic d = Diagnostic::Error(std::string(file), t.line, t.message, t.column);
      d.path = t.path;
      p.diagnostics().push_back(std::move(d));
    }
    // Reading a tree that blew the budget would do the expansion just refused.
    if (tw::yaml::HasLimitProblem(problems)) {
      if (diagnostics) *diagnostics = p.diagnostics();
      return DiagnosticsStatus(file, p.diagnostics());
    }
  }
  try {
    if (root.IsNull()) {
      // An empty file: all defaults.
    } else if (p.CheckMap(root, "tier config",
                          {"tiers", "dns_service", "scrapers", "metrics_ports",
                           "debug_bypass_label", "apiserver_egress_namespaces"})) {
      if (root["tiers"]) p.Tiers(root["tiers"], &options.tiers);
      if (root["dns_service"]) p.DnsService(root["dns_service"], &options.dns_service);
      if (root["scrapers"]) p.Scrapers(root["scrapers"], &options.scrapers);
      if (root["metrics_ports"]) p.MetricsPorts(root["metrics_ports"], &options.metrics_ports);
      if (root["debug_bypass_label"]) {
        p.BypassLabel(root["debug_bypass_label"], &options.debug_bypass_label);
      }
      if (root["apiserver_egress_namespaces"]) {
        p.StringList(root["apiserver_egress_namespaces"], "apiserver_egress_namespaces",
                     &options.apiserver_egress_namespaces);
      }
    }
  } catch (const YAML::Exception& e) {
    // Not expected (every access above checks types first), but never let yaml-cpp escape.
    Diagnostic d;
    d.file = std::string(file);
    d.line = e.mark.is_null() ? 0 : e.mark.line + 1;
    d.column = e.mark.is_null() ? 0 : e.mark.column + 1;
    d.message = e.msg;
    p.diagnostics().push_back(d);
  }
  for (const TierOptionIssue& issue : ValidateTierOptions(options)) {
    p.ErrorAtPath(issue.path, issue.message);
  }
  std::vector<Diagnostic>& d = p.diagnostics();
  std::stable_sort(d.begin(), d.end(), DiagnosticLess);
  if (diagnostics) *diagnostics = d;
  if (!d.empty()) return DiagnosticsStatus(file, d);
  return options;
}

absl::StatusOr<TierModel> LoadTierModel(const std::string& path,
                                        std::vector<Diagnostic>* diagnostics) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open tier config"));
  std::stringstream buf;
  buf << in.rdbuf();
  absl::StatusOr<TierOptions> options = ParseTierConfig(buf.str(), path, diagnostics);
  if (!options.ok()) return options.status();
  return TierModel::Create(*std::move(options));
}

}  // namespace tw::tier
