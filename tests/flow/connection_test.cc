// Connection keys, reply inference and the DNS name cache, from hand-built flows.
#include "flow/connection.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"

namespace tw::flow {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'780'000'000);

class ConnectionTest : public ::testing::Test {
 protected:
  Endpoint Pod(absl::string_view ns, std::vector<std::string> labels,
               absl::string_view workload = "", absl::string_view pod = "") {
    Endpoint ep;
    ep.identity = 12345;
    ep.namespace_ = symbols_.Intern(ns);
    ep.pod_name = symbols_.Intern(pod);
    for (const auto& l : labels) ep.labels.push_back(symbols_.Intern(l));
    if (!workload.empty()) {
      ep.workloads.push_back(Workload{symbols_.Intern(workload), symbols_.Intern("Deployment")});
    }
    ep.reserved = ComputeReserved(ep);
    return ep;
  }
  Endpoint Reserved(uint32_t identity, absl::string_view label) {
    Endpoint ep;
    ep.identity = identity;
    ep.labels.push_back(symbols_.Intern(label));
    ep.reserved = ComputeReserved(ep);
    return ep;
  }
  Endpoint World() { return Reserved(2, "reserved:world"); }

  Flow Tcp(Endpoint src, Endpoint dst, uint16_t sport, uint16_t dport, uint16_t flags) {
    Flow f;
    f.time = kT0;
    f.verdict = Verdict::kForwarded;
    f.source = std::move(src);
    f.destination = std::move(dst);
    f.source_ip = "10.0.1.10";
    f.destination_ip = "10.0.2.20";
    f.l4.protocol = Protocol::kTCP;
    f.l4.source_port = sport;
    f.l4.destination_port = dport;
    f.l4.tcp_flags = flags;
    f.type = FlowType::kL3L4;
    return f;
  }
  Flow Udp(Endpoint src, Endpoint dst, uint16_t sport, uint16_t dport) {
    Flow f = Tcp(std::move(src), std::move(dst), sport, dport, 0);
    f.l4.protocol = Protocol::kUDP;
    return f;
  }
  Flow Icmp(Endpoint src, Endpoint dst, Protocol p, uint8_t type) {
    Flow f = Tcp(std::move(src), std::move(dst), 0, 0, 0);
    f.l4 = L4{};
    f.l4.protocol = p;
    f.l4.icmp_type = type;
    return f;
  }
  Flow DnsAnswer(absl::string_view query, std::vector<std::string> ips, uint32_t ttl,
                 absl::Time at) {
    Flow f = Udp(Coredns(), Odoo(), 53, 40000);
    f.time = at;
    f.type = FlowType::kL7;
    f.event_type = kEventL7;
    f.is_reply = true;
    L7 l7;
    l7.type = L7Type::kResponse;
    Dns dns;
    dns.query = std::string(query);
    dns.ips = std::move(ips);
    dns.ttl = ttl;
    l7.dns = dns;
    f.l7 = l7;
    return f;
  }

  Endpoint Odoo() {
    return Pod("business", {"k8s:app.kubernetes.io/name=odoo", "k8s:pod-template-hash=7d9f8c6b5"},
               "", "odoo-7d9f8c6b5-x2x9q");
  }
  Endpoint Postgres() {
    return Pod("business",
               {"k8s:app=postgres", "k8s:statefulset.kubernetes.io/pod-name=postgres-0"},
               "postgres", "postgres-0");
  }
  Endpoint Coredns() {
    return Pod("kube-system", {"k8s:k8s-app=kube-dns"}, "coredns", "coredns-5d78c9869d-abcde");
  }
  Endpoint CertManager() {
    return Pod("cert-manager", {"k8s:app.kubernetes.io/name=cert-manager"}, "cert-manager");
  }

  std::string KeyString(const Flow& f, const DnsNameCache* dns = nullptr,
                        const ServerPortIndex* servers = nullptr,
                        ReplyHandling h = ReplyHandling::kSkip) {
    auto key = ConnectionKeyOf(f, symbols_, dns, servers, h);
    return key ? key->ToString() : "(none)";
  }

