// What suggest writes for each kind of peer, where it writes it, how it merges ports and
// chooses labels, and that the same input always gives the same bytes.
#include "suggest/suggest.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "suggest/render.h"
#include "suggest/selector.h"
#include "test_util.h"

namespace tw::suggest {
namespace {

using flow::Protocol;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using testutil::Builder;

std::string ProofText(const ProofReport& p) { return RenderProof(p, 50); }

// The text with wrapped comments joined, for checking what a comment says.
std::string Flat(std::string text) {
  for (const std::string cont : {"\n# ", "\n    # "}) {
    for (size_t at = text.find(cont); at != std::string::npos; at = text.find(cont, at)) {
      // Join only comment continuations: the previous line is a comment too.
      size_t line_start = text.rfind('\n', at - 1);
      line_start = line_start == std::string::npos ? 0 : line_start + 1;
      if (text.compare(line_start, cont.size() - 1, cont, 1, std::string::npos) == 0) {
        text.replace(at, cont.size(), " ");
      } else {
        at += cont.size();
      }
    }
  }
  return text;
}

// --- Ports -------------------------------------------------------------------------------

TEST(MergePorts, ContiguousPortsOfOneProtocolBecomeRanges) {
  EXPECT_THAT(
      MergePorts({{Protocol::kTCP, 8002},
                  {Protocol::kTCP, 8000},
                  {Protocol::kTCP, 8001},
                  {Protocol::kTCP, 9090},
                  {Protocol::kUDP, 8003},
                  {Protocol::kTCP, 8000}}),
      ElementsAre(PortSpan{Protocol::kTCP, 8000, 8002}, PortSpan{Protocol::kTCP, 9090, 9090},
                  PortSpan{Protocol::kUDP, 8003, 8003}));
  // ICMP types are fields, never ranges; the top port does not wrap.
  EXPECT_THAT(MergePorts({{Protocol::kICMPv4, 8}, {Protocol::kICMPv4, 9}}),
              ElementsAre(PortSpan{Protocol::kICMPv4, 8, 8}, PortSpan{Protocol::kICMPv4, 9, 9}));
  EXPECT_THAT(MergePorts({{Protocol::kTCP, 65535}, {Protocol::kTCP, 65534}}),
              ElementsAre(PortSpan{Protocol::kTCP, 65534, 65535}));
  EXPECT_THAT(MergePorts({}), IsEmpty());
}

TEST(Render, PortRangesAndManyPortsAreValidCilium) {
  flow::SymbolTable s;
  Builder b(s);
  auto app = b.Workload("shop", "web", {"app=web"});
  auto db = b.Workload("shop", "db", {"app=db"});
  for (uint16_t p = 8000; p <= 8002; ++p) b.Conn(app, db, p);
  // 45 scattered ports: more than one PortRule can hold (40).
  for (uint16_t i = 0; i < 45; ++i) b.Conn(app, db, static_cast<uint16_t>(10000 + 2 * i));
  tier::TierModel tiers;
  auto run = testutil::SuggestAndProve(b.baseline(), {}, tiers);
  ASSERT_TRUE(run);
  std::string web = Flat(run->Text("shop/web/networkpolicy.yaml"));
  EXPECT_THAT(web, HasSubstr("            - port: \"8000\"\n              endPort: 8002\n"
                             "              protocol: TCP\n"));
  const SuggestedPolicy* p = run->Policy("shop/web/networkpolicy.yaml");
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->egress.size(), 1u);
  EXPECT_EQ(p->egress[0].ports.size(), 46u);
  // Two PortRules: 40 + 6 ports.
  size_t rules = 0;
  for (size_t at = web.find("        - ports:\n"); at != std::string::npos;
       at = web.find("        - ports:\n", at + 1)) {
    ++rules;
  }
  EXPECT_EQ(rules, 2u);
  EXPECT_TRUE(run->proof.ok()) << ProofText(run->proof);
}

// --- Peers ------------------------------------------------------------------------------

class PeerKinds : public ::testing::Test {
 protected:
  void SetUp() override {
    web_ = b_.Workload("shop", "web", {"app.kubernetes.io/name=web"});
    db_ = b_.Workload("shop", "db", {"app.kubernetes.io/name=db"});
    cache_ = b_.Workload("data", "cache", {"app=redis", "app.kubernetes.io/instance=cache"});
    dns_ = b_.Workload("kube-system", "coredns", {"k8s-app=kube-dns"}, "coredns");
  }
  std::unique_ptr<testutil::Run> Go(const policy::PolicySet& existing = {}, SuggestOptions o = {}) {
    return testutil::SuggestAndProve(b_.baseline(), existing, tiers_, o);
  }

