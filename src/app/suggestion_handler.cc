#include "app/suggestion_handler.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "classify/inputs.h"
#include "common/status_macros.h"
#include "common/time_format.h"
#include "flow/connection.h"
#include "spdlog/spdlog.h"
#include "suggest/prove.h"
#include "suggest/render.h"

namespace tw::app {
namespace {

// The served result keeps this many unresolved connections (the count is exact).
constexpr size_t kMaxUnresolvedKept = 100;

bool Suggested(classify::DropClass c) {
  const auto& classes = SuggestedClasses();
  return std::find(classes.begin(), classes.end(), c) != classes.end();
}

std::string ClassList() {
  std::vector<std::string> names;
  for (classify::DropClass c : SuggestedClasses()) names.emplace_back(classify::DropClassName(c));
  return absl::StrJoin(names, ", ");
}

// One help text per metric family, whichever label value registers it first.
constexpr char kSuggestionsHelp[] =
    "Policies in the daemon's current suggestion set (/api/v1/suggestions), by kind: app (a "
    "namespaced policy for a Tier 1/2 workload) or cluster_wide (a fix for a Tier 0 or reserved "
    "endpoint).";
constexpr char kComputations[] = "tierwatch_suggestion_computations_total";
constexpr char kComputationsHelp[] =
    "Computations of the suggestion set, by result: ok (proven), unproven (a proof failed or a "
    "connection cannot be closed), error (no set could be computed).";

}  // namespace

const std::vector<classify::DropClass>& SuggestedClasses() {
  static const auto* const kClasses = new std::vector<classify::DropClass>{
      classify::DropClass::kBaselineRegression, classify::DropClass::kPlatformBlocked,
      classify::DropClass::kMetricsScrapeBlocked, classify::DropClass::kDnsBlocked};
  return *kClasses;
}

SuggestionHandler::SuggestionHandler(std::unique_ptr<tier::TierModel> tiers,
                                     policy::PolicySet policies, flow::SymbolTable& symbols,
                                     const baseline::Baseline* learned, metrics::Scope& scope,
                                     SuggestionHandlerOptions options)
    : options_(std::move(options)),
      tiers_(std::move(tiers)),
      policies_(std::move(policies)),
      symbols_(symbols),
      learned_(learned),
      kept_(symbols),
      labels_(symbols),
      app_policies_(scope.Gauge("tierwatch_suggestions", kSuggestionsHelp, {{"kind", "app"}})),
      clusterwide_policies_(
          scope.Gauge("tierwatch_suggestions", kSuggestionsHelp, {{"kind", "cluster_wide"}})),
      computed_ok_(scope.Counter(kComputations, kComputationsHelp, {{"result", "ok"}})),
      computed_unproven_(scope.Counter(kComputations, kComputationsHelp, {{"result", "unproven"}})),
      computed_error_(scope.Counter(kComputations, kComputationsHelp, {{"result", "error"}})),
      compute_seconds_(scope.Gauge("tierwatch_suggestion_compute_seconds",
                                   "How long the last computation of the suggestion set took "
                                   "(suggest, render and proofs; off the pipeline worker).")),
      left_out_total_(scope.Counter("tierwatch_suggestion_drops_left_out_total",
                                    "Drops whose connection was not kept for suggestions because "
                                    "suggestions.max_connections connections are kept already.")) {
  kept_.set_source(absl::StrCat("tierwatch run: drops classified ", ClassList()));
  if (options_.max_connections > 0) thread_ = std::thread([this] { ComputeLoop(); });
}

SuggestionHandler::~SuggestionHandler() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    job_.reset();
  }
  if (thread_.joinable()) thread_.join();
}

void SuggestionHandler::OnEvent(const flow::Event& event) {
  if (options_.max_connections == 0 || !event.flow) return;
  const flow::Flow& f = *event.flow;
  // One ObserveLabels per security identity: an identity is a label set, so a second flow
  // of it teaches nothing. Endpoints without an identity number are learned from drops only.
  for (const auto* ep : {&f.source, &f.destination}) {
    if (ep->identity == 0 || ep->namespace_.empty() || ep->labels.empty()) continue;
    if (identities_.size() >= options_.max_label_identities) return;
    if (!identities_.insert(ep->identity).second) continue;
    flow::Peer peer = flow::PeerOf(*ep, "", {}, flow::PeerRole::kSource, symbols_, nullptr, f.time);
    labels_.ObserveLabels(peer, *ep);
  }
}