  SymbolTable symbols_;
};

// --- Keys ---------------------------------------------------------------------------

TEST_F(ConnectionTest, WorkloadFromWorkloadsThenLabelsNeverPodTemplateHash) {
  // Odoo has no Endpoint.workloads: the app.kubernetes.io/name label names it, not the
  // pod-template-hash nor the pod name. Postgres has workloads: that wins over labels.
  Flow f = Tcp(Odoo(), Postgres(), 45000, 5432, kSYN);
  auto key = ConnectionKeyOf(f, symbols_, nullptr, nullptr);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->ToString(), "business/odoo -> business/postgres:5432/TCP");
  EXPECT_EQ(key->source.kind, PeerKind::kWorkload);
  EXPECT_EQ(key->source.namespace_name(), "business");
  EXPECT_EQ(key->source.workload(), "odoo");
  EXPECT_EQ(key->destination.workload(), "postgres");
  EXPECT_FALSE(key->destination.by_ip_only);
  EXPECT_EQ(key->protocol, Protocol::kTCP);
  EXPECT_EQ(key->port, 5432);
}

TEST_F(ConnectionTest, NamespaceFromPodNamespaceLabelWhenTheFieldIsEmpty) {
  // Cilium 1.10 leaves namespace empty for endpoints on other nodes but keeps the labels.
  Endpoint remote = Pod("", {"k8s:app=productpage", "k8s:io.kubernetes.pod.namespace=bookinfo"});
  Flow f = Tcp(remote, Postgres(), 59376, 9080, kSYN);
  EXPECT_EQ(EndpointNamespace(remote), "bookinfo");
  EXPECT_EQ(KeyString(f), "bookinfo/productpage -> business/postgres:9080/TCP");
}

TEST_F(ConnectionTest, WorkloadWithNothingStableIsUnnamed) {
  // No pod name, no app label, the service account "default": nothing names it.
  Endpoint ep = Pod("business", {"k8s:io.cilium.k8s.policy.serviceaccount=default"});
  Flow f = Tcp(ep, Postgres(), 45000, 5432, kSYN);
  EXPECT_EQ(KeyString(f), "business/(unnamed) -> business/postgres:5432/TCP");
}

// One pod, one name, wherever it is seen: from the pod name without its controller's
// suffix, which every node reports alike, not from Endpoint.workloads, which only the
// pod's own node fills in.
TEST_F(ConnectionTest, WorkloadNameIsThePodNameWithoutItsGeneratedSuffix) {
  // The labels make the cut exact.
  EXPECT_EQ(Pod("b", {"k8s:pod-template-hash=abc123"}, "", "mystery-abc123-zzzzz").WorkloadName(),
            "mystery");
  EXPECT_EQ(Pod("b", {"k8s:statefulset.kubernetes.io/pod-name=pg-12"}, "", "pg-12").WorkloadName(),
            "pg");
  // Without labels (a peer reported with the world identity), the shapes decide.
  EXPECT_EQ(StripPodSuffix("coredns-5d78c9869d-x2x9z"), "coredns");
  EXPECT_EQ(StripPodSuffix("node-local-dns-cw6pv"), "node-local-dns");
  EXPECT_EQ(StripPodSuffix("postgres-0"), "postgres");
  EXPECT_EQ(StripPodSuffix("etcd-talos-cp"), "etcd-talos-cp");
  EXPECT_EQ(StripPodSuffix("debug"), "debug");
  // After a ReplicaSet hash, any five lower-case characters end the pod name.
  EXPECT_EQ(StripPodSuffix("odoo-5d8f7c9b6-abcde"), "odoo");
  EXPECT_EQ(StripPodSuffix("service-worker-queue"), "service-worker-queue");
  EXPECT_EQ(StripPodSuffix("my-cache"), "my-cache");

  // CoreDNS from its own node (workloads filled) and from another (only labels, whose
  // k8s-app says kube-dns): the same name.
  Endpoint own = Pod("kube-system", {"k8s:k8s-app=kube-dns", "k8s:pod-template-hash=5d78c9869d"},
                     "coredns", "coredns-5d78c9869d-x2x9z");
  Endpoint remote = Pod("kube-system", {"k8s:k8s-app=kube-dns", "k8s:pod-template-hash=5d78c9869d"},
                        "", "coredns-5d78c9869d-x2x9z");
  EXPECT_EQ(own.WorkloadName(), "coredns");
  EXPECT_EQ(remote.WorkloadName(), "coredns");
  // A pod whose name starts with its app label takes the label: reports carrying only the
  // labels (no pod name) then name it alike.
  EXPECT_EQ(Pod("bookinfo", {"k8s:app=reviews"}, "", "reviews-v1-545db77b95-s6jb8").WorkloadName(),
            "reviews");
  // Cilium 1.10 L7 flows report the peer with the world identity and only its pod name:
  // the same name as its L3/L4 flows (labels and pod name) and its label-only reports.
  Endpoint l4 = Pod("bookinfo", {"k8s:app=details", "k8s:pod-template-hash=79f774bdb9"}, "",
                    "details-v1-79f774bdb9-m4j4k");
  Endpoint l7 = Pod("bookinfo", {"reserved:world"}, "", "details-v1-79f774bdb9-m4j4k");
  Endpoint labels_only = Pod("bookinfo", {"k8s:app=details", "k8s:version=v1"});
  EXPECT_EQ(l4.WorkloadName(), "details");
  EXPECT_EQ(l7.WorkloadName(), "details");
  EXPECT_EQ(labels_only.WorkloadName(), "details");
  EXPECT_EQ(Pod("kube-system", {"reserved:world"}, "", "kube-dns-b4f5c58c7-7qmtw").WorkloadName(),
            "kube-dns");
  EXPECT_EQ(StripVersionSuffix("reviews-v12"), "reviews");
  EXPECT_EQ(StripVersionSuffix("api-v"), "api-v");
  EXPECT_EQ(StripVersionSuffix("kv-store"), "kv-store");
  EXPECT_EQ(Pod("bookinfo", {"k8s:app=reviews"}).WorkloadName(), "reviews");
  // The pod name comes before the service account; "default" never names a workload.
  EXPECT_EQ(Pod("ns", {"k8s:io.cilium.k8s.policy.serviceaccount=default"}, "", "debug-shell-7c4b9")
                .WorkloadName(),
            "debug-shell");
  EXPECT_EQ(Pod("ns", {"k8s:io.cilium.k8s.policy.serviceaccount=runner"}).WorkloadName(), "runner");
}

