#include "api/routes.h"

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "classify/render.h"
#include "common/json_text.h"
#include "common/time_format.h"

namespace tw::api {
namespace {

using nlohmann::json;

Response Json(int status, const json& body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = tw::DumpJson(body);
  r.body += "\n";
  return r;
}

Response Error(int status, const std::string& message) {
  return Json(status, json{{"error", message}, {"status", status}});
}

Response Text(int status, std::string body, std::string type = "text/plain; charset=utf-8") {
  Response r;
  r.status = status;
  r.content_type = std::move(type);
  r.body = std::move(body);
  return r;
}

// The query of one endpoint: known names only, each at most once. Bad input is a 400 that
// names the parameter and what was expected.
class Query {
 public:
  Query(const Request& req, std::string endpoint, std::vector<std::string> known)
      : req_(req), endpoint_(std::move(endpoint)), known_(std::move(known)) {}

  // The first problem with the names, or "".
  std::string Check() const {
    std::set<std::string> seen;
    for (const auto& [k, v] : req_.params) {
      if (std::find(known_.begin(), known_.end(), k) == known_.end()) {
        return absl::StrCat("unknown parameter \"", k, "\" for ", endpoint_,
                            "; known: ", known_.empty() ? "none" : absl::StrJoin(known_, ", "));
      }
      if (!seen.insert(k).second) {
        return absl::StrCat("parameter \"", k, "\" given more than once");
      }
    }
    return "";
  }

  const std::string* Get(const std::string& name) const {
    for (const auto& [k, v] : req_.params) {
      if (k == name) return &v;
    }
    return nullptr;
  }

