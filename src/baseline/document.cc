#include "baseline/document.h"

#include <map>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/diagnostic.h"
#include "common/json_text.h"
#include "common/time_format.h"
#include "common/yaml_schema.h"
#include "yaml-cpp/yaml.h"

namespace tw::baseline {

namespace {

// Plain YAML scalars that a YAML 1.1 reader would not take as strings are quoted, so that
// any tool reads a workload called "true" or "8080" back as text.
bool NeedsQuotes(absl::string_view s) {
  if (s.empty()) return true;
  std::string l = absl::AsciiStrToLower(s);
  for (absl::string_view w : {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"}) {
    if (l == w) return true;
  }
  double d;
  return absl::SimpleAtod(s, &d);
}

void EmitString(YAML::Emitter& out, absl::string_view s) {
  if (NeedsQuotes(s)) out << YAML::DoubleQuoted;
  out << std::string(s);
}

void EmitPeer(YAML::Emitter& out, const flow::Peer& p) {
  out << YAML::Flow << YAML::BeginMap;
  switch (p.kind) {
    case flow::PeerKind::kWorkload:
      out << YAML::Key << "namespace" << YAML::Value;
      EmitString(out, p.namespace_.view());
      out << YAML::Key << "workload" << YAML::Value;
      EmitString(out, p.name.view());
      break;
    case flow::PeerKind::kEntity:
      out << YAML::Key << "entity" << YAML::Value;
      EmitString(out, p.name.view());
      break;
    case flow::PeerKind::kFqdn:
      out << YAML::Key << "fqdn" << YAML::Value;
      EmitString(out, p.name.view());
      break;
    case flow::PeerKind::kIp:
      out << YAML::Key << "ip" << YAML::Value;
      EmitString(out, p.name.view());
      break;
  }
  out << YAML::EndMap;
}

std::string ExportYaml(const Baseline& baseline, const std::vector<ConnectionRecord>& records) {
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap;
  out << YAML::Key << "apiVersion" << YAML::Value << std::string(kDocumentApiVersion);
  out << YAML::Key << "kind" << YAML::Value << std::string(kDocumentKind);
  out << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "generatedFrom" << YAML::Value;
  EmitString(out, baseline.source());
  if (!baseline.empty()) {
    out << YAML::Key << "timeRange" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "from" << YAML::Value << FormatRfc3339(baseline.first_seen());
    out << YAML::Key << "to" << YAML::Value << FormatRfc3339(baseline.last_seen());
    out << YAML::EndMap;
  }
  out << YAML::Key << "connections" << YAML::Value << records.size();
  out << YAML::EndMap;
  out << YAML::Key << "connections" << YAML::Value;
  if (records.empty()) {
    out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
  } else {
    out << YAML::BeginSeq;
    for (const ConnectionRecord& r : records) {
      out << YAML::BeginMap;
      out << YAML::Key << "source" << YAML::Value;
      EmitPeer(out, r.key.source);
      out << YAML::Key << "destination" << YAML::Value;
      EmitPeer(out, r.key.destination);
      out << YAML::Key << "protocol" << YAML::Value
          << std::string(flow::ProtocolName(r.key.protocol));
      out << YAML::Key << "port" << YAML::Value << r.key.port;
      out << YAML::Key << "firstSeen" << YAML::Value << FormatRfc3339(r.first_seen);
      out << YAML::Key << "lastSeen" << YAML::Value << FormatRfc3339(r.last_seen);
      out << YAML::Key << "count" << YAML::Value << r.count;
      out << YAML::Key << "nodes" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (flow::Symbol n : r.nodes) EmitString(out, n.view());
      out << YAML::EndSeq;
      out << YAML::Key << "verdicts" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (absl::string_view v : VerdictNames(r.verdicts)) out << std::string(v);
      out << YAML::EndSeq;
      out << YAML::Key << "byIpOnly" << YAML::Value << r.by_ip_only();
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  auto workloads = baseline.LabelledWorkloads();
  if (!workloads.empty()) {
    out << YAML::Key << "workloads" << YAML::Value << YAML::BeginSeq;
    for (const auto& [peer, labels] : workloads) {
      out << YAML::BeginMap;
      out << YAML::Key << "namespace" << YAML::Value;
      EmitString(out, peer.namespace_.view());
      out << YAML::Key << "workload" << YAML::Value;
      EmitString(out, peer.name.view());
      absl::string_view sa = ServiceAccountOf(labels);
      if (!sa.empty()) {
        out << YAML::Key << "serviceAccount" << YAML::Value;
        EmitString(out, sa);
      }
      out << YAML::Key << "labels" << YAML::Value << YAML::BeginSeq;
      for (flow::Symbol l : labels) EmitString(out, l.view());
      out << YAML::EndSeq;
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  out << YAML::EndMap;
  return absl::StrCat(
      "# tierwatch documented baseline: the connections seen while learning.\n"
      "# Review it, commit it, and compare later traffic or baselines against it:\n"
      "#   tierwatch audit --baseline THIS_FILE --capture flows.jsonl\n"
      "#   tierwatch baseline diff THIS_FILE NEWER_FILE\n",
      out.c_str(), "\n");
}

// --- Parsing ---------------------------------------------------------------------------

class DocParser : public tw::yaml::Reader {
 public:
  DocParser(absl::string_view name, flow::SymbolTable& symbols)
      : Reader(std::string(name)), symbols_(symbols) {}

  using Reader::Error;
  using Reader::ErrorAt;
  // Errors whose message names its own place ("connections[1].port: ...").
  void Error(const YAML::Node& at, absl::string_view message) {
    Error(at, "", std::string(message));
  }
  void ErrorAt(int line, int column, absl::string_view message) {
    ErrorAt(line, column, "", std::string(message));
  }

  bool Keys(const YAML::Node& n, absl::string_view what,
            const std::vector<absl::string_view>& keys) {
    return Map(n, std::string(what), keys);
  }
  bool Str(const YAML::Node& n, absl::string_view what, std::string* out) {
    return String(n, std::string(what), out);
  }

  bool Peer(const YAML::Node& n, absl::string_view what, flow::Peer* out) {
    if (!Keys(n, what, {"namespace", "workload", "entity", "fqdn", "ip"})) return false;
    int kinds = (n["workload"] || n["namespace"] ? 1 : 0) + (n["entity"] ? 1 : 0) +
                (n["fqdn"] ? 1 : 0) + (n["ip"] ? 1 : 0);
    if (kinds != 1) {
      Error(n, absl::StrCat(what,
                            ": expected exactly one of {namespace, workload}, {entity}, "
                            "{fqdn}, {ip}"));
      return false;
    }
    std::string a, b;
    if (n["workload"] || n["namespace"]) {
      if (!n["namespace"] || !n["workload"]) {
        Error(n, absl::StrCat(what, ": a workload needs both namespace and workload"));
        return false;
      }
      if (!Str(n["namespace"], absl::StrCat(what, ".namespace"), &a) ||
          !Str(n["workload"], absl::StrCat(what, ".workload"), &b)) {
        return false;
      }
      if (a.empty()) {
        Error(n["namespace"], absl::StrCat(what, ".namespace: must not be empty"));
        return false;
      }
      *out = flow::Peer::Workload(symbols_.Intern(a), symbols_.Intern(b));
      return true;
    }
    if (n["entity"]) {
      if (!Str(n["entity"], absl::StrCat(what, ".entity"), &a)) return false;
      if (flow::ReservedFromEntityName(a) == flow::kReservedNone) {
        Error(n["entity"], absl::StrCat(what, ".entity: \"", a,
                                        "\" is not a reserved entity (world, host, remote-node, "
                                        "kube-apiserver, health, ingress, init, unmanaged)"));
        return false;
      }
      *out = flow::Peer::Entity(symbols_.Intern(a));
      return true;
    }
    if (n["fqdn"]) {
      if (!Str(n["fqdn"], absl::StrCat(what, ".fqdn"), &a)) return false;
      std::string fqdn = flow::NormalizeDnsName(a);
      if (fqdn.empty()) {
        Error(n["fqdn"], absl::StrCat(what, ".fqdn: must not be empty"));
        return false;
      }
      *out = flow::Peer::Fqdn(symbols_.Intern(fqdn));
      return true;
    }
    if (!Str(n["ip"], absl::StrCat(what, ".ip"), &a)) return false;
    if (a.empty()) {
      Error(n["ip"], absl::StrCat(what, ".ip: must not be empty"));
      return false;
    }
    *out = flow::Peer::Ip(symbols_.Intern(a));
    return true;
  }

  bool Time(const YAML::Node& n, absl::string_view what, absl::Time* out) {
    std::string s;
    if (!Str(n, what, &s)) return false;
    absl::StatusOr<absl::Time> t = ParseTime(s);
    if (!t.ok()) {
      Error(n, absl::StrCat(what, ": \"", s, "\" is not an RFC 3339 time"));
      return false;
    }
    *out = *t;
    return true;
  }

  void Connection(const YAML::Node& n, size_t i, Baseline* baseline,
                  std::map<flow::ConnectionKey, int>* lines) {
    std::string at = absl::StrCat("connections[", i, "]");
    if (!Keys(n, at,
              {"source", "destination", "protocol", "port", "firstSeen", "lastSeen", "count",
               "nodes", "verdicts", "byIpOnly"})) {
      return;
    }
    bool ok = true;
    flow::ConnectionKey key;
    for (const char* req : {"source", "destination", "protocol", "port"}) {
      if (!n[req]) {
        Error(n, absl::StrCat(at, ": missing ", req));
        ok = false;
      }
    }
    if (!ok) return;
    ok &= Peer(n["source"], at + ".source", &key.source);
    ok &= Peer(n["destination"], at + ".destination", &key.destination);
    std::string proto;
    if (Str(n["protocol"], at + ".protocol", &proto)) {
      std::optional<flow::Protocol> p = flow::ProtocolFromName(proto);
      if (!p) {
        Error(n["protocol"], absl::StrCat(at, ".protocol: \"", proto,
                                          "\" is not TCP, UDP, SCTP, ICMPv4 or ICMPv6"));
        ok = false;
      } else {
        key.protocol = *p;
      }
    } else {
      ok = false;
    }
    uint64_t port = 0;
    ok &= Uint(n["port"], at + ".port", 65535, &port);
    key.port = static_cast<uint16_t>(port);

    ConnectionStats st;
    st.first_seen = absl::UnixEpoch();
    st.last_seen = absl::UnixEpoch();
    if (n["firstSeen"]) ok &= Time(n["firstSeen"], at + ".firstSeen", &st.first_seen);
    if (n["lastSeen"]) {
      ok &= Time(n["lastSeen"], at + ".lastSeen", &st.last_seen);
    } else {
      st.last_seen = st.first_seen;
    }
    if (ok && st.last_seen < st.first_seen) {
      Error(n["lastSeen"], absl::StrCat(at, ".lastSeen: before firstSeen"));
      ok = false;
    }
    if (n["count"]) ok &= Uint(n["count"], at + ".count", UINT64_MAX, &st.count);
    if (const YAML::Node& nodes = n["nodes"]) {
      if (!nodes.IsSequence()) {
        Error(nodes, at + ".nodes: expected a list of node names");
        ok = false;
      } else {
        for (const auto& x : nodes) {
          std::string s;
          if (Str(x, at + ".nodes[]", &s)) {
            st.nodes.push_back(symbols_.Intern(s));
          } else {
            ok = false;
          }
        }
      }
    }
    if (const YAML::Node& v = n["verdicts"]) {
      if (!v.IsSequence()) {
        Error(v, at + ".verdicts: expected a list of verdicts (FORWARDED, AUDIT, ...)");
        ok = false;
      } else {
        for (const auto& x : v) {
          std::string s;
          if (!Str(x, at + ".verdicts[]", &s)) {
            ok = false;
            continue;
          }
          std::optional<flow::Verdict> verdict = flow::VerdictFromName(s);
          if (!verdict) {
            Error(x, absl::StrCat(at, ".verdicts: \"", s,
                                  "\" is not a verdict (FORWARDED, DROPPED, AUDIT, ...)"));
            ok = false;
          } else {
            st.verdicts |= VerdictBit(*verdict);
          }
        }
      }
    }
    if (const YAML::Node& b = n["byIpOnly"]) {
      std::string s = b.IsScalar() ? b.Scalar() : "";
      if (s != "true" && s != "false") {
        Error(b,
              absl::StrCat(at, ".byIpOnly: expected true or false, got ", tw::yaml::Describe(b)));
        ok = false;
      } else if ((s == "true") != key.destination.by_ip_only && ok) {
        Error(b, absl::StrCat(at, ".byIpOnly: ", s, ", but the destination is ",
                              key.destination.by_ip_only ? "an {ip}" : "not an {ip}"));
        ok = false;
      }
    }
    if (!ok) return;
    int line = n.Mark().is_null() ? 0 : n.Mark().line + 1;
    auto [it, inserted] = lines->emplace(key, line);
    if (!inserted) {
      Error(n, absl::StrCat(at, ": ", key.ToString(), " is listed twice (first at line ",
                            it->second, ")"));
      return;
    }
    baseline->Insert(key, st);
  }

  // workloads[i]: {namespace, workload, serviceAccount?, labels?}.
  void Workload(const YAML::Node& n, size_t i, Baseline* baseline,
                std::map<flow::Peer, int>* lines) {
    std::string at = absl::StrCat("workloads[", i, "]");
    if (!Keys(n, at, {"namespace", "workload", "serviceAccount", "labels"})) return;
    std::string ns, name, sa;
    bool ok = true;
    for (const char* req : {"namespace", "workload"}) {
      if (!n[req]) {
        Error(n, absl::StrCat(at, ": missing ", req));
        ok = false;
      }
    }
    if (!ok) return;
    ok &= Str(n["namespace"], at + ".namespace", &ns);
    ok &= Str(n["workload"], at + ".workload", &name);
    if (ok && ns.empty()) {
      Error(n["namespace"], at + ".namespace: must not be empty");
      ok = false;
    }
    std::vector<flow::Symbol> labels;
    if (const YAML::Node& ls = n["labels"]) {
      if (!ls.IsSequence()) {
        Error(ls, at + ".labels: expected a list of labels (\"k8s:app=odoo\")");
        ok = false;
      } else {
        for (const auto& x : ls) {
          std::string l;
          if (!Str(x, at + ".labels[]", &l)) {
            ok = false;
          } else if (l.empty() || l.find('=') == std::string::npos) {
            if (l.rfind("reserved:", 0) == 0) {
              Error(x, absl::StrCat(at, ".labels: \"", l,
                                    "\" is a reserved label; workloads carry pod labels"));
            } else {
              Error(x, absl::StrCat(at, ".labels: \"", l,
                                    "\" is not a label (source:key=value, e.g. k8s:app=odoo)"));
            }
            ok = false;
          } else {
            labels.push_back(symbols_.Intern(l));
          }
        }
      }
    }
    if (n["serviceAccount"]) {
      if (!Str(n["serviceAccount"], at + ".serviceAccount", &sa)) {
        ok = false;
      } else {
        absl::string_view in_labels = ServiceAccountOf(labels);
        if (in_labels.empty()) {
          labels.push_back(symbols_.Intern("k8s:io.cilium.k8s.policy.serviceaccount=" + sa));
        } else if (in_labels != sa) {
          Error(n["serviceAccount"], absl::StrCat(at, ".serviceAccount: \"", sa,
                                                  "\", but the labels say \"", in_labels, "\""));
          ok = false;
        }
      }
    }
    if (!ok) return;
    flow::Peer peer = flow::Peer::Workload(symbols_.Intern(ns), symbols_.Intern(name));
    int line = n.Mark().is_null() ? 0 : n.Mark().line + 1;
    auto [it, inserted] = lines->emplace(peer, line);
    if (!inserted) {
      Error(n, absl::StrCat(at, ": ", peer.ToString(), " is listed twice (first at line ",
                            it->second, ")"));
      return;
    }
    baseline->SetLabels(peer, std::move(labels));
  }

 private:
  flow::SymbolTable& symbols_;
};

}  // namespace

nlohmann::ordered_json PeerJson(const flow::Peer& p) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  switch (p.kind) {
    case flow::PeerKind::kWorkload:
      j["namespace"] = p.namespace_.str();
      j["workload"] = p.name.str();
      break;
    case flow::PeerKind::kEntity:
      j["entity"] = p.name.str();
      break;
    case flow::PeerKind::kFqdn:
      j["fqdn"] = p.name.str();
      break;
    case flow::PeerKind::kIp:
      j["ip"] = p.name.str();
      break;
  }
  return j;
}

nlohmann::ordered_json ConnectionJson(const ConnectionRecord& r) {
  nlohmann::ordered_json j;
  j["source"] = PeerJson(r.key.source);
  j["destination"] = PeerJson(r.key.destination);
  j["protocol"] = std::string(flow::ProtocolName(r.key.protocol));
  j["port"] = r.key.port;
  j["firstSeen"] = FormatRfc3339(r.first_seen);
  j["lastSeen"] = FormatRfc3339(r.last_seen);
  j["count"] = r.count;
  nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
  for (flow::Symbol n : r.nodes) nodes.push_back(n.str());
  j["nodes"] = nodes;
  nlohmann::ordered_json verdicts = nlohmann::ordered_json::array();
  for (absl::string_view v : VerdictNames(r.verdicts)) verdicts.push_back(std::string(v));
  j["verdicts"] = verdicts;
  j["byIpOnly"] = r.by_ip_only();
  return j;
}

std::string ExportBaselineDocument(const Baseline& baseline, DocumentFormat format) {
  std::vector<ConnectionRecord> records = baseline.Sorted();
  if (format == DocumentFormat::kYaml) return ExportYaml(baseline, records);
  nlohmann::ordered_json doc;
  doc["apiVersion"] = std::string(kDocumentApiVersion);
  doc["kind"] = std::string(kDocumentKind);
  nlohmann::ordered_json meta;
  meta["generatedFrom"] = baseline.source();
  if (!baseline.empty()) {
    meta["timeRange"] = {{"from", FormatRfc3339(baseline.first_seen())},
                         {"to", FormatRfc3339(baseline.last_seen())}};
  }
  meta["connections"] = records.size();
  doc["metadata"] = meta;
  nlohmann::ordered_json conns = nlohmann::ordered_json::array();
  for (const ConnectionRecord& r : records) conns.push_back(ConnectionJson(r));
  doc["connections"] = std::move(conns);
  auto workloads = baseline.LabelledWorkloads();
  if (!workloads.empty()) {
    nlohmann::ordered_json ws = nlohmann::ordered_json::array();
    for (const auto& [peer, labels] : workloads) {
      nlohmann::ordered_json w;
      w["namespace"] = peer.namespace_.str();
      w["workload"] = peer.name.str();
      absl::string_view sa = ServiceAccountOf(labels);
      if (!sa.empty()) w["serviceAccount"] = std::string(sa);
      nlohmann::ordered_json ls = nlohmann::ordered_json::array();
      for (flow::Symbol l : labels) ls.push_back(l.str());
      w["labels"] = std::move(ls);
      ws.push_back(std::move(w));
    }
    doc["workloads"] = std::move(ws);
  }
  return tw::DumpJson(doc, 2) + "\n";
}

absl::StatusOr<Baseline> ParseBaselineDocument(absl::string_view text, absl::string_view name,
                                               flow::SymbolTable& symbols) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        e.mark.is_null() ? absl::StrCat(name, ": not a readable YAML/JSON baseline document: ",
                                        tw::yaml::LoadErrorMessage(e))
                         : absl::StrCat(name, ":", e.mark.line + 1, ":", e.mark.column + 1,
                                        ": not a readable YAML/JSON baseline document: ",
                                        tw::yaml::LoadErrorMessage(e)));
  }
  Baseline baseline(symbols);
  DocParser p(name, symbols);
  std::vector<tw::yaml::TreeProblem> problems =
      tw::yaml::CheckTree(root, tw::yaml::LimitsFor(text.size()));
  for (const tw::yaml::TreeProblem& t : problems) p.ErrorAt(t.line, t.column, t.ToString());
  // Reading a tree that blew the budget would do the expansion just refused.
  if (!tw::yaml::HasLimitProblem(problems)) {
    try {
      if (!root.IsMap() || !root["kind"] || !root["kind"].IsScalar() ||
          root["kind"].Scalar() != kDocumentKind) {
        return absl::InvalidArgumentError(absl::StrCat(
            name, ": not a tierwatch baseline document (expected kind: ", kDocumentKind,
            "; write one with `tierwatch baseline export`)"));
      }
      if (!root["apiVersion"] || !root["apiVersion"].IsScalar() ||
          root["apiVersion"].Scalar() != kDocumentApiVersion) {
        std::string got = root["apiVersion"] && root["apiVersion"].IsScalar()
                              ? root["apiVersion"].Scalar()
                              : "(none)";
        return absl::FailedPreconditionError(absl::StrCat(name, ": baseline document apiVersion ",
                                                          got, "; this tierwatch reads ",
                                                          kDocumentApiVersion));
      }
      p.Keys(root, "document", {"apiVersion", "kind", "metadata", "connections", "workloads"});
      if (const YAML::Node& meta = root["metadata"]) {
        if (p.Keys(meta, "metadata", {"generatedFrom", "timeRange", "connections"})) {
          std::string source;
          if (meta["generatedFrom"] &&
              p.Str(meta["generatedFrom"], "metadata.generatedFrom", &source)) {
            baseline.set_source(source);
          }
        }
      }
      const YAML::Node& conns = root["connections"];
      if (!conns) {
        p.Error(root, "missing connections (a list, [] when empty)");
      } else if (!conns.IsSequence()) {
        p.Error(conns, "connections: expected a list");
      } else {
        std::map<flow::ConnectionKey, int> lines;
        for (size_t i = 0; i < conns.size(); ++i) p.Connection(conns[i], i, &baseline, &lines);
      }
      if (const YAML::Node& ws = root["workloads"]) {
        if (!ws.IsSequence()) {
          p.Error(ws, "workloads: expected a list");
        } else {
          std::map<flow::Peer, int> lines;
          for (size_t i = 0; i < ws.size(); ++i) p.Workload(ws[i], i, &baseline, &lines);
        }
      }
    } catch (const YAML::Exception& e) {
      p.Error(root, e.msg);
    }
  }
  const std::vector<Diagnostic>& errors = p.diagnostics();
  if (!errors.empty()) {
    constexpr size_t kMaxShown = 50;
    std::string msg = absl::StrCat(errors.size(), errors.size() == 1 ? " error" : " errors",
                                   " in baseline document ", name, ":");
    for (size_t i = 0; i < errors.size() && i < kMaxShown; ++i) {
      absl::StrAppend(&msg, "\n", errors[i].ToString());
    }
    if (errors.size() > kMaxShown) {
      absl::StrAppend(&msg, "\n... and ", errors.size() - kMaxShown, " more");
    }
    return absl::InvalidArgumentError(msg);
  }
  return baseline;
}

}  // namespace tw::baseline