// Cilium 1.10 L7 flows report the peer with the world identity but keep its namespace and
// pod name: the pod, not its IP, is the peer.
TEST_F(ConnectionTest, NamedPodReportedAsWorldIsKeyedByWorkloadNotIp) {
  Endpoint peer = Reserved(2, "reserved:world");
  peer.namespace_ = symbols_.Intern("kube-system");
  peer.pod_name = symbols_.Intern("node-local-dns-cw6pv");
  Flow f = Tcp(Odoo(), peer, 44964, 9253, kSYN);
  f.destination_ip = "10.156.3.7";
  EXPECT_EQ(KeyString(f), "business/odoo -> kube-system/node-local-dns:9253/TCP");
  // An unnamed world peer is still known by its address (or DNS name).
  Flow g = Tcp(Odoo(), World(), 44964, 443, kSYN);
  g.destination_ip = "203.0.113.7";
  EXPECT_EQ(KeyString(g), "business/odoo -> 203.0.113.7:443/TCP");
}

TEST_F(ConnectionTest, ReservedEntitiesAreTheirOwnKind) {
  Flow from_world = Tcp(World(), Odoo(), 51000, 8069, kSYN);
  EXPECT_EQ(KeyString(from_world), "(world) -> business/odoo:8069/TCP");

  Flow to_host = Tcp(Odoo(), Reserved(1, "reserved:host"), 45000, 10250, kSYN);
  auto key = ConnectionKeyOf(to_host, symbols_, nullptr, nullptr);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->destination.kind, PeerKind::kEntity);
  EXPECT_EQ(key->destination.entity(), "host");
  EXPECT_EQ(key->ToString(), "business/odoo -> (host):10250/TCP");

  // Identity 7 carries kube-apiserver and remote-node: it reads as kube-apiserver.
  Endpoint apiserver;
  apiserver.identity = 7;
  apiserver.reserved = ComputeReserved(apiserver);
  Flow to_api = Tcp(CertManager(), apiserver, 45000, 6443, kSYN);
  EXPECT_EQ(KeyString(to_api), "cert-manager/cert-manager -> (kube-apiserver):6443/TCP");

  Flow from_health = Icmp(Reserved(4, "reserved:health"), Odoo(), Protocol::kICMPv4, 8);
  EXPECT_EQ(KeyString(from_health), "(health) -> business/odoo:8/ICMPv4");
}

