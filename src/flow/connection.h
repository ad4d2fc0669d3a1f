// Connections: what a flow is "a packet of". A connection key names the two peers as an
// operator would (namespace/workload, a reserved entity, an FQDN, or as a last resort an
// IP), the protocol and the destination (server) port. The baseline, the classifier and
// the simulator all speak in connection keys.
//
//   tw::flow::SymbolTable symbols;
//   tw::flow::DnsNameCache dns(symbols);
//   tw::flow::ServerPortIndex servers;
//   for (const Flow& f : flows) {
//     dns.Observe(f);                                     // learn IP -> names from DNS answers
//     std::optional<ConnectionKey> key =
//         ConnectionKeyOf(f, symbols, &dns, &servers);     // nullopt for replies and junk
//     if (key) { servers.Add(*key); std::cout << key->ToString() << "\n"; }
//   }
//   // "business/odoo -> business/postgres:5432/TCP"
//   // "cert-manager/cert-manager -> acme-v02.api.letsencrypt.org:443/TCP"
//   // "(world) -> ingress-nginx/ingress-nginx:443/TCP"
//
// Replies are not connections. IsReply() says whether a flow is one: Hubble's is_reply when
// set (the decoder already folded the deprecated `reply` into it) — except a `false` on
// policy-verdict and drop events, where Hubble does not know and writes false statically —
// else inferred from TCP flags, ICMP types, server ports learned from originals, and the
// ephemeral-port heuristic.
//
// Neither DnsNameCache nor ServerPortIndex is thread-safe: the pipeline worker owns them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "flow/flow.h"
#include "flow/symbol.h"

namespace tw::flow {

class DnsNameCache;

// ---------------------------------------------------------------------------------------
// Peers and connection keys

enum class PeerKind : uint8_t {
  kWorkload = 0,  // namespace + workload name (Endpoint::WorkloadName())
  kEntity = 1,    // a reserved identity: world, host, remote-node, kube-apiserver, health...
  kFqdn = 2,      // a world destination known by DNS name (lowercase, no trailing dot)
  kIp = 3,        // a destination known only by IP address (by_ip_only)
};
absl::string_view PeerKindName(PeerKind k);  // "workload", "entity", "fqdn", "ip"

// One side of a connection. 24 bytes: the name's meaning depends on kind.
struct Peer {
  PeerKind kind = PeerKind::kWorkload;
  // The destination could only be keyed by IP (no DNS name known). Set exactly for kIp.
  bool by_ip_only = false;
  Symbol namespace_;  // kWorkload only
  Symbol name;        // workload name, entity name, FQDN or IP address

  static Peer Workload(Symbol ns, Symbol workload) {
    return Peer{PeerKind::kWorkload, false, ns, workload};
  }
  static Peer Entity(Symbol entity) { return Peer{PeerKind::kEntity, false, Symbol(), entity}; }
  static Peer Fqdn(Symbol fqdn) { return Peer{PeerKind::kFqdn, false, Symbol(), fqdn}; }
  static Peer Ip(Symbol ip) { return Peer{PeerKind::kIp, true, Symbol(), ip}; }

  bool is_workload() const { return kind == PeerKind::kWorkload; }
  bool is_entity() const { return kind == PeerKind::kEntity; }
  // Field-style accessors: "" when the peer is of another kind.
  absl::string_view namespace_name() const { return is_workload() ? namespace_.view() : ""; }
  absl::string_view workload() const { return is_workload() ? name.view() : ""; }
  absl::string_view entity() const { return is_entity() ? name.view() : ""; }
  absl::string_view fqdn() const { return kind == PeerKind::kFqdn ? name.view() : ""; }
  absl::string_view ip() const { return kind == PeerKind::kIp ? name.view() : ""; }

  // "business/odoo", "(world)", "acme-v02.api.letsencrypt.org", "203.0.113.7",
  // "[2001:db8::1]"; a workload without a stable name prints as "business/(unnamed)".
  std::string ToString() const;

  friend bool operator==(const Peer& a, const Peer& b) {
    return a.kind == b.kind && a.by_ip_only == b.by_ip_only && a.namespace_ == b.namespace_ &&
           a.name == b.name;
  }
  friend bool operator!=(const Peer& a, const Peer& b) { return !(a == b); }
  friend bool operator<(const Peer& a, const Peer& b) {
    if (a.kind != b.kind) return a.kind < b.kind;
    if (a.namespace_ != b.namespace_) return a.namespace_ < b.namespace_;
    if (a.name != b.name) return a.name < b.name;
    return a.by_ip_only < b.by_ip_only;
  }
  template <typename H>
  friend H AbslHashValue(H h, const Peer& p) {
    return H::combine(std::move(h), static_cast<uint8_t>(p.kind), p.by_ip_only, p.namespace_.view(),
                      p.name.view());
  }
};

struct ConnectionKey {
  Peer source;       // the client
  Peer destination;  // the server
  Protocol protocol = Protocol::kUnknown;
  uint16_t port = 0;  // destination port; for ICMP the (request) type, e.g. 8 = echo