  flow::SymbolTable s_;
  Builder b_{s_};
  tier::TierModel tiers_;
  flow::Peer web_, db_, cache_, dns_;
};

TEST_F(PeerKinds, PodsInBothDirectionsWithTheNamespaceOnlyAcrossNamespaces) {
  b_.Conn(web_, db_, 5432);
  b_.Conn(web_, cache_, 6379);
  auto run = Go();
  ASSERT_TRUE(run);
  EXPECT_TRUE(run->set.assumed_target);
  std::string web = Flat(run->Text("shop/web/networkpolicy.yaml"));
  EXPECT_THAT(web, HasSubstr("kind: CiliumNetworkPolicy\nmetadata:\n  name: tierwatch-web\n"
                             "  namespace: shop\n"));
  EXPECT_THAT(web, HasSubstr("  endpointSelector:\n    matchLabels:\n"
                             "      app.kubernetes.io/name: web\n"
                             "  enableDefaultDeny:\n    egress: false\n    ingress: false\n"));
  // Same namespace: no namespace label; another namespace: named.
  EXPECT_THAT(web, HasSubstr("    - toEndpoints:\n        - matchLabels:\n"
                             "            app.kubernetes.io/name: db\n      toPorts:\n"));
  // The preferred stable label first (app.kubernetes.io/instance before app).
  EXPECT_THAT(web, HasSubstr("    - toEndpoints:\n        - matchLabels:\n"
                             "            app.kubernetes.io/instance: cache\n"
                             "            k8s:io.kubernetes.pod.namespace: data\n"));
  // The other side: an ingress rule in a policy selecting each destination.
  std::string db = Flat(run->Text("shop/db/networkpolicy.yaml"));
  EXPECT_THAT(db, HasSubstr("  ingress:\n"));
  EXPECT_THAT(db, HasSubstr("    - fromEndpoints:\n        - matchLabels:\n"
                            "            app.kubernetes.io/name: web\n"));
  EXPECT_THAT(db, Not(HasSubstr("\n  egress:\n")));
  std::string cache = run->Text("data/cache/networkpolicy.yaml");
  EXPECT_THAT(cache, HasSubstr("            app.kubernetes.io/name: web\n"
                               "            k8s:io.kubernetes.pod.namespace: shop\n"));
  // Evidence on each rule.
  EXPECT_THAT(web, HasSubstr("    # shop/web -> shop/db:5432/TCP: 3 flows, 2026-11-18T11:06:40Z to "
                             "2026-11-18T11:11:40Z, nodes node-a\n"));
  EXPECT_THAT(run->set.unresolved, IsEmpty());
  EXPECT_TRUE(run->proof.ok()) << ProofText(run->proof);
  // Kustomizations per namespace, and the assumed target.
  EXPECT_THAT(run->Text("shop/kustomization.yaml"),
              HasSubstr("resources:\n  - db/networkpolicy.yaml\n  - web/networkpolicy.yaml\n"));
  EXPECT_THAT(run->Text("cluster-wide/target-default-deny.yaml"),
              HasSubstr("        operator: NotIn\n        values:\n          - cilium\n"));
  EXPECT_THAT(run->Text("cluster-wide/kustomization.yaml"),
              HasSubstr("  - target-default-deny.yaml\n"));
}

TEST_F(PeerKinds, OnlyTheSideThatDeniesGetsARule) {
  b_.Conn(web_, db_, 5432);
  // db's ingress is not policed (no policy with ingress selects it); web's egress is.
  policy::PolicySet existing = testutil::Policies(R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: egress-lockdown}
spec:
  endpointSelector: {matchLabels: {k8s:io.kubernetes.pod.namespace: shop}}
  egress: [{}]
)");
  auto run = Go(existing);
  ASSERT_TRUE(run);
  EXPECT_FALSE(run->set.assumed_target);
  EXPECT_NE(run->File("shop/web/networkpolicy.yaml"), nullptr);
  EXPECT_EQ(run->File("shop/db/networkpolicy.yaml"), nullptr);
  EXPECT_EQ(run->File("cluster-wide/target-default-deny.yaml"), nullptr);
  EXPECT_EQ(run->set.stats.egress_sides, 1u);
  EXPECT_EQ(run->set.stats.ingress_sides, 0u);
  EXPECT_TRUE(run->proof.ok()) << ProofText(run->proof);
}