TEST_F(ConnectionTest, WorldDestinationByFqdnFromDestinationNames) {
  Flow f = Tcp(CertManager(), World(), 45000, 443, kSYN);
  f.destination_ip = "172.65.32.248";
  f.destination_names = {symbols_.Intern("Acme-V02.API.letsencrypt.org.")};
  auto key = ConnectionKeyOf(f, symbols_, nullptr, nullptr);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->destination.kind, PeerKind::kFqdn);
  EXPECT_EQ(key->destination.fqdn(), "acme-v02.api.letsencrypt.org");
  EXPECT_FALSE(key->destination.by_ip_only);
  EXPECT_EQ(key->ToString(), "cert-manager/cert-manager -> acme-v02.api.letsencrypt.org:443/TCP");
}

TEST_F(ConnectionTest, WorldDestinationByIpOnlyWithoutDnsKnowledge) {
  Flow f = Tcp(CertManager(), World(), 45000, 443, kSYN);
  f.destination_ip = "172.65.32.248";
  auto key = ConnectionKeyOf(f, symbols_, nullptr, nullptr);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->destination.kind, PeerKind::kIp);
  EXPECT_TRUE(key->destination.by_ip_only);
  EXPECT_EQ(key->destination.ip(), "172.65.32.248");
  EXPECT_EQ(key->ToString(), "cert-manager/cert-manager -> 172.65.32.248:443/TCP");

  f.destination_ip = "2001:db8::7";
  EXPECT_EQ(KeyString(f), "cert-manager/cert-manager -> [2001:db8::7]:443/TCP");
}

TEST_F(ConnectionTest, WorldDestinationByDnsCacheHitMissAndTtlExpiry) {
  DnsNameCacheOptions opts;
  opts.min_ttl = absl::ZeroDuration();  // honour the answer's TTL exactly
  DnsNameCache dns(symbols_, opts);
  ASSERT_TRUE(dns.Observe(DnsAnswer("acme-v02.api.letsencrypt.org.", {"172.65.32.248"}, 300, kT0)));
  EXPECT_EQ(dns.size(), 1u);

  Flow f = Tcp(CertManager(), World(), 45000, 443, kSYN);
  f.destination_ip = "172.65.32.248";
  f.time = kT0 + absl::Seconds(10);
  EXPECT_EQ(KeyString(f, &dns),
            "cert-manager/cert-manager -> acme-v02.api.letsencrypt.org:443/TCP");

  // Miss: an address nobody resolved.
  Flow other = f;
  other.destination_ip = "198.51.100.9";
  auto miss = ConnectionKeyOf(other, symbols_, &dns, nullptr);
  ASSERT_TRUE(miss);
  EXPECT_TRUE(miss->destination.by_ip_only);
  EXPECT_EQ(miss->destination.ip(), "198.51.100.9");

  // Expired: 300 s after the answer (flow time, not wall time) the name is forgotten.
  Flow late = f;
  late.time = kT0 + absl::Seconds(300);
  auto expired = ConnectionKeyOf(late, symbols_, &dns, nullptr);
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->destination.kind, PeerKind::kIp);
  EXPECT_TRUE(expired->destination.by_ip_only);

  // A fresh answer brings it back.
  dns.Observe(DnsAnswer("acme-v02.api.letsencrypt.org.", {"172.65.32.248"}, 300, late.time));
  EXPECT_EQ(ConnectionKeyOf(late, symbols_, &dns, nullptr)->destination.fqdn(),
            "acme-v02.api.letsencrypt.org");

  // destination_names on the flow win over the cache.
  Flow named = f;
  named.destination_names = {symbols_.Intern("other.example.")};
  EXPECT_EQ(ConnectionKeyOf(named, symbols_, &dns, nullptr)->destination.fqdn(), "other.example");
}