 private:
  const Request& req_;
  std::string endpoint_;
  std::vector<std::string> known_;
};

bool ParseLimit(const Query& q, size_t* limit, std::string* error) {
  *limit = kDefaultLimit;
  const std::string* v = q.Get("limit");
  if (v == nullptr) return true;
  uint64_t n = 0;
  if (!absl::SimpleAtoi(*v, &n) || n < 1 || n > kMaxLimit) {
    *error =
        absl::StrCat("limit: expected a whole number from 1 to ", kMaxLimit, ", got \"", *v, "\"");
    return false;
  }
  *limit = static_cast<size_t>(n);
  return true;
}

std::vector<std::string> ClassNames() {
  std::vector<std::string> names;
  for (classify::DropClass c : classify::AllDropClasses()) {
    names.emplace_back(classify::DropClassName(c));
  }
  return names;
}

// class=a,b (empty = any).
bool ParseClasses(const Query& q, std::vector<classify::DropClass>* out, std::string* error) {
  const std::string* v = q.Get("class");
  if (v == nullptr) return true;
  for (absl::string_view name : absl::StrSplit(*v, ',', absl::SkipWhitespace())) {
    auto c = classify::DropClassFromName(absl::StripAsciiWhitespace(name));
    if (!c) {
      *error = absl::StrCat("class: unknown class \"", name,
                            "\"; known: ", absl::StrJoin(ClassNames(), ", "));
      return false;
    }
    out->push_back(*c);
  }
  if (out->empty()) {
    *error = absl::StrCat("class: expected a class name, got \"\"; known: ",
                          absl::StrJoin(ClassNames(), ", "));
    return false;
  }
  return true;
}

bool ParseSeverities(const Query& q, std::vector<classify::DropSeverity>* out, std::string* error) {
  const std::string* v = q.Get("severity");
  if (v == nullptr) return true;
  for (absl::string_view name : absl::StrSplit(*v, ',', absl::SkipWhitespace())) {
    auto s = classify::SeverityFromName(absl::StripAsciiWhitespace(name));
    if (!s) {
      *error = absl::StrCat("severity: unknown severity \"", name,
                            "\"; known: critical, high, medium, low");
      return false;
    }
    out->push_back(*s);
  }
  if (out->empty()) {
    *error = "severity: expected critical, high, medium or low, got \"\"";
    return false;
  }
  return true;
}

bool ParseSince(const Query& q, absl::Time now, std::optional<absl::Time>* out,
                std::string* error) {
  const std::string* v = q.Get("since");
  if (v == nullptr) return true;
  auto t = ParseTime(*v, now);
  if (!t.ok()) {
    *error = absl::StrCat(
        "since: expected an RFC 3339 time (2026-11-20T09:20:00Z) or a duration before now (30s, "
        "5m, 1h), got \"",
        *v, "\"");
    return false;
  }
  *out = *t;
  return true;
}

template <typename T>
bool Contains(const std::vector<T>& v, T x) {
  return v.empty() || std::find(v.begin(), v.end(), x) != v.end();
}

Response Drops(const Request& req, const StateView& state) {
  Query q(req, "/api/v1/drops", {"class", "namespace", "severity", "since", "limit"});
  std::string error = q.Check();
  size_t limit = 0;
  std::vector<classify::DropClass> classes;
  std::vector<classify::DropSeverity> severities;
  std::optional<absl::Time> since;
  if (error.empty()) ParseLimit(q, &limit, &error);
  if (error.empty()) ParseClasses(q, &classes, &error);
  if (error.empty()) ParseSeverities(q, &severities, &error);
  if (error.empty()) ParseSince(q, state.Now(), &since, &error);
  if (!error.empty()) return Error(400, error);
  const std::string* ns = q.Get("namespace");

  auto all = state.RecentDrops();
  json drops = json::array();
  size_t matched = 0;
  // Newest first.
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    const classify::Classification& c = **it;
    if (!Contains(classes, c.drop_class) || !Contains(severities, c.severity)) continue;
    if (since && c.flow.time < *since) continue;
    // Either side, as `hubble observe --namespace`.
    if (ns != nullptr && c.flow.source.namespace_ != *ns && c.flow.destination.namespace_ != *ns) {
      continue;
    }
    ++matched;
    if (drops.size() < limit) {
      json j = classify::ClassificationJson(c);
      j.erase("reasoning");  // /api/v1/drops/{id} has it; lists stay as `analyze -o json`
      drops.push_back(std::move(j));
    }
  }
  return Json(200, json{{"drops", drops},
                        {"count", drops.size()},
                        {"matched", matched},
                        {"limit", limit},
                        {"truncated", matched > drops.size()},
                        {"recent_held", all.size()},
                        {"recent_capacity", state.RecentDropsCapacity()}});
}

Response Drop(const Request& req, const StateView& state, absl::string_view id) {
  Query q(req, "/api/v1/drops/{id}", {});
  if (std::string error = q.Check(); !error.empty()) return Error(400, error);
  auto c = state.FindDrop(id);
  if (c == nullptr) {
    return Error(404, absl::StrCat("no drop with id ", id, " among the daemon's last ",
                                   state.RecentDropsCapacity(),
                                   " drops (it may have fallen off the ring; ids come from "
                                   "/api/v1/drops or `tierwatch drops`)"));
  }
  json j = classify::ClassificationJson(*c);
  j["explain_text"] = classify::RenderExplain(*c);
  return Json(200, j);
}

Response Connections(const Request& req, const StateView& state) {
  Query q(req, "/api/v1/connections", {"class", "severity", "limit"});
  std::string error = q.Check();
  size_t limit = 0;
  std::vector<classify::DropClass> classes;
  std::vector<classify::DropSeverity> severities;
  if (error.empty()) ParseLimit(q, &limit, &error);
  if (error.empty()) ParseClasses(q, &classes, &error);
  if (error.empty()) ParseSeverities(q, &severities, &error);
  if (!error.empty()) return Error(400, error);

  std::optional<classify::AggregateSnapshot> snap = state.Connections();
  json out = json::array();
  size_t matched = 0;
  json totals = json::object();
  if (snap) {
    for (classify::DropClass c : classify::AllDropClasses()) {
      if (!Contains(classes, c) || !Contains(severities, classify::SeverityOf(c))) continue;
      const classify::ClassTotals& t = snap->of(c);
      totals[std::string(classify::DropClassName(c))] = {{"events", t.events},
                                                         {"predicted_events", t.predicted_events},
                                                         {"connections", t.connections},
                                                         {"untracked_events", t.untracked_events}};
      for (const classify::ConnectionCount* cc : snap->Top(c)) {
        ++matched;
        if (out.size() >= limit) continue;
        json examples = json::array();
        for (int s = 0; s < 2; ++s) {
          if (cc->side_events[s] == 0) continue;
          examples.push_back(
              {{"enforcing_side", std::string(classify::SideName(static_cast<classify::Side>(s)))},
               {"events", cc->side_events[s]},
               {"id", cc->example_id[s]},
               {"explanation", cc->explanation[s]}});
        }
        out.push_back({{"class", std::string(classify::DropClassName(c))},
                       {"severity", std::string(classify::SeverityName(classify::SeverityOf(c)))},
                       {"connection", cc->connection},
                       {"events", cc->events},
                       {"predicted_events", cc->predicted_events},
                       {"first_seen", FormatRfc3339(cc->first_seen)},
                       {"last_seen", FormatRfc3339(cc->last_seen)},
                       {"in_baseline", cc->in_baseline},
                       {"nodes", cc->nodes},
                       {"policies", cc->policies},
                       {"examples", examples}});
      }
    }
  }
  json body{{"connections", out},
            {"count", out.size()},
            {"matched", matched},
            {"limit", limit},
            {"truncated", matched > out.size()},
            {"classes", totals}};
  if (!snap) body["note"] = "the daemon has not watched yet (learn mode): nothing is classified";
  return Json(200, body);
}

Response Baseline(const Request& req, const StateView& state) {
  Query q(req, "/api/v1/baseline", {"format"});
  if (std::string error = q.Check(); !error.empty()) return Error(400, error);
  baseline::DocumentFormat format = baseline::DocumentFormat::kJson;
  if (const std::string* f = q.Get("format")) {
    if (*f == "yaml") {
      format = baseline::DocumentFormat::kYaml;
    } else if (*f != "json") {
      return Error(400, absl::StrCat("format: expected json or yaml, got \"", *f, "\""));
    }
  }
  absl::StatusOr<std::string> doc = state.BaselineDocument(format);
  if (!doc.ok()) {
    const int status = absl::IsNotFound(doc.status()) ? 404 : 503;
    return Error(status, std::string(doc.status().message()));
  }
  return Text(200, *std::move(doc),
              format == baseline::DocumentFormat::kYaml ? "application/yaml; charset=utf-8"
                                                        : "application/json");
}

// --- /api/v1/suggestions ------------------------------------------------------------------

// Why the served set holds no file ("" when it holds some).
std::string NothingToSuggest(const SuggestionsView& v) {
  const std::string classes = absl::StrJoin(v.classes, ", ");
  if (!v.enabled) return v.reason;
  const SuggestionResult* r = v.result.get();
  if (r == nullptr) {
    if (v.drops == 0) {
      return absl::StrCat("no drop classified ", classes, " since the daemon started",
                          v.note.empty() ? "" : absl::StrCat(" (", v.note, ")"));
    }
    return absl::StrCat(v.drops, " drops kept; the first computation is due at the next tick");
  }
  if (!r->files.empty()) return "";
  if (r->connections == 0) {
    return absl::StrCat("no connection to allow among the ", r->drops, " drops classified ",
                        classes, " (", v.drops_skipped,
                        " were not policy drops or had no port to key a connection by)");
  }
  if (r->unresolved_count > 0) {
    return absl::StrCat(r->unresolved_count,
                        " connections need an allow, but no allow rule can close them "
                        "(listed above)");
  }
  return absl::StrCat("the ", r->stats.considered,
                      " connections of the kept drops are all allowed "
                      "by the policies in force already (the cluster may run other policies than "
                      "the daemon loaded)");
}

std::string ProofState(const SuggestionResult& r) {
  if (!r.proofs_run) return "none run (nothing suggested)";
  return r.proof.ok() ? "ok" : "FAILED: do not apply these suggestions as they are";
}

// The header of the YAML body: what the set is for, how current, what it was proven
// against. Every line a comment, so the body stays a valid multi-document YAML and
// suggest::SplitBundle ignores it.
std::string SuggestionsHeader(const SuggestionsView& v, absl::string_view nothing) {
  std::vector<std::string> lines;
  lines.push_back(
      absl::StrCat("tierwatch live suggestions: allow rules for the connections of the "
                   "drops classified ",
                   absl::StrJoin(v.classes, ", ")));
  if (!nothing.empty()) lines.push_back(absl::StrCat("nothing to suggest: ", nothing));
  if (v.enabled) {
    lines.push_back(absl::StrCat(
        "kept: ", v.connections, " connections of ", v.drops, " drops (max_connections ",
        v.max_connections, ")",
        v.pending ? "; newer drops are waiting for the next computation" : "; up to date"));
    if (v.drops_left_out > 0) {
      lines.push_back(absl::StrCat("left out: ", v.drops_left_out,
                                   " drops of further connections (suggestions.max_connections "
                                   "reached): the set does not cover them"));
    }
  }
  if (const SuggestionResult* r = v.result.get()) {
    lines.push_back(
        absl::StrCat("computed: ", FormatRfc3339(r->computed_at), " from ", r->connections,
                     " connections of ", r->drops, " drops, in ",
                     absl::FormatDuration(absl::Trunc(r->took, absl::Milliseconds(1)))));
    if (!r->error.empty()) lines.push_back(absl::StrCat("error: ", r->error));
    lines.push_back(
        r->assumed_target
            ? std::string("policies in force: none loaded by the daemon: the tier model's target "
                          "state (Tier 1 and Tier 2 in default-deny) is assumed, "
                          "cluster-wide/target-default-deny.yaml")
            : absl::StrCat("policies in force: ", r->policies_in_force,
                           " loaded by the daemon from ", r->policies_from));
    if (r->error.empty()) {
      lines.push_back(
          absl::StrCat(r->stats.considered, " connections: ", r->stats.already_allowed,
                       " allowed already, ", r->stats.needing_allow, " need an allow -> ", r->rules,
                       " rules in ", r->app_policies + r->clusterwide_policies, " policies (",
                       r->app_policies, " app, ", r->clusterwide_policies, " cluster-wide)"));
      lines.push_back(absl::StrCat("proofs: ", ProofState(*r)));
      if (r->proofs_run) {
        for (absl::string_view l :
             absl::StrSplit(suggest::RenderProof(r->proof, 10), '\n', absl::SkipEmpty())) {
          lines.push_back(absl::StrCat("  ", l));
        }
      }
      if (r->unresolved_count > 0) {
        lines.push_back(absl::StrCat("unresolved: ", r->unresolved_count,
                                     " connections no allow rule can close"));
        for (const suggest::Unresolved& u : r->unresolved) {
          lines.push_back(absl::StrCat("  ", u.key.ToString(), ": ", u.reason));
        }
        if (r->unresolved_count > r->unresolved.size()) {
          lines.push_back(
              absl::StrCat("  ... and ", r->unresolved_count - r->unresolved.size(), " more"));
        }
      }
    }
  }
  std::string out;
  for (const std::string& l : lines) absl::StrAppend(&out, "# ", l, "\n");
  return out;
}

json ProofJson(const SuggestionResult& r) {
  auto items = [](const std::vector<suggest::ProofItem>& list) {
    json a = json::array();
    for (const auto& i : list) a.push_back({{"connection", i.key.ToString()}, {"what", i.what}});
    return a;
  };
  // Problems as `policy lint -o json` gives them: one object each (file, line, code, ...).
  auto diagnostics = [](const std::vector<tw::Diagnostic>& list) {
    json a = json::array();
    for (const auto& d : list) a.push_back(json(d.ToJson()));
    return a;
  };
  json parse = diagnostics(r.proof.parse_errors);
  const suggest::ProofReport& p = r.proof;
  return {{"run", r.proofs_run},
          {"ok", r.proven()},
          {"reparse", {{"files", p.files_parsed}, {"errors", parse}}},
          {"closure",
           {{"ok", p.closure_ok()},
            {"checked", p.closure_checked},
            {"allowed", p.closure_allowed},
            {"still_denied", p.still_denied_count},
            {"still_denied_first", items(p.still_denied)},
            {"undecided", items(p.undecided)}}},
          {"least_privilege",
           {{"ok", p.violations.empty()},
            {"negatives_checked", p.negatives_checked},
            {"violations", items(p.violations)},
            {"declared_widenings", items(p.declared)}}},
          {"lint",
           {{"ok", p.lint_errors.empty()},
            {"skipped", p.lint_skipped},
            {"policies", p.lint_policies},
            {"errors", diagnostics(p.lint_errors)},
            {"errors_existing", p.lint_errors_existing.size()},
            {"warnings", p.lint_warnings}}},
          {"text", r.proofs_run ? suggest::RenderProof(p) : std::string()}};
}

Response Suggestions(const Request& req, const StateView& state) {
  Query q(req, "/api/v1/suggestions", {"format"});
  if (std::string error = q.Check(); !error.empty()) return Error(400, error);
  bool yaml = true;
  if (const std::string* f = q.Get("format")) {
    if (*f == "json") {
      yaml = false;
    } else if (*f != "yaml") {
      return Error(400, absl::StrCat("format: expected yaml or json, got \"", *f, "\""));
    }
  }
  SuggestionsView v = state.Suggestions();
  static const std::vector<suggest::OutputFile> kNoFiles;
  const std::vector<suggest::OutputFile>& files = v.result ? v.result->files : kNoFiles;
  const std::string nothing = NothingToSuggest(v);
  if (yaml) {
    return Text(200, absl::StrCat(SuggestionsHeader(v, nothing), suggest::Bundle(files)),
                "application/yaml; charset=utf-8");
  }
  json body{{"enabled", v.enabled},
            {"classes", v.classes},
            {"drops", v.drops},
            {"drops_skipped", v.drops_skipped},
            {"drops_left_out", v.drops_left_out},
            {"connections", v.connections},
            {"max_connections", v.max_connections},
            {"pending", v.pending},
            {"count", files.size()}};
  if (!nothing.empty()) body["nothing_to_suggest"] = nothing;
  if (!v.note.empty()) body["note"] = v.note;
  if (const SuggestionResult* r = v.result.get()) {
    json unresolved = json::array();
    for (const suggest::Unresolved& u : r->unresolved) {
      unresolved.push_back({{"connection", u.key.ToString()}, {"reason", u.reason}});
    }
    const suggest::SuggestStats& st = r->stats;
    body["computed"] = {
        {"at", FormatRfc3339(r->computed_at)},
        {"took_seconds", absl::ToDoubleSeconds(r->took)},
        {"drops", r->drops},
        {"connections", r->connections},
        {"assumed_target", r->assumed_target},
        {"policies_in_force", r->policies_in_force},
        {"policies_from", r->policies_from},
        {"error", r->error},
        {"stats",
         {{"considered", st.considered},
          {"already_allowed", st.already_allowed},
          {"needing_allow", st.needing_allow},
          {"egress_sides", st.egress_sides},
          {"ingress_sides", st.ingress_sides}}},
        {"rules", r->rules},
        {"policies", {{"app", r->app_policies}, {"cluster_wide", r->clusterwide_policies}}},
        {"unresolved", unresolved},
        {"unresolved_count", r->unresolved_count},
        {"proofs", ProofJson(*r)}};
  }
  json out = json::array();
  for (const suggest::OutputFile& f : files) {
    out.push_back({{"path", f.path}, {"content", f.content}});
  }
  body["files"] = std::move(out);
  return Json(200, body);
}

Response Index() {
  return Json(200, json{{"service", "tierwatch"},
                        {"endpoints",
                         {"/metrics", "/healthz", "/readyz", "/api/v1/status", "/api/v1/drops",
                          "/api/v1/drops/{id}", "/api/v1/connections", "/api/v1/baseline",
                          "/api/v1/suggestions"}},
                        {"docs", "docs/api.md"}});
}

}  // namespace