TEST_F(PeerKinds, EntitiesAndTheWorld) {
  b_.Conn(web_, b_.Entity("kube-apiserver"), 6443);
  b_.Conn(b_.Entity("world"), web_, 443);
  b_.Conn(b_.Entity("remote-node"), web_, 8080);
  b_.Conn(b_.Entity("remote-node"), web_, 0, Protocol::kICMPv4);  // unusual: type 0
  b_.Conn(b_.Entity("remote-node"), web_, 8, Protocol::kICMPv4);
  auto run = Go();
  ASSERT_TRUE(run);
  std::string web = Flat(run->Text("shop/web/networkpolicy.yaml"));
  EXPECT_THAT(web, HasSubstr("    - toEntities:\n        - kube-apiserver\n      toPorts:\n"));
  EXPECT_THAT(web, HasSubstr("    - fromEntities:\n        - world\n"));
  EXPECT_THAT(web, HasSubstr("    - fromEntities:\n        - remote-node\n      toPorts:\n"));
  EXPECT_THAT(web,
              HasSubstr("    - fromEntities:\n        - remote-node\n      icmps:\n"
                        "        - fields:\n            - type: 0\n              family: IPv4\n"
                        "            - type: 8\n              family: IPv4\n"));
  EXPECT_TRUE(run->proof.ok()) << ProofText(run->proof);
}

TEST_F(PeerKinds, FqdnsGetMatchNameAndTheDnsRuleThatMakesThemWork) {
  b_.Conn(web_, b_.Fqdn("api.stripe.com"), 443);
  b_.Conn(web_, b_.Fqdn("hooks.stripe.com"), 443);
  b_.Conn(db_, b_.Fqdn("backup.example.org"), 443);
  b_.Conn(db_, dns_, 53, Protocol::kUDP);
  auto run = Go();
  ASSERT_TRUE(run);
  std::string web = Flat(run->Text("shop/web/networkpolicy.yaml"));
  // One element for the names that share their ports.
  EXPECT_THAT(web, HasSubstr("    - toFQDNs:\n        - matchName: api.stripe.com\n"
                             "        - matchName: hooks.stripe.com\n      toPorts:\n"));
  // web's lookups were not among the connections: they are added, with the DNS rule, and
  // the file says why.
  EXPECT_THAT(web, HasSubstr("not seen, added: shop/web -> kube-system/coredns:53/UDP"));
  EXPECT_THAT(web, HasSubstr("widening: shop/web's DNS lookups, not seen, added so that its "
                             "toFQDNs works"));
  EXPECT_THAT(web, HasSubstr("            k8s-app: kube-dns\n"
                             "            k8s:io.kubernetes.pod.namespace: kube-system\n"));
  EXPECT_THAT(web, HasSubstr("          rules:\n            dns:\n"
                             "              - matchPattern: \"*\"\n"));
  // db's lookups were seen: the rule to coredns carries the DNS rule, plus 53/TCP.
  std::string db = Flat(run->Text("shop/db/networkpolicy.yaml"));
  EXPECT_THAT(db, HasSubstr("# shop/db -> kube-system/coredns:53/UDP"));
  EXPECT_THAT(db, HasSubstr("widening: 53/TCP added: DNS retries over TCP"));
  EXPECT_THAT(db, HasSubstr("            - port: \"53\"\n              protocol: TCP\n"
                            "            - port: \"53\"\n              protocol: UDP\n"
                            "          rules:\n"));
  EXPECT_THAT(db, Not(HasSubstr("not seen")));
  EXPECT_TRUE(run->proof.ok()) << ProofText(run->proof);
  // The proof lists the added 53/TCP and the DNS rule as declared, never as violations.
  EXPECT_FALSE(run->proof.declared.empty());
}