void SuggestionHandler::OnDrop(const std::shared_ptr<const classify::Classification>& drop) {
  const classify::Classification& c = *drop;
  if (!Suggested(c.drop_class)) return;
  drops_.fetch_add(1, std::memory_order_relaxed);
  if (options_.max_connections == 0) return;
  const flow::Flow& f = c.flow;
  // As suggest/'s feed learns (LearnOptions::only_policy_drops): never a conntrack or other
  // datapath drop, whatever class it got.
  if (!c.connection || (f.verdict == flow::Verdict::kDropped && !f.IsPolicyVerdictDrop())) {
    skipped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const flow::ConnectionKey& key = *c.connection;
  if (kept_.size() >= options_.max_connections && !kept_.Contains(key)) {
    left_out_.fetch_add(1, std::memory_order_relaxed);
    left_out_total_.Increment();
    return;
  }
  kept_.ObserveLabels(key.source, f.source);
  kept_.ObserveLabels(key.destination, f.destination);
  kept_.Record(key, f.time, f.node_name, f.verdict);
  connections_.store(kept_.size(), std::memory_order_relaxed);
  // Every kept drop changes the set's evidence (counts, last seen), a new connection or new
  // labels its rules: either is a change worth a (rate-limited) computation.
  changed_ = true;
  changed_since_submit_.store(true, std::memory_order_relaxed);
}

void SuggestionHandler::OnTick(absl::Time now) {
  if (!changed_) return;
  absl::Duration wait;
  {
    absl::MutexLock lock(&mu_);
    if (busy_ || job_) return;  // one at a time; the next tick after it ends takes the rest
    wait = std::max(options_.interval, 10 * last_took_);
  }
  if (last_submit_ != absl::InfinitePast() && now - last_submit_ < wait) return;
  Submit(now);
}

void SuggestionHandler::Submit(absl::Time now) {
  Job job;
  job.at = now;
  job.drops = drops_.load(std::memory_order_relaxed);
  job.connections = std::make_unique<baseline::Baseline>(kept_);
  // Selectors must single a workload out among every workload of its namespace, not just
  // among the dropped ones: the labels the stream showed (intersected, as pods of one
  // workload narrow them), then the learned baseline's for workloads not seen since.
  job.connections->Merge(labels_);
  if (learned_ != nullptr) {
    for (const auto& [peer, labels] : learned_->LabelledWorkloads()) {
      if (!job.connections->Labels(peer)) {
        job.connections->SetLabels(peer, std::vector<flow::Symbol>(labels.begin(), labels.end()));
      }
    }
  }
  changed_ = false;
  changed_since_submit_.store(false, std::memory_order_relaxed);
  last_submit_ = now;
  absl::MutexLock lock(&mu_);
  job_ = std::move(job);
}

void SuggestionHandler::ComputeLoop() {
  for (;;) {
    Job job;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || job_; };
      mu_.Await(absl::Condition(&ready));
      if (stop_) return;
      job = std::move(*job_);
      job_.reset();
      busy_ = true;
    }
    const auto start = std::chrono::steady_clock::now();
    std::shared_ptr<api::SuggestionResult> computed = Compute(job);
    const absl::Duration took = absl::FromChrono(std::chrono::steady_clock::now() - start);
    computed->took = took;
    job.connections.reset();  // before the next one is copied
    std::shared_ptr<const api::SuggestionResult> r = std::move(computed);
    Publish(r);
    absl::MutexLock lock(&mu_);
    result_ = std::move(r);
    last_took_ = took;
    busy_ = false;
    ++computations_;
  }
}

std::shared_ptr<api::SuggestionResult> SuggestionHandler::Compute(Job& job) const {
  auto r = std::make_shared<api::SuggestionResult>();
  r->computed_at = job.at;
  r->drops = job.drops;
  r->connections = job.connections->size();
  r->assumed_target = policies_.empty();
  r->policies_in_force = policies_.size();
  r->policies_from = options_.policies_from;
  suggest::SuggestOptions opts = options_.suggest;
  opts.only_dropped = true;  // every kept connection was seen DROPPED or AUDIT
  absl::StatusOr<suggest::SuggestionSet> set =
      suggest::Suggest(*job.connections, policies_, *tiers_, opts);
  if (!set.ok()) {
    r->error = std::string(set.status().message());
    return r;
  }
  r->stats = set->stats;
  r->rules = set->rule_count();
  for (const suggest::SuggestedPolicy& p : set->policies) {
    ++(p.clusterwide ? r->clusterwide_policies : r->app_policies);
  }
  r->unresolved_count = set->unresolved.size();
  r->unresolved.assign(
      set->unresolved.begin(),
      set->unresolved.begin() + std::min(set->unresolved.size(), kMaxUnresolvedKept));
  // Nothing to suggest is nothing to serve: not even the assumed target default-deny,
  // which is a premise here, not a suggestion.
  if (set->policies.empty()) return r;
  r->files = suggest::Render(*set);
  // The same proofs as `tierwatch suggest`: the set is only worth serving when it is
  // proven, and the cost is paid here, off the worker, rate-limited.
  r->proof = suggest::Prove(*job.connections, *set, r->files, *tiers_, opts);
  r->proofs_run = true;
  return r;
}