  // "business/odoo -> business/postgres:5432/TCP"; ICMP "(host) -> kube-system/x:8/ICMPv4".
  std::string ToString() const;

  friend bool operator==(const ConnectionKey& a, const ConnectionKey& b) {
    return a.protocol == b.protocol && a.port == b.port && a.source == b.source &&
           a.destination == b.destination;
  }
  friend bool operator!=(const ConnectionKey& a, const ConnectionKey& b) { return !(a == b); }
  // Sorted by source, destination, protocol, port: the order of exports and diffs.
  friend bool operator<(const ConnectionKey& a, const ConnectionKey& b) {
    if (a.source != b.source) return a.source < b.source;
    if (a.destination != b.destination) return a.destination < b.destination;
    if (a.protocol != b.protocol) return a.protocol < b.protocol;
    return a.port < b.port;
  }
  template <typename H>
  friend H AbslHashValue(H h, const ConnectionKey& k) {
    return H::combine(std::move(h), k.source, k.destination, static_cast<uint8_t>(k.protocol),
                      k.port);
  }
};

// The endpoint's namespace: Endpoint.namespace, else its io.kubernetes.pod.namespace label
// (older agents leave the field empty for endpoints on other nodes but keep the labels).
absl::string_view EndpointNamespace(const Endpoint& endpoint);

// The peer of one flow endpoint, as a connection key names it.
enum class PeerRole : uint8_t {
  kSource,       // a world source stays the entity "world"
  kDestination,  // a world destination is named by FQDN (flow names, then DNS cache), else IP
};
// `ip` and `names` are the flow's address and DNS names for that side; `at` is the flow time
// (for the DNS cache's TTLs).
Peer PeerOf(const Endpoint& endpoint, absl::string_view ip, const std::vector<Symbol>& names,
            PeerRole role, SymbolTable& symbols, const DnsNameCache* dns, absl::Time at);

// ---------------------------------------------------------------------------------------
// Server ports and reply inference

// Which (endpoint, protocol, port) are servers, learned from the originals seen (every
// connection key's destination side). Endpoints are identified coarsely: a workload by
// namespace/name, a reserved entity by name, and anything outside the cluster (FQDN, IP)
// as the entity "world". Memory grows with distinct server ports, not with connections.
class ServerPortIndex {
 public:
  // Records key.destination:key.port as a server (TCP, UDP and SCTP only).
  void Add(const ConnectionKey& key);
  // Whether this flow endpoint is a known server on `port`.
  bool IsServer(const Endpoint& endpoint, Protocol protocol, uint16_t port) const;
  bool IsServer(const Peer& peer, Protocol protocol, uint16_t port) const;
  size_t size() const { return servers_.size(); }
  void Clear() { servers_.clear(); }

  // A coarse server identity. The views point into SymbolTable storage or static text, so
  // the index must not outlive the SymbolTable its keys came from.
  struct View {
    PeerKind kind;
    absl::string_view scope;
    absl::string_view name;
    Protocol protocol;
    uint16_t port;
    friend bool operator==(const View& a, const View& b) {
      return a.kind == b.kind && a.protocol == b.protocol && a.port == b.port &&
             a.scope == b.scope && a.name == b.name;
    }
    template <typename H>
    friend H AbslHashValue(H h, const View& v) {
      return H::combine(std::move(h), static_cast<uint8_t>(v.kind), v.scope, v.name,
                        static_cast<uint8_t>(v.protocol), v.port);
    }
  };