TEST_F(PeerKinds, DnsVisibilityAlreadyInForceAddsNoDnsRule) {
  b_.Conn(web_, b_.Fqdn("api.stripe.com"), 443);
  policy::PolicySet existing = testutil::Policies(R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: default-deny}
spec:
  endpointSelector: {matchLabels: {k8s:io.kubernetes.pod.namespace: shop}}
  egress: [{}]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: dns-visibility}
spec:
  endpointSelector: {}
  enableDefaultDeny: {egress: false, ingress: false}
  egress:
    - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}}]
      toPorts: [{ports: [{port: "53", protocol: ANY}], rules: {dns: [{matchPattern: "*"}]}}]
)");
  auto run = Go(existing);
  ASSERT_TRUE(run);
  std::string web = Flat(run->Text("shop/web/networkpolicy.yaml"));
  EXPECT_THAT(web, HasSubstr("matchName: api.stripe.com"));
  EXPECT_THAT(web, Not(HasSubstr("dns:")));
  EXPECT_TRUE(run->proof.ok()) << ProofText(run->proof);
}

TEST_F(PeerKinds, AnAddressWithoutANameIsASlash32MarkedLowConfidence) {
  b_.Conn(web_, b_.Ip("203.0.113.7"), 8443);
  b_.Conn(web_, b_.Ip("2001:db8::7"), 8443);
  auto run = Go();
  ASSERT_TRUE(run);
  std::string web = Flat(run->Text("shop/web/networkpolicy.yaml"));
  EXPECT_THAT(web, HasSubstr("low confidence: 203.0.113.7 is known only by its address"));
  EXPECT_THAT(web, HasSubstr("    - toCIDR:\n        - 203.0.113.7/32\n"));
  EXPECT_THAT(web, HasSubstr("    - toCIDR:\n        - \"2001:db8::7/128\"\n"));
  EXPECT_TRUE(run->proof.ok()) << ProofText(run->proof);
}