TEST_F(ConnectionTest, DnsCacheMinTtlAndChoiceAmongNames) {
  DnsNameCache dns(symbols_);  // default min_ttl 10 minutes
  dns.Add("a.example.", {"203.0.113.5"}, 0, kT0);
  EXPECT_EQ(dns.Lookup("203.0.113.5", kT0 + absl::Minutes(9))->view(), "a.example");
  EXPECT_FALSE(dns.Lookup("203.0.113.5", kT0 + absl::Minutes(10)).has_value());

  // Two names for one address: the most recently answered wins; ties alphabetical.
  dns.Add("z.example", {"203.0.113.6"}, 60, kT0);
  dns.Add("b.example", {"203.0.113.6"}, 60, kT0);
  EXPECT_EQ(dns.Lookup("203.0.113.6", kT0)->view(), "b.example");
  dns.Add("z.example", {"203.0.113.6"}, 60, kT0 + absl::Seconds(1));
  EXPECT_EQ(dns.Lookup("203.0.113.6", kT0 + absl::Seconds(1))->view(), "z.example");
  std::vector<Symbol> all = dns.LookupAll("203.0.113.6", kT0 + absl::Seconds(1));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].view(), "b.example");
  EXPECT_EQ(all[1].view(), "z.example");
}

TEST_F(ConnectionTest, DnsCacheIgnoresRequestsAndFailedAnswers) {
  DnsNameCache dns(symbols_);
  Flow request = DnsAnswer("x.example.", {}, 0, kT0);
  request.l7->type = L7Type::kRequest;
  EXPECT_FALSE(dns.Observe(request));
  Flow nxdomain = DnsAnswer("x.example.", {"192.0.2.1"}, 30, kT0);
  nxdomain.l7->dns->rcode = 3;
  EXPECT_FALSE(dns.Observe(nxdomain));
  EXPECT_FALSE(dns.Observe(Tcp(Odoo(), Postgres(), 1, 2, 0)));
  EXPECT_EQ(dns.size(), 0u);
}

TEST_F(ConnectionTest, DnsCacheIsBounded) {
  DnsNameCacheOptions opts;
  opts.max_ips = 100;
  DnsNameCache dns(symbols_, opts);
  for (int i = 0; i < 1000; ++i) {
    dns.Add("n" + std::to_string(i) + ".example",
            {"10.9." + std::to_string(i / 250) + "." + std::to_string(i % 250)}, 60,
            kT0 + absl::Seconds(i));
    EXPECT_LE(dns.size(), 100u);
  }
  EXPECT_GT(dns.evictions(), 0u);
  // The newest answers survive eviction (it removes those expiring first).
  EXPECT_EQ(dns.Lookup("10.9.3.249", kT0 + absl::Seconds(999))->view(), "n999.example");
  EXPECT_FALSE(dns.Lookup("10.9.0.0", kT0 + absl::Seconds(999)).has_value());
}

TEST_F(ConnectionTest, KeysAreHashableOrderedAndComparable) {
  Flow a = Tcp(Odoo(), Postgres(), 45000, 5432, kSYN);
  Flow b = Tcp(Odoo(), Postgres(), 45001, 5432, kSYN);  // another source port, same connection
  Flow c = Tcp(Odoo(), Coredns(), 45002, 53, kSYN);
  auto ka = *ConnectionKeyOf(a, symbols_, nullptr, nullptr);
  auto kb = *ConnectionKeyOf(b, symbols_, nullptr, nullptr);
  auto kc = *ConnectionKeyOf(c, symbols_, nullptr, nullptr);
  EXPECT_EQ(ka, kb);
  EXPECT_NE(ka, kc);
  absl::flat_hash_set<ConnectionKey> set = {ka, kb, kc};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.contains(kb));
  std::vector<ConnectionKey> v = {ka, kc};
  std::sort(v.begin(), v.end());
  // Same source: ordered by destination, "business/postgres" < "kube-system/coredns".
  EXPECT_EQ(v[0], ka);
  EXPECT_TRUE(ka < kc);
  EXPECT_FALSE(kc < ka);
  EXPECT_FALSE(ka < kb);
  // Keys built from another SymbolTable still compare by content.
  SymbolTable other;
  ConnectionKey copy = ka;
  copy.source.namespace_ = other.Intern("business");
  EXPECT_EQ(copy, ka);
  EXPECT_EQ(absl::Hash<ConnectionKey>{}(copy), absl::Hash<ConnectionKey>{}(ka));
}

TEST_F(ConnectionTest, NoKeyWithoutPortsOrProtocol) {
  Flow f = Tcp(Odoo(), Postgres(), 45000, 0, kSYN);
  EXPECT_FALSE(ConnectionKeyOf(f, symbols_, nullptr, nullptr).has_value());
  f.l4 = L4{};
  EXPECT_FALSE(ConnectionKeyOf(f, symbols_, nullptr, nullptr).has_value());
}

// --- Reply inference -----------------------------------------------------------------

