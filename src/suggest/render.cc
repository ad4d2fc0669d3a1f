#include "suggest/render.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "baseline/persist.h"
#include "common/status_macros.h"

namespace tw::suggest {

namespace {

using flow::Protocol;

constexpr size_t kWrap = 96;             // comment lines, before the indent
constexpr size_t kMaxPortsPerRule = 40;  // Cilium: at most 40 ports per PortRule

// A YAML scalar that reads back as the same string in any YAML 1.1/1.2 reader.
std::string Q(absl::string_view s) {
  bool plain = !s.empty();
  for (size_t i = 0; plain && i < s.size(); ++i) {
    char c = s[i];
    bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '/' ||
              c == '_' || c == '-' || (c == ':' && i > 0 && i + 1 < s.size());
    if (!ok) plain = false;
  }
  if (plain && (s.front() == '-' || s.front() == '.')) plain = false;
  // IPv6 addresses and anything digit-first with a colon (YAML 1.1 reads 1:30 as a number).
  if (plain && s.find(':') != absl::string_view::npos &&
      (absl::ascii_isdigit(static_cast<unsigned char>(s.front())) || absl::StrContains(s, "::"))) {
    plain = false;
  }
  if (plain) {
    std::string l = absl::AsciiStrToLower(s);
    for (absl::string_view w : {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"}) {
      if (l == w) plain = false;
    }
    double d;
    if (absl::SimpleAtod(s, &d)) plain = false;
  }
  if (plain) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// Comment text never breaks out of its comment.
std::string OneLine(absl::string_view s) {
  std::string out(s);
  std::replace(out.begin(), out.end(), '\n', ' ');
  std::replace(out.begin(), out.end(), '\r', ' ');
  return out;
}

// Word-wrapped comment lines at `indent`.
void Comment(std::string& out, size_t indent, absl::string_view text) {
  std::string pad(indent, ' ');
  std::string line;
  for (absl::string_view word : absl::StrSplit(OneLine(text), ' ', absl::SkipEmpty())) {
    if (!line.empty() && line.size() + 1 + word.size() > kWrap) {
      absl::StrAppend(&out, pad, "# ", line, "\n");
      line.clear();
    }
    if (!line.empty()) line += " ";
    absl::StrAppend(&line, word);
  }
  if (!line.empty()) absl::StrAppend(&out, pad, "# ", line, "\n");
}

std::string Seconds(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string EvidenceLine(const Evidence& e) {
  std::string nodes;
  constexpr size_t kMaxNodes = 4;
  for (size_t i = 0; i < e.nodes.size() && i < kMaxNodes; ++i) {
    absl::StrAppend(&nodes, i ? ", " : "", e.nodes[i].view());
  }
  if (e.nodes.size() > kMaxNodes)
    absl::StrAppend(&nodes, " and ", e.nodes.size() - kMaxNodes, " more");
  std::string seen;
  if (e.verdicts & baseline::VerdictBit(flow::Verdict::kDropped)) seen = ", seen DROPPED";
  if (e.verdicts & baseline::VerdictBit(flow::Verdict::kAudit)) {
    absl::StrAppend(&seen, seen.empty() ? ", seen AUDIT" : "/AUDIT");
  }
  return absl::StrCat(e.key.ToString(), ": ", e.count, e.count == 1 ? " flow" : " flows",
                      e.count > 0
                          ? absl::StrCat(", ", Seconds(e.first_seen), " to ", Seconds(e.last_seen))
                          : std::string(),
                      nodes.empty() ? "" : absl::StrCat(", nodes ", nodes), seen);
}

void MatchLabels(std::string& out, size_t indent, const std::vector<MatchLabel>& labels) {
  std::string pad(indent, ' ');
  absl::StrAppend(&out, pad, "matchLabels:\n");
  for (const MatchLabel& m : labels) {
    absl::StrAppend(&out, pad, "  ", Q(m.key), ": ", m.value.empty() ? "\"\"" : Q(m.value), "\n");
  }
}

absl::string_view ProtoName(Protocol p) {
  switch (p) {
    case Protocol::kTCP:
      return "TCP";
    case Protocol::kUDP:
      return "UDP";
    case Protocol::kSCTP:
      return "SCTP";
    default:
      return "ANY";
  }
}

// One `- ports: [...]` entry (or several, 40 ports at most each), optionally with the DNS rule.
void PortRules(std::string& out, const std::vector<PortSpan>& spans, bool dns) {
  for (size_t start = 0; start < spans.size(); start += kMaxPortsPerRule) {
    absl::StrAppend(&out, "        - ports:\n");
    for (size_t i = start; i < spans.size() && i < start + kMaxPortsPerRule; ++i) {
      const PortSpan& s = spans[i];
      absl::StrAppend(&out, "            - port: \"", s.port, "\"\n");
      if (!s.single()) absl::StrAppend(&out, "              endPort: ", s.end_port, "\n");
      absl::StrAppend(&out, "              protocol: ", ProtoName(s.protocol), "\n");
    }
    if (dns) {
      absl::StrAppend(&out,
                      "          rules:\n"
                      "            dns:\n"
                      "              - matchPattern: \"*\"\n");
    }
  }
}

void Rule(std::string& out, const SuggestedRule& r, bool egress, size_t max_evidence) {
  // Evidence first: what this rule allows, as seen.
  size_t shown = 0;
  uint64_t more_flows = 0;
  size_t added = 0;
  for (const Evidence& e : r.evidence) {
    if (e.added) {
      ++added;
      Comment(out, 4, absl::StrCat("not seen, added: ", e.key.ToString()));
      continue;
    }
    if (shown < max_evidence) {
      // One line per connection, however long: grep-able, never wrapped.
      absl::StrAppend(&out, "    # ", OneLine(EvidenceLine(e)), "\n");
      ++shown;
    } else {
      more_flows += e.count;
    }
  }
  if (r.evidence.size() > shown + added) {
    Comment(out, 4,
            absl::StrCat("... and ", r.evidence.size() - shown - added, " more connections (",
                         more_flows, " flows)"));
  }
  for (const std::string& n : r.notes) Comment(out, 4, n);
  if (!r.widening.empty()) Comment(out, 4, absl::StrCat("widening: ", r.widening));
  if (!r.port_widening.empty()) Comment(out, 4, absl::StrCat("widening: ", r.port_widening));

  const char* dir = egress ? "to" : "from";
  switch (r.kind) {
    case RuleKind::kEndpoints:
      absl::StrAppend(&out, "    - ", dir, "Endpoints:\n        - ");
      {
        std::string sel;
        MatchLabels(sel, 10, r.selector);
        out += sel.substr(10);  // the first line continues the "- "
      }
      break;
    case RuleKind::kEntity:
      absl::StrAppend(&out, "    - ", dir, "Entities:\n        - ", Q(r.entity), "\n");
      break;
    case RuleKind::kFqdn:
      absl::StrAppend(&out, "    - toFQDNs:\n");
      for (const std::string& n : r.fqdn_names) {
        absl::StrAppend(&out, "        - matchName: ", Q(n), "\n");
      }
      for (const std::string& p : r.fqdn_patterns) {
        absl::StrAppend(&out, "        - matchPattern: \"", p, "\"\n");
      }
      break;
    case RuleKind::kCidr:
      absl::StrAppend(&out, "    - ", dir, "CIDR:\n        - ", Q(r.cidr), "\n");
      break;
  }
  std::vector<PortSpan> l4, icmp, dns;
  for (const PortSpan& s : r.ports) {
    if (s.protocol == Protocol::kICMPv4 || s.protocol == Protocol::kICMPv6) {
      icmp.push_back(s);
      continue;
    }
    if (r.dns_rule && s.port <= r.dns_port && r.dns_port <= s.end_port) {
      // DNS rules take one port, never a range: split it out.
      if (s.port < r.dns_port) l4.push_back({s.protocol, s.port, uint16_t(r.dns_port - 1)});
      dns.push_back({s.protocol, r.dns_port, r.dns_port});
      if (r.dns_port < s.end_port) l4.push_back({s.protocol, uint16_t(r.dns_port + 1), s.end_port});
      continue;
    }
    l4.push_back(s);
  }
  if (!icmp.empty()) {
    absl::StrAppend(&out, "      icmps:\n        - fields:\n");
    for (const PortSpan& s : icmp) {
      absl::StrAppend(&out, "            - type: ", s.port,
                      "\n              family: ", s.protocol == Protocol::kICMPv6 ? "IPv6" : "IPv4",
                      "\n");
    }
    return;
  }
  absl::StrAppend(&out, "      toPorts:\n");
  if (!dns.empty()) PortRules(out, dns, true);
  if (!l4.empty()) PortRules(out, l4, false);
}

// "a", "a and b", "a, b and c".
std::string And(const std::vector<std::string>& items) {
  if (items.size() <= 1) return absl::StrJoin(items, "");
  std::vector<std::string> head(items.begin(), items.end() - 1);
  return absl::StrCat(absl::StrJoin(head, ", "), " and ", items.back());
}

std::string Header(const SuggestedPolicy& p, absl::string_view source) {
  std::string out;
  std::string who = p.subject.ToString();
  std::string from = source.empty() ? "" : absl::StrCat(" from ", source);
  if (!p.clusterwide) {
    Comment(out, 0,
            absl::StrCat("tierwatch suggest", from, ": what ", who,
                         " was seen doing that the policies in force would drop. Review it, then "
                         "commit it to the app's own directory. It only adds allows "
                         "(enableDefaultDeny: false): the cluster's default-deny policy provides "
                         "the deny."));
  } else {
    std::string what =
        p.subject.is_workload()
            ? absl::StrCat(who, " is Tier 0 and must never be policed")
            : absl::StrCat(who, " is Cilium's own ",
                           p.subject.name == "health" ? "health endpoint" : "reserved endpoint",
                           ", which Tier 0 traffic depends on");
    std::string causes = p.caused_by.empty() ? std::string("some policy") : And(p.caused_by);
    Comment(out, 0,
            absl::StrCat("tierwatch suggest", from, ": a cluster-wide fix. ", what, ", yet ",
                         causes, p.caused_by.size() > 1 ? " put" : " puts",
                         " it into default-deny, so it drops the traffic below. This "
                         "CiliumClusterwideNetworkPolicy allows exactly that traffic "
                         "(enableDefaultDeny: false). Correcting ",
                         causes,
                         " is the better fix (enableDefaultDeny: false for that direction, or "
                         "keep this endpoint out of its selector); apply this only until then."));
  }
  std::vector<std::string> sel;
  for (const MatchLabel& m : p.subject_selector) {
    sel.push_back(m.value.empty() ? m.key : absl::StrCat(m.key, "=", m.value));
  }
  if (p.subject.is_workload()) {
    Comment(out, 0,
            absl::StrCat("Selector: ", absl::StrJoin(sel, ", "),
                         p.subject_widening.empty()
                             ? absl::StrCat(": the smallest set of stable labels that selects ",
                                            who, " and no other workload seen in ",
                                            p.subject.namespace_.view(), ".")
                             : absl::StrCat(" (widening: ", p.subject_widening, ").")));
  }
  for (const std::string& n : p.notes) Comment(out, 0, n);
  return out;
}

std::string Kustomization(absl::string_view dir, const std::vector<std::string>& resources) {
  std::string out = absl::StrCat(kFileMarker, ": the suggested policies under ", dir,
                                 "/ (kubectl kustomize ", dir, ").\n",
                                 "apiVersion: kustomize.config.k8s.io/v1beta1\n"
                                 "kind: Kustomization\n"
                                 "resources:\n");
  for (const std::string& r : resources) absl::StrAppend(&out, "  - ", Q(r), "\n");
  return out;
}

}  // namespace

std::string RenderPolicy(const SuggestedPolicy& p, absl::string_view source) {
  std::string out = Header(p, source);
  absl::StrAppend(&out, "apiVersion: cilium.io/v2\nkind: ",
                  p.clusterwide ? "CiliumClusterwideNetworkPolicy" : "CiliumNetworkPolicy",
                  "\nmetadata:\n  name: ", Q(p.name), "\n");
  if (!p.clusterwide) absl::StrAppend(&out, "  namespace: ", Q(p.namespace_), "\n");
  std::string description =
      p.clusterwide
          ? absl::StrCat("Lets ", p.subject.ToString(),
                         " keep the traffic that policies putting it into default-deny would "
                         "drop (suggested by tierwatch)")
          : absl::StrCat("What ", p.subject.ToString(),
                         " was seen doing, for its default-deny (suggested by tierwatch)");
  absl::StrAppend(&out, "spec:\n  description: ", Q(description), "\n  endpointSelector:\n");
  MatchLabels(out, 4, p.subject_selector);
  absl::StrAppend(&out, "  enableDefaultDeny:\n    egress: false\n    ingress: false\n");
  const size_t max_ev = 6;
  if (!p.egress.empty()) {
    absl::StrAppend(&out, "  egress:\n");
    for (const SuggestedRule& r : p.egress) Rule(out, r, true, max_ev);
  }
  if (!p.ingress.empty()) {
    absl::StrAppend(&out, "  ingress:\n");
    for (const SuggestedRule& r : p.ingress) Rule(out, r, false, max_ev);
  }
  return out;
}

std::vector<OutputFile> Render(const SuggestionSet& set) {
  std::vector<OutputFile> files;
  std::map<std::string, std::vector<std::string>> by_dir;  // top directory -> resources
  for (const SuggestedPolicy& p : set.policies) {
    files.push_back({p.path, RenderPolicy(p, set.source)});
  }
  if (set.assumed_target)
    files.push_back({"cluster-wide/target-default-deny.yaml", set.target_default_deny});
  for (const OutputFile& f : files) {
    size_t slash = f.path.find('/');
    by_dir[f.path.substr(0, slash)].push_back(f.path.substr(slash + 1));
  }
  for (auto& [dir, resources] : by_dir) {
    std::sort(resources.begin(), resources.end());
    files.push_back({absl::StrCat(dir, "/kustomization.yaml"), Kustomization(dir, resources)});
  }
  std::sort(files.begin(), files.end(),
            [](const OutputFile& a, const OutputFile& b) { return a.path < b.path; });
  return files;
}

std::string Bundle(const std::vector<OutputFile>& files) {
  std::string out =
      absl::StrCat(kFileMarker, " bundle: ", files.size(),
                   " files; each document below starts with its path under the output "
                   "directory\n");
  for (const OutputFile& f : files) absl::StrAppend(&out, "---\n# file: ", f.path, "\n", f.content);
  return out;
}

absl::StatusOr<std::vector<OutputFile>> SplitBundle(absl::string_view text) {
  std::vector<OutputFile> files;
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();  // the final newline
  bool expect_file = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::string_view line = lines[i];
    if (line == "---") {
      expect_file = true;
      continue;
    }
    if (expect_file) {
      if (!absl::StartsWith(line, "# file: ")) {
        return absl::InvalidArgumentError(absl::StrCat(
            "suggestion bundle line ", i + 1, ": expected \"# file: PATH\" after \"---\""));
      }
      std::string path(line.substr(8));
      if (path.empty() || path.front() == '/' || absl::StrContains(path, "..")) {
        return absl::InvalidArgumentError(
            absl::StrCat("suggestion bundle line ", i + 1, ": unsafe path \"", path, "\""));
      }
      files.push_back({path, ""});
      expect_file = false;
      continue;
    }
    if (!files.empty()) absl::StrAppend(&files.back().content, line, "\n");
  }
  return files;
}

absl::StatusOr<WriteReport> WriteFiles(const std::string& dir,
                                       const std::vector<OutputFile>& files) {
  namespace fs = std::filesystem;
  WriteReport report;
  auto read = [](const fs::path& p, std::string* out) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return false;
    std::ostringstream buf;
    buf << in.rdbuf();
    *out = std::move(buf).str();
    return true;
  };
  // Check everything first: a refusal must leave the directory as it was.
  std::vector<const OutputFile*> to_write;
  for (const OutputFile& f : files) {
    fs::path p = fs::path(dir) / f.path;
    std::error_code ec;
    if (!fs::exists(p, ec)) {
      to_write.push_back(&f);
      continue;
    }
    std::string have;
    if (!fs::is_regular_file(p, ec) || !read(p, &have)) {
      return absl::FailedPreconditionError(
          absl::StrCat("refusing to replace ", p.string(), ": it is not a readable file"));
    }
    if (have == f.content) {
      report.unchanged.push_back(f.path);
      continue;
    }
    if (!absl::StartsWith(have, kFileMarker)) {
      return absl::FailedPreconditionError(
          absl::StrCat("refusing to replace ", p.string(),
                       ": tierwatch suggest did not write it (its first line is not \"",
                       kFileMarker, "...\"); choose another --out directory or move the file"));
    }
    to_write.push_back(&f);
  }
  for (const OutputFile* f : to_write) {
    fs::path p = fs::path(dir) / f->path;
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    if (ec) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create ", p.parent_path().string(), ": ", ec.message()));
    }
    TW_RETURN_IF_ERROR(baseline::WriteFileAtomically(p.string(), f->content));
    report.written.push_back(f->path);
  }
  // Files of an earlier run that this one did not write.
  std::set<std::string> ours;
  for (const OutputFile& f : files) ours.insert(f.path);
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::string rel = fs::relative(it->path(), dir).generic_string();
    if (ours.count(rel) || it->path().extension() != ".yaml") continue;
    std::string head;
    std::ifstream in(it->path(), std::ios::binary);
    head.resize(kFileMarker.size());
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    if (head == kFileMarker) report.stale.push_back(rel);
  }
  std::sort(report.stale.begin(), report.stale.end());
  return report;
}

}  // namespace tw::suggest