TEST_F(PeerKinds, FqdnPatternsRespectCiliumsOneLabelStar) {
  for (const char* n : {"eu.api.example.com", "us.api.example.com", "a.b.example.com",
                        "solo.other.net", "example.com", "foo.com"}) {
    b_.Conn(web_, b_.Fqdn(n), 443);
  }
  SuggestOptions o;
  o.fqdn_patterns = true;
  auto run = Go({}, o);
  ASSERT_TRUE(run);
  std::string web = Flat(run->Text("shop/web/networkpolicy.yaml"));
  // eu./us. share "api.example.com": one pattern. a.b.example.com differs in its second label;
  // names of two labels never become `*.com`.
  EXPECT_THAT(web, HasSubstr("        - matchPattern: \"*.api.example.com\"\n"));
  EXPECT_THAT(web, HasSubstr("        - matchName: a.b.example.com\n"));
  EXPECT_THAT(web, HasSubstr("        - matchName: example.com\n"));
  EXPECT_THAT(web, HasSubstr("        - matchName: foo.com\n"));
  EXPECT_THAT(web, HasSubstr("        - matchName: solo.other.net\n"));
  EXPECT_THAT(web, Not(HasSubstr("*.com")));
  EXPECT_THAT(web, Not(HasSubstr("*.example.com\"")));
  EXPECT_THAT(web, HasSubstr("widening: --fqdn-patterns: *.api.example.com (for "
                             "eu.api.example.com, us.api.example.com)"));
  EXPECT_TRUE(run->proof.ok()) << ProofText(run->proof);
  // The proof tried names two labels deep and the bare domain: the pattern denies them; a
  // sibling one label deep is allowed, and declared.
  bool two_deep_checked = false;
  for (const ProofItem& v : run->proof.declared) {
    EXPECT_THAT(v.key.destination.name.str(), Not(HasSubstr("a.b.api.example.com")));
    EXPECT_NE(v.key.destination.name.str(), "api.example.com");
    two_deep_checked |= absl::StrContains(v.key.destination.name.str(), "tierwatch-negative");
  }
  EXPECT_TRUE(two_deep_checked) << ProofText(run->proof);
  // Without the flag: names only.
  auto plain = Go();
  EXPECT_THAT(plain->Text("shop/web/networkpolicy.yaml"), Not(HasSubstr("matchPattern: \"*.")));
  for (const ProofItem& d : plain->proof.declared) {
    // Only the DNS lookups added for toFQDNs remain declared.
    EXPECT_EQ(d.key.destination.kind, flow::PeerKind::kWorkload) << ProofText(plain->proof);
  }
}

// --- Where suggestions go ----------------------------------------------------------------

TEST_F(PeerKinds, Tier0AndHealthAreFixedClusterWideNamingTheCause) {
  b_.Conn(b_.Entity("remote-node"), dns_, 53, Protocol::kUDP);
  b_.Conn(b_.Entity("remote-node"), b_.Entity("health"), 4240);
  b_.Conn(web_, dns_, 53, Protocol::kUDP);
  policy::PolicySet existing = testutil::Policies(R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: allow-metrics-scraping}
spec:
  endpointSelector: {}
  ingress:
    - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: observability}}]
      toPorts: [{ports: [{port: "9090", protocol: TCP}]}]
)");
  auto run = Go(existing);
  ASSERT_TRUE(run);
  // Never an app policy for Tier 0.
  EXPECT_EQ(run->File("kube-system/coredns/networkpolicy.yaml"), nullptr);
  std::string dns = Flat(run->Text("cluster-wide/kube-system-coredns.yaml"));
  EXPECT_THAT(dns, HasSubstr("kind: CiliumClusterwideNetworkPolicy\n"));
  EXPECT_THAT(dns, HasSubstr("kube-system/coredns is Tier 0 and must never be policed, yet "
                             "allow-metrics-scraping puts it into default-deny"));
  EXPECT_THAT(dns, HasSubstr("Correcting allow-metrics-scraping is the better fix"));
  EXPECT_THAT(dns, HasSubstr("      k8s-app: kube-dns\n      k8s:io.kubernetes.pod.namespace: "
                             "kube-system\n"));
  EXPECT_THAT(dns, HasSubstr("    - fromEntities:\n        - remote-node\n"));
  EXPECT_THAT(dns, HasSubstr("    - fromEndpoints:\n        - matchLabels:\n"
                             "            app.kubernetes.io/name: web\n"
                             "            k8s:io.kubernetes.pod.namespace: shop\n"));
  std::string health = Flat(run->Text("cluster-wide/reserved-health.yaml"));
  EXPECT_THAT(health, HasSubstr("      reserved:health: \"\"\n"));
  EXPECT_THAT(health, HasSubstr("(health) is Cilium's own health endpoint"));
  const SuggestedPolicy* p = run->Policy("cluster-wide/kube-system-coredns.yaml");
  ASSERT_NE(p, nullptr);
  EXPECT_THAT(p->caused_by, ElementsAre("allow-metrics-scraping"));
  EXPECT_TRUE(run->proof.ok()) << ProofText(run->proof);
}