struct ReplyCase {
  const char* name;
  Protocol protocol;
  uint16_t sport;
  uint16_t dport;
  uint16_t flags;
  uint8_t icmp_type;
  std::optional<bool> is_reply;
  int32_t event_type;  // 0 = a trace event (kEventTrace)
  bool with_servers;   // postgres:5432 and odoo:8069 known as servers
  ReplyState want;
  ReplyBasis basis;
};

TEST_F(ConnectionTest, ReplyInferenceTable) {
  const ReplyCase cases[] = {
      {"syn", Protocol::kTCP, 45000, 5432, kSYN, 0, std::nullopt, 0, false, ReplyState::kOriginal,
       ReplyBasis::kTcpFlags},
      {"syn-ack", Protocol::kTCP, 5432, 45000, kSYN | kACK, 0, std::nullopt, 0, false,
       ReplyState::kReply, ReplyBasis::kTcpFlags},
      {"syn-ack even between low ports", Protocol::kTCP, 5432, 8069, kSYN | kACK, 0, std::nullopt,
       0, false, ReplyState::kReply, ReplyBasis::kTcpFlags},
      {"ack from server port to ephemeral", Protocol::kTCP, 5432, 45000, kACK, 0, std::nullopt, 0,
       false, ReplyState::kReply, ReplyBasis::kEphemeralPort},
      {"ack from ephemeral to server port", Protocol::kTCP, 45000, 5432, kACK | kPSH, 0,
       std::nullopt, 0, false, ReplyState::kOriginal, ReplyBasis::kEphemeralPort},
      {"ack between low ports, nothing known", Protocol::kTCP, 5432, 8069, kACK, 0, std::nullopt, 0,
       false, ReplyState::kUnknown, ReplyBasis::kNone},
      {"ack from a known server port", Protocol::kTCP, 5432, 8070, kACK, 0, std::nullopt, 0, true,
       ReplyState::kReply, ReplyBasis::kKnownServerPort},
      {"ack to a known server port", Protocol::kTCP, 8070, 5432, kACK, 0, std::nullopt, 0, true,
       ReplyState::kOriginal, ReplyBasis::kKnownServerPort},
      {"known server port beats the heuristic", Protocol::kTCP, 40000, 5432, kACK, 0, std::nullopt,
       0, true, ReplyState::kOriginal, ReplyBasis::kKnownServerPort},
      {"udp from 53 to ephemeral", Protocol::kUDP, 53, 40000, 0, 0, std::nullopt, 0, false,
       ReplyState::kReply, ReplyBasis::kEphemeralPort},
      {"udp to 53", Protocol::kUDP, 40000, 53, 0, 0, std::nullopt, 0, false, ReplyState::kOriginal,
       ReplyBasis::kEphemeralPort},
      {"icmpv4 echo request", Protocol::kICMPv4, 0, 0, 0, 8, std::nullopt, 0, false,
       ReplyState::kOriginal, ReplyBasis::kIcmpType},
      {"icmpv4 echo reply", Protocol::kICMPv4, 0, 0, 0, 0, std::nullopt, 0, false,
       ReplyState::kReply, ReplyBasis::kIcmpType},
      {"icmpv4 unreachable", Protocol::kICMPv4, 0, 0, 0, 3, std::nullopt, 0, false,
       ReplyState::kReply, ReplyBasis::kIcmpType},
      {"icmpv6 echo reply", Protocol::kICMPv6, 0, 0, 0, 129, std::nullopt, 0, false,
       ReplyState::kReply, ReplyBasis::kIcmpType},
      {"icmpv6 echo request", Protocol::kICMPv6, 0, 0, 0, 128, std::nullopt, 0, false,
       ReplyState::kOriginal, ReplyBasis::kIcmpType},
      {"is_reply true wins over flags", Protocol::kTCP, 45000, 5432, kSYN, 0, true, 0, false,
       ReplyState::kReply, ReplyBasis::kIsReplyField},
      {"is_reply false wins over ports", Protocol::kTCP, 5432, 45000, kACK, 0, false, 0, false,
       ReplyState::kOriginal, ReplyBasis::kIsReplyField},
      {"is_reply false on a policy verdict is Hubble's static guess", Protocol::kTCP, 5432, 45000,
       kACK, 0, false, kEventPolicyVerdict, false, ReplyState::kReply, ReplyBasis::kEphemeralPort},
      {"is_reply false on a drop is not knowledge either", Protocol::kTCP, 5432, 45000, kACK, 0,
       false, kEventDrop, false, ReplyState::kReply, ReplyBasis::kEphemeralPort},
      {"is_reply true on a policy verdict still counts", Protocol::kTCP, 45000, 5432, kACK, 0, true,
       kEventPolicyVerdict, false, ReplyState::kReply, ReplyBasis::kIsReplyField},
  };
  ServerPortIndex servers;
  servers.Add(
      *ConnectionKeyOf(Tcp(Odoo(), Postgres(), 45000, 5432, kSYN), symbols_, nullptr, nullptr));
  servers.Add(
      *ConnectionKeyOf(Tcp(World(), Odoo(), 45000, 8069, kSYN), symbols_, nullptr, nullptr));
  EXPECT_EQ(servers.size(), 2u);
  for (const ReplyCase& c : cases) {
    SCOPED_TRACE(c.name);
    // The flow goes postgres -> odoo when the source port is 5432, else odoo -> postgres.
    bool from_pg = c.sport == 5432;
    Flow f = Tcp(from_pg ? Postgres() : Odoo(), from_pg ? Odoo() : Postgres(), c.sport, c.dport,
                 c.flags);
    f.l4.protocol = c.protocol;
    f.l4.icmp_type = c.icmp_type;
    f.is_reply = c.is_reply;
    f.event_type = c.event_type == 0 ? kEventTrace : c.event_type;
    ReplyInfo info = InferReply(f, c.with_servers ? &servers : nullptr);
    EXPECT_EQ(ReplyStateName(info.state), ReplyStateName(c.want));
    EXPECT_EQ(ReplyBasisName(info.basis), ReplyBasisName(c.basis));
    EXPECT_EQ(IsReply(f, c.with_servers ? &servers : nullptr), c.want);
  }
}