 private:
  absl::flat_hash_set<View> servers_;
};

enum class ReplyState : uint8_t {
  kOriginal = 0,  // client -> server
  kReply = 1,     // server -> client (or an ICMP error related to a connection)
  kUnknown = 2,   // nothing decides; callers treat it as an original
};
absl::string_view ReplyStateName(ReplyState s);  // "original", "reply", "unknown"

// Why IsReply decided as it did (explanations and the classifier's reply rule use this).
enum class ReplyBasis : uint8_t {
  kNone = 0,
  kIsReplyField,     // Hubble's is_reply (or the deprecated reply) decided it
  kTcpFlags,         // SYN without ACK = original, SYN+ACK = reply
  kIcmpType,         // echo request/reply, ICMP errors
  kKnownServerPort,  // one side is a server port learned from originals
  kEphemeralPort,    // a port below 32768 facing one at or above it is the server
};
absl::string_view ReplyBasisName(ReplyBasis b);

struct ReplyInfo {
  ReplyState state = ReplyState::kUnknown;
  ReplyBasis basis = ReplyBasis::kNone;
};

// Ports at or above this are ephemeral (Linux ip_local_port_range starts at 32768).
inline constexpr uint16_t kFirstEphemeralPort = 32768;

// Whether the flow is a reply, and why. `servers` may be null (no server knowledge).
ReplyInfo InferReply(const Flow& flow, const ServerPortIndex* servers);
inline ReplyState IsReply(const Flow& flow, const ServerPortIndex* servers) {
  return InferReply(flow, servers).state;
}

// ---------------------------------------------------------------------------------------
// Flows -> connection keys

// The key of the flow as seen on the wire: source -> destination:destination_port (ICMP:
// the type). nullopt when the flow has no protocol, or TCP/UDP/SCTP without a destination
// port.
std::optional<ConnectionKey> KeyAsSeen(const Flow& flow, SymbolTable& symbols,
                                       const DnsNameCache* dns);
// The same key from the flow's two peers when the caller has them already (PeerOf): the
// protocol and port rule above is the one definition both overloads share.
std::optional<ConnectionKey> KeyAsSeen(const Flow& flow, const Peer& source,
                                       const Peer& destination);
// The key of the opposite direction: destination -> source:source_port. For an ICMP echo
// reply the echo request (0 -> 8, 129 -> 128); nullopt for other ICMP types.
std::optional<ConnectionKey> KeyReversed(const Flow& flow, SymbolTable& symbols,
                                         const DnsNameCache* dns);

enum class ReplyHandling : uint8_t {
  kSkip,    // replies yield nullopt (the baseline: replies are not connections)
  kOrient,  // replies yield the key of their original direction
};

// The connection a flow belongs to, oriented client -> server. kUnknown reply state counts
// as original. `reply_out`, when given, receives the reply inference.
std::optional<ConnectionKey> ConnectionKeyOf(const Flow& flow, SymbolTable& symbols,
                                             const DnsNameCache* dns,
                                             const ServerPortIndex* servers,
                                             ReplyHandling handling = ReplyHandling::kSkip,
                                             ReplyInfo* reply_out = nullptr);

// ---------------------------------------------------------------------------------------
// The same packet, the same event
//
// Three identities, from the widest to the narrowest: the connection (ConnectionKeyOf, many
// packets), the packet (PacketKey: one packet at one node, which Hubble may report as
// several events) and the event (EventKey: one Hubble event, however often it is read).

// One packet as observed at one node: node, addresses, protocol, ports, ICMP type and code,
// TCP flags. A drop event and its policy-verdict twin share it (the time is not part of it:
// the two events are stamped microseconds apart).
std::string PacketKey(const Flow& flow);

// One Hubble event: its uuid, else (Hubble before 1.14) its time, PacketKey, event type and
// verdict. Stable across processes and runs, so ids derived from it can be looked up later.
std::string EventKey(const Flow& flow);

// ---------------------------------------------------------------------------------------
// DNS names for IP-only destinations

struct DnsNameCacheOptions {
  // Most IP addresses remembered; beyond it the entries expiring first are evicted.
  size_t max_ips = 100000;
  // TTLs shorter than this are raised to it: a connection often starts (and shows up in
  // Hubble) well after a short-TTL answer, and names for an address rarely change that fast.
  absl::Duration min_ttl = absl::Minutes(10);
  // Most names remembered per address (shared CDN addresses answer for many names).
  size_t max_names_per_ip = 8;
};

// IP address -> DNS names, learned from Hubble's L7 DNS flows (l7.dns.query + ips + ttl,
// successful answers only). Expiry is driven by flow time, never by the wall clock.
//
//   DnsNameCache dns(symbols);
//   dns.Observe(dns_response_flow);               // query "acme-v02.api.letsencrypt.org."
//   dns.Lookup("172.65.32.248", flow.time);       // -> "acme-v02.api.letsencrypt.org"
class DnsNameCache {
 public:
  explicit DnsNameCache(SymbolTable& symbols, DnsNameCacheOptions options = {});

  // Learns from an L7 DNS response flow; returns whether it learned anything.
  bool Observe(const Flow& flow);
  // Learns that `name` answered `ips` with `ttl` seconds at time `at`.
  void Add(absl::string_view name, const std::vector<std::string>& ips, uint32_t ttl,
           absl::Time at);
  // The name for `ip` at time `at`: the most recently answered unexpired name (ties: the
  // alphabetically first). nullopt when none is known.
  std::optional<Symbol> Lookup(absl::string_view ip, absl::Time at) const;
  // All unexpired names for `ip`, sorted.
  std::vector<Symbol> LookupAll(absl::string_view ip, absl::Time at) const;

  size_t size() const { return ips_.size(); }
  uint64_t evictions() const { return evictions_; }

 private:
  struct Name {
    Symbol name;
    int64_t learned_ns;
    int64_t expires_ns;
  };
  void Evict(int64_t now_ns);

  SymbolTable& symbols_;
  DnsNameCacheOptions options_;
  absl::flat_hash_map<std::string, std::vector<Name>> ips_;
  uint64_t evictions_ = 0;
};

// "Acme-V02.api.letsencrypt.org." -> "acme-v02.api.letsencrypt.org".
std::string NormalizeDnsName(absl::string_view name);

}  // namespace tw::flow