TEST_F(PeerKinds, DenyRulesAreUnresolvedAndUnknownLabelsAreDeclaredNotGuessed) {
  auto ghost = flow::Peer::Workload(s_.Intern("shop"), s_.Intern("ghost"));  // no labels
  b_.Conn(web_, db_, 5432);
  b_.Conn(web_, ghost, 80);
  b_.Conn(web_, b_.Fqdn("evil.example.net"), 443);
  policy::PolicySet existing = testutil::Policies(R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: no-evil, namespace: shop}
spec:
  endpointSelector: {}
  egress: [{toEntities: [all]}]
  egressDeny:
    - toCIDR: [0.0.0.0/0]
      toPorts: [{ports: [{port: "443", protocol: TCP}]}]
  ingress: [{}]
)");
  auto run = Go(existing);
  ASSERT_TRUE(run);
  std::vector<std::string> why;
  for (const Unresolved& u : run->set.unresolved) why.push_back(u.key.ToString() + ": " + u.reason);
  EXPECT_THAT(why, ::testing::Contains(
                       HasSubstr("shop/web -> evil.example.net:443/TCP: egress is denied by "
                                 "CiliumNetworkPolicy shop/no-evil spec.egressDeny[0]")));
  // A named workload whose labels are unknown is not guessed either: the rule selects its
  // namespace on the seen port and says so (a declared widening), so it is closed.
  EXPECT_THAT(why, ::testing::Not(::testing::Contains(HasSubstr("shop/ghost"))));
  // Here it is ghost's ingress that is denied: its policy selects namespace shop.
  const SuggestedPolicy* ghost_policy = run->Policy("shop/ghost/networkpolicy.yaml");
  ASSERT_NE(ghost_policy, nullptr);
  EXPECT_EQ(ghost_policy->subject_selector,
            (std::vector<MatchLabel>{{"k8s:io.kubernetes.pod.namespace", "shop"}}));
  EXPECT_THAT(ghost_policy->subject_widening, HasSubstr("the labels of shop/ghost are unknown"));
  // The rest is still suggested, and the closure proof names what stays dropped.
  EXPECT_NE(run->File("shop/db/networkpolicy.yaml"), nullptr);
  EXPECT_FALSE(run->proof.closure_ok());
  EXPECT_EQ(run->proof.still_denied_count, 1u);
}

// --- Labels --------------------------------------------------------------------------------

TEST(LabelChoice, BookinfoReviewsVersionsShareTheirAppLabel) {
  flow::SymbolTable s;
  Builder b(s);
  for (const char* v : {"v1", "v2", "v3"}) {
    b.Workload("bookinfo", absl::StrCat("reviews-", v),
               {"app=reviews", absl::StrCat("version=", v)}, "bookinfo-reviews");
  }
  b.Workload("bookinfo", "ratings-v1", {"app=ratings", "version=v1"}, "bookinfo-ratings");
  b.Workload("bookinfo", "productpage-v1", {"app=productpage", "version=v1"},
             "bookinfo-productpage");
  SelectorChooser chooser(b.baseline());
  auto pick = [&](absl::string_view name) {
    auto c = chooser.Choose(flow::Peer::Workload(s.Intern("bookinfo"), s.Intern(name)));
    EXPECT_TRUE(c.has_value()) << name;
    std::vector<std::string> out;
    for (const MatchLabel& m : c->labels) out.push_back(m.key + "=" + m.value);
    EXPECT_TRUE(c->unique) << name;
    return out;
  };
  EXPECT_THAT(pick("reviews-v2"), ElementsAre("app=reviews", "version=v2"));
  EXPECT_THAT(pick("ratings-v1"), ElementsAre("app=ratings"));
  EXPECT_THAT(pick("productpage-v1"), ElementsAre("app=productpage"));
}