void SuggestionHandler::Publish(const std::shared_ptr<const api::SuggestionResult>& r) {
  app_policies_.Set(static_cast<double>(r->app_policies));
  clusterwide_policies_.Set(static_cast<double>(r->clusterwide_policies));
  compute_seconds_.Set(absl::ToDoubleSeconds(r->took));
  if (!r->error.empty()) {
    computed_error_.Increment();
    spdlog::error("suggestions: cannot compute the set connections={} error=\"{}\"", r->connections,
                  r->error);
    return;
  }
  const bool proven = (!r->proofs_run || r->proof.ok()) && r->unresolved_count == 0;
  (proven ? computed_ok_ : computed_unproven_).Increment();
  auto log = proven ? spdlog::level::info : spdlog::level::warn;
  spdlog::log(log,
              "suggestions computed connections={} drops={} need_allow={} policies={} rules={} "
              "unresolved={} proofs={} took_ms={}",
              r->connections, r->drops, r->stats.needing_allow,
              r->app_policies + r->clusterwide_policies, r->rules, r->unresolved_count,
              !r->proofs_run ? "none_needed" : (r->proof.ok() ? "ok" : "FAILED"),
              absl::ToInt64Milliseconds(r->took));
}

api::SuggestionsView SuggestionHandler::View() const {
  api::SuggestionsView v;
  v.enabled = options_.max_connections > 0;
  v.reason = v.enabled ? "" : "live suggestions are off (suggestions.max_connections: 0)";
  for (classify::DropClass c : SuggestedClasses()) {
    v.classes.emplace_back(classify::DropClassName(c));
  }
  v.drops = drops_.load(std::memory_order_relaxed);
  v.drops_skipped = skipped_.load(std::memory_order_relaxed);
  v.drops_left_out = left_out_.load(std::memory_order_relaxed);
  v.connections = connections_.load(std::memory_order_relaxed);
  v.max_connections = options_.max_connections;
  const bool changed = changed_since_submit_.load(std::memory_order_relaxed);
  absl::MutexLock lock(&mu_);
  v.result = result_;
  v.pending = changed || busy_ || job_.has_value();
  return v;
}

bool SuggestionHandler::WaitIdle(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !busy_ && !job_; };
  return mu_.AwaitWithTimeout(absl::Condition(&idle), timeout);
}

uint64_t SuggestionHandler::computations() const {
  absl::MutexLock lock(&mu_);
  return computations_;
}

absl::StatusOr<std::unique_ptr<SuggestionHandler>> MakeSuggestionHandler(
    const config::DaemonConfig& config, flow::SymbolTable& symbols,
    const baseline::Baseline* learned, metrics::Scope& scope) {
  SuggestionHandlerOptions o;
  o.max_connections = static_cast<size_t>(std::max<int64_t>(0, config.suggestions.max_connections));
  o.interval = config.suggestions.interval;
  o.policies_from = absl::StrJoin(config.policies, " ");
  std::unique_ptr<tier::TierModel> tiers;
  policy::PolicySet policies;
  if (o.max_connections > 0) {
    // The same files the classifier loads, read once more: the compute thread gets its own
    // objects and shares nothing with the worker.
    classify::InputPaths paths;
    paths.tiers = config.tiers;
    paths.policies = config.policies;
    TW_ASSIGN_OR_RETURN(classify::Inputs inputs, classify::LoadInputs(paths, symbols));
    tiers = std::move(inputs.tiers);
    if (inputs.policies) policies = std::move(inputs.policies->policies);
  } else {
    tiers = std::make_unique<tier::TierModel>();
  }
  spdlog::info("suggestions {} max_connections={} interval={} policies={}",
               o.max_connections > 0 ? "on" : "off", o.max_connections,
               tw::FormatDuration(o.interval),
               policies.empty() ? std::string("none (target default-deny assumed)")
                                : absl::StrCat(policies.size()));
  return std::make_unique<SuggestionHandler>(std::move(tiers), std::move(policies), symbols,
                                             learned, scope, std::move(o));
}

}  // namespace tw::app