TEST_F(ConnectionTest, RepliesAreSkippedOrOrientedToTheirOriginal) {
  Flow syn_ack = Tcp(Postgres(), Odoo(), 5432, 45000, kSYN | kACK);
  EXPECT_EQ(KeyString(syn_ack), "(none)");
  EXPECT_EQ(KeyString(syn_ack, nullptr, nullptr, ReplyHandling::kOrient),
            "business/odoo -> business/postgres:5432/TCP");

  Flow echo_reply = Icmp(Odoo(), Reserved(4, "reserved:health"), Protocol::kICMPv4, 0);
  EXPECT_EQ(KeyString(echo_reply, nullptr, nullptr, ReplyHandling::kOrient),
            "(health) -> business/odoo:8/ICMPv4");
  Flow unreachable = Icmp(Odoo(), Postgres(), Protocol::kICMPv4, 3);
  EXPECT_EQ(KeyString(unreachable, nullptr, nullptr, ReplyHandling::kOrient), "(none)");

  // A reply from the world: the world side becomes the destination, named by its source
  // names.
  Flow from_acme = Tcp(World(), CertManager(), 443, 45000, kACK);
  from_acme.source_ip = "172.65.32.248";
  from_acme.source_names = {symbols_.Intern("acme-v02.api.letsencrypt.org.")};
  ReplyInfo info;
  auto key = ConnectionKeyOf(from_acme, symbols_, nullptr, nullptr, ReplyHandling::kOrient, &info);
  EXPECT_EQ(info.state, ReplyState::kReply);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->ToString(), "cert-manager/cert-manager -> acme-v02.api.letsencrypt.org:443/TCP");

  // The unknown state counts as original.
  Flow ambiguous = Tcp(Odoo(), Postgres(), 8069, 5432, kACK);
  EXPECT_EQ(KeyString(ambiguous), "business/odoo -> business/postgres:5432/TCP");
}

TEST_F(ConnectionTest, KeyAsSeenAndReversedIgnoreReplyState) {
  Flow ack = Tcp(Postgres(), Odoo(), 5432, 45000, kACK);
  EXPECT_EQ(KeyAsSeen(ack, symbols_, nullptr)->ToString(),
            "business/postgres -> business/odoo:45000/TCP");
  EXPECT_EQ(KeyReversed(ack, symbols_, nullptr)->ToString(),
            "business/odoo -> business/postgres:5432/TCP");
}

}  // namespace
}  // namespace tw::flow