TEST(LabelChoice, PreferenceOrderServiceAccountFallbackAndNonUnique) {
  flow::SymbolTable s;
  Builder b(s);
  b.Workload("ns", "api", {"app.kubernetes.io/name=api", "app=legacy", "pod-template-hash=abc"});
  // Two workloads Endpoint.workloads tells apart but no stable label does, except the SA.
  b.Workload("ns", "worker-a", {"app=worker", "tier=backend"}, "worker-a");
  b.Workload("ns", "worker-b", {"app=worker", "tier=backend"}, "worker-b");
  // Two that nothing tells apart.
  b.Workload("ns", "twin-1", {"app=twin"}, "twin");
  b.Workload("ns", "twin-2", {"app=twin"}, "twin");
  b.Workload("ns", "bare", {"tier=frontend"}, "bare");
  SelectorChooser chooser(b.baseline());
  auto choose = [&](absl::string_view name) {
    return chooser.Choose(flow::Peer::Workload(s.Intern("ns"), s.Intern(name)));
  };
  auto api = choose("api");
  ASSERT_TRUE(api);
  EXPECT_EQ(api->labels, (std::vector<MatchLabel>{{"app.kubernetes.io/name", "api"}}));
  auto wa = choose("worker-a");
  ASSERT_TRUE(wa);
  EXPECT_EQ(wa->labels,
            (std::vector<MatchLabel>{{"io.cilium.k8s.policy.serviceaccount", "worker-a"}}));
  auto twin = choose("twin-1");
  ASSERT_TRUE(twin);
  EXPECT_FALSE(twin->unique);
  ASSERT_EQ(twin->also_selects.size(), 1u);
  EXPECT_EQ(twin->also_selects[0].name.view(), "twin-2");
  // Only the service account is stable here: it is the selector.
  auto bare = choose("bare");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->labels,
            (std::vector<MatchLabel>{{"io.cilium.k8s.policy.serviceaccount", "bare"}}));
  // Unknown labels of a named workload: its namespace, declared as such, and why.
  std::string why;
  auto ghost = chooser.Choose(flow::Peer::Workload(s.Intern("ns"), s.Intern("ghost")), &why);
  ASSERT_TRUE(ghost);
  EXPECT_TRUE(ghost->labels_unknown);
  EXPECT_FALSE(ghost->unique);
  EXPECT_THAT(ghost->labels, IsEmpty());
  EXPECT_THAT(why, HasSubstr("are unknown"));
  // Nothing known at all (no namespace): no choice.
  EXPECT_FALSE(chooser.Choose(flow::Peer::Workload(s.Intern(""), s.Intern("ghost")), &why));
}

TEST(LabelChoice, ANonUniqueSelectorIsWrittenAsAWidening) {
  flow::SymbolTable s;
  Builder b(s);
  auto t1 = b.Workload("ns", "twin-1", {"app=twin"}, "twin");
  b.Workload("ns", "twin-2", {"app=twin"}, "twin");
  auto db = b.Workload("ns", "db", {"app=db"});
  b.Conn(t1, db, 5432);
  tier::TierModel tiers;
  auto run = testutil::SuggestAndProve(b.baseline(), {}, tiers);
  ASSERT_TRUE(run);
  EXPECT_THAT(Flat(run->Text("ns/twin-1/networkpolicy.yaml")),
              HasSubstr("(widening: no stable label tells ns/twin-1 apart from ns/twin-2"));
  EXPECT_THAT(Flat(run->Text("ns/db/networkpolicy.yaml")),
              HasSubstr("widening: no stable label tells ns/twin-1 apart from ns/twin-2"));
  EXPECT_TRUE(run->proof.ok()) << ProofText(run->proof);
  EXPECT_FALSE(run->proof.declared.empty()) << ProofText(run->proof);
}

// --- Determinism and files -------------------------------------------------------------------