Response Handle(const Request& req, const StateView& state) {
  if (req.method != "GET" && req.method != "HEAD") {
    return Error(405,
                 absl::StrCat("method ", req.method, " not allowed: the API is read-only (GET)"));
  }
  absl::string_view path = req.path;
  if (path.size() > 1) absl::ConsumeSuffix(&path, "/");

  // Probes and metrics ignore query parameters (scrapers and kubelets add their own).
  if (path == "/metrics") {
    return Text(200, state.MetricsText(), "text/plain; version=0.0.4; charset=utf-8");
  }
  if (path == "/healthz" || path == "/readyz") {
    Health h = path == "/healthz" ? state.Liveness() : state.Readiness();
    if (h.ok) return Text(200, h.reason.empty() ? "ok\n" : absl::StrCat("ok: ", h.reason, "\n"));
    return Text(503,
                absl::StrCat(path == "/healthz" ? "unhealthy: " : "not ready: ", h.reason, "\n"));
  }
  if (path == "/" || path == "/api" || path == "/api/v1") {
    Query q(req, std::string(path), {});
    if (std::string error = q.Check(); !error.empty()) return Error(400, error);
    return Index();
  }
  if (path == "/api/v1/status") {
    Query q(req, "/api/v1/status", {});
    if (std::string error = q.Check(); !error.empty()) return Error(400, error);
    return Json(200, state.Status());
  }
  if (path == "/api/v1/drops") return Drops(req, state);
  if (absl::string_view id = path; absl::ConsumePrefix(&id, "/api/v1/drops/")) {
    if (!id.empty() && id.find('/') == absl::string_view::npos) return Drop(req, state, id);
  }
  if (path == "/api/v1/connections") return Connections(req, state);
  if (path == "/api/v1/baseline") return Baseline(req, state);
  if (path == "/api/v1/suggestions") return Suggestions(req, state);
  return Error(404, absl::StrCat("no such endpoint: ", req.path,
                                 " (known: /metrics, /healthz, /readyz, /api/v1/status, "
                                 "/api/v1/drops, /api/v1/drops/{id}, /api/v1/connections, "
                                 "/api/v1/baseline, /api/v1/suggestions)"));
}

}  // namespace tw::api