TEST(Determinism, SameInputSameBytesWhateverTheOrder) {
  auto build = [](flow::SymbolTable& s, bool reversed) {
    Builder b(s);
    std::vector<std::function<void()>> steps;
    auto web = b.Workload("shop", "web", {"app=web"});
    auto db = b.Workload("shop", "db", {"app=db"});
    auto api = b.Workload("api", "gw", {"app=gw"});
    steps.push_back([&b, web, db] { b.Conn(web, db, 5432); });
    steps.push_back([&b, web, api] { b.Conn(web, api, 8080); });
    steps.push_back([&b, web] { b.Conn(web, b.Fqdn("x.example.com"), 443); });
    steps.push_back([&b, api, db] { b.Conn(api, db, 5432); });
    steps.push_back([&b, web] { b.Conn(b.Entity("world"), web, 443); });
    if (reversed) std::reverse(steps.begin(), steps.end());
    for (auto& f : steps) f();
    return std::move(b.baseline());
  };
  flow::SymbolTable s1, s2;
  baseline::Baseline a = build(s1, false), b = build(s2, true);
  tier::TierModel tiers;
  auto ra = testutil::SuggestAndProve(a, {}, tiers);
  auto rb = testutil::SuggestAndProve(b, {}, tiers);
  ASSERT_TRUE(ra && rb);
  ASSERT_EQ(ra->files.size(), rb->files.size());
  for (size_t i = 0; i < ra->files.size(); ++i) {
    EXPECT_EQ(ra->files[i].path, rb->files[i].path);
    // Evidence times differ with insertion order here (rule comments); the rules must not.
    auto strip = [](const std::string& t) {
      std::string out;
      for (absl::string_view l : absl::StrSplit(t, '\n')) {
        if (!absl::StartsWith(l, "    #")) absl::StrAppend(&out, l, "\n");
      }
      return out;
    };
    EXPECT_EQ(strip(ra->files[i].content), strip(rb->files[i].content)) << ra->files[i].path;
  }
  // And the very same input twice gives the very same bytes.
  auto again = testutil::SuggestAndProve(a, {}, tiers);
  EXPECT_TRUE(again->files == ra->files);
}

class Files : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        (std::filesystem::temp_directory_path() / absl::StrCat("tw-suggest-", ::getpid())).string();
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(Files, RerunChangesNothingAndForeignFilesAreNeverReplaced) {
  std::vector<OutputFile> files = {
      {"shop/web/networkpolicy.yaml", std::string(kFileMarker) + ": web\nkind: X\n"},
      {"shop/kustomization.yaml", std::string(kFileMarker) + ": k\n"}};
  auto first = WriteFiles(dir_, files);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->written.size(), 2u);
  auto second = WriteFiles(dir_, files);
  ASSERT_TRUE(second.ok());
  EXPECT_THAT(second->written, IsEmpty());
  EXPECT_EQ(second->unchanged.size(), 2u);
  // An earlier run's file that is no longer suggested is listed, not deleted.
  auto fewer = WriteFiles(dir_, {files[1]});
  ASSERT_TRUE(fewer.ok());
  EXPECT_THAT(fewer->stale, ElementsAre("shop/web/networkpolicy.yaml"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/shop/web/networkpolicy.yaml"));
  // A file someone else wrote is never replaced, and nothing is written then.
  { std::ofstream(dir_ + "/shop/kustomization.yaml") << "resources: [mine.yaml]\n"; }
  files[0].content += "# changed\n";
  auto refused = WriteFiles(dir_, files);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("shop/kustomization.yaml: tierwatch suggest did not write it"));
  std::ifstream in(dir_ + "/shop/web/networkpolicy.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, Not(HasSubstr("# changed")));
}

TEST(Bundle, RoundTripsTheFiles) {
  // Suggestion files are single documents (never a "---" of their own).
  std::vector<OutputFile> files = {{"a/kustomization.yaml", "# k\nresources: []\n"},
                                   {"a/w/networkpolicy.yaml", "# p\nkind: Y\n"},
                                   {"cluster-wide/x.yaml", "kind: X\n"}};
  auto back = SplitBundle(Bundle(files));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == files);
  EXPECT_FALSE(SplitBundle("x\n---\nkind: no-file-line\n").ok());
  EXPECT_FALSE(SplitBundle("---\n# file: ../etc/passwd\n").ok());
}

}  // namespace
}  // namespace tw::suggest
