#include "flow/connection.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/check.h"

namespace tw::flow {

namespace {

constexpr absl::string_view kWorld = "world";

// Reserved bits that make an endpoint an entity. "unknown" is not an entity an operator
// can act on; such an endpoint is keyed by its address instead.
uint16_t EntityBits(const Endpoint& ep) { return ep.reserved & ~kReservedUnknown; }

bool HasPorts(Protocol p) {
  return p == Protocol::kTCP || p == Protocol::kUDP || p == Protocol::kSCTP;
}
bool IsIcmpLike(Protocol p) {
  return p == Protocol::kICMPv4 || p == Protocol::kICMPv6 || p == Protocol::kVRRP ||
         p == Protocol::kIGMP;
}

Symbol WorkloadSymbol(const Endpoint& ep, SymbolTable& symbols) {
  return symbols.Intern(ep.WorkloadName());
}

// A destination outside the cluster's identities: by DNS name if the flow carries one or
// the cache knows one, else by address.
Peer OutsidePeer(absl::string_view ip, const std::vector<Symbol>& names, SymbolTable& symbols,
                 const DnsNameCache* dns, absl::Time at) {
  for (Symbol n : names) {
    absl::string_view v = n.view();
    if (!v.empty() && v.back() == '.') v.remove_suffix(1);
    if (v.empty()) continue;
    // Hubble's names are normally lowercase already: reuse the symbol when nothing changes.
    bool lower = std::none_of(v.begin(), v.end(), [](char c) { return absl::ascii_isupper(c); });
    if (lower && v.size() == n.view().size()) return Peer::Fqdn(n);
    return Peer::Fqdn(symbols.Intern(NormalizeDnsName(v)));
  }
  if (!ip.empty()) {
    if (dns != nullptr) {
      if (std::optional<Symbol> name = dns->Lookup(ip, at)) return Peer::Fqdn(*name);
    }
    return Peer::Ip(symbols.Intern(ip));
  }
  return Peer::Entity(symbols.Intern(kWorld));
}

ServerPortIndex::View CoarseView(const Endpoint& ep, Protocol protocol, uint16_t port) {
  // As PeerOf: a named pod reported with the world identity is that pod.
  if ((EntityBits(ep) & ~kReservedWorld) == 0 && !ep.pod_name.empty() &&
      !EndpointNamespace(ep).empty()) {
    return {PeerKind::kWorkload, EndpointNamespace(ep), ep.WorkloadName(), protocol, port};
  }
  if (uint16_t bits = EntityBits(ep)) {
    return {PeerKind::kEntity, "", ReservedEntityName(bits), protocol, port};
  }
  absl::string_view ns = EndpointNamespace(ep);
  if (!ns.empty()) return {PeerKind::kWorkload, ns, ep.WorkloadName(), protocol, port};
  return {PeerKind::kEntity, "", kWorld, protocol, port};
}

ServerPortIndex::View CoarseView(const Peer& peer, Protocol protocol, uint16_t port) {
  switch (peer.kind) {
    case PeerKind::kWorkload:
      return {PeerKind::kWorkload, peer.namespace_.view(), peer.name.view(), protocol, port};
    case PeerKind::kEntity:
      return {PeerKind::kEntity, "", peer.name.view(), protocol, port};
    case PeerKind::kFqdn:
    case PeerKind::kIp:
      break;
  }
  return {PeerKind::kEntity, "", kWorld, protocol, port};
}

ReplyInfo IcmpReply(Protocol protocol, uint8_t type) {
  auto reply = [] { return ReplyInfo{ReplyState::kReply, ReplyBasis::kIcmpType}; };
  auto original = [] { return ReplyInfo{ReplyState::kOriginal, ReplyBasis::kIcmpType}; };
  if (protocol == Protocol::kICMPv4) {
    switch (type) {
      case 0:   // echo reply
      case 14:  // timestamp reply
      case 16:  // information reply
      case 18:  // address mask reply
      // Errors are sent in answer to some other packet (conntrack: related), so they are
      // never the start of a connection.
      case 3:   // destination unreachable
      case 4:   // source quench
      case 5:   // redirect
      case 11:  // time exceeded
      case 12:  // parameter problem
        return reply();
      default:
        return original();
    }
  }
  if (protocol == Protocol::kICMPv6) {
    switch (type) {
      case 129:  // echo reply
      case 1:    // destination unreachable
      case 2:    // packet too big
      case 3:    // time exceeded
      case 4:    // parameter problem
        return reply();
      default:
        return original();
    }
  }
  return {ReplyState::kUnknown, ReplyBasis::kNone};
}

std::string PortString(uint16_t port, Protocol protocol) {
  absl::string_view proto = ProtocolName(protocol);
  return absl::StrCat(port, "/", proto.empty() ? "?" : proto);
}

}  // namespace

absl::string_view PeerKindName(PeerKind k) {
  switch (k) {
    case PeerKind::kWorkload:
      return "workload";
    case PeerKind::kEntity:
      return "entity";
    case PeerKind::kFqdn:
      return "fqdn";
    case PeerKind::kIp:
      return "ip";
  }
  TW_UNREACHABLE("PeerKind ", static_cast<int>(k));
}

std::string Peer::ToString() const {
  switch (kind) {
    case PeerKind::kWorkload:
      return absl::StrCat(namespace_.view(), "/", name.empty() ? "(unnamed)" : name.view());
    case PeerKind::kEntity:
      return absl::StrCat("(", name.view(), ")");
    case PeerKind::kFqdn:
      return name.str();
    case PeerKind::kIp:
      if (name.view().find(':') != absl::string_view::npos) {
        return absl::StrCat("[", name.view(), "]");
      }
      return name.str();
  }
  TW_UNREACHABLE("PeerKind ", static_cast<int>(kind));
}

std::string ConnectionKey::ToString() const {
  return absl::StrCat(source.ToString(), " -> ", destination.ToString(), ":",
                      PortString(port, protocol));
}

absl::string_view EndpointNamespace(const Endpoint& endpoint) {
  if (!endpoint.namespace_.empty()) return endpoint.namespace_.view();
  std::optional<absl::string_view> label = endpoint.LabelValue("k8s:io.kubernetes.pod.namespace");
  return label ? *label : absl::string_view();
}

Peer PeerOf(const Endpoint& endpoint, absl::string_view ip, const std::vector<Symbol>& names,
            PeerRole role, SymbolTable& symbols, const DnsNameCache* dns, absl::Time at) {
  // A pod the flow names is that pod even when the flow carries the world identity for it
  // (Cilium 1.10 L7 flows report the peer so): an IP key only when nothing names the peer.
  if ((EntityBits(endpoint) & ~kReservedWorld) == 0 && !endpoint.pod_name.empty() &&
      !EndpointNamespace(endpoint).empty()) {
    return Peer::Workload(symbols.Intern(EndpointNamespace(endpoint)),
                          WorkloadSymbol(endpoint, symbols));
  }
  if (uint16_t bits = EntityBits(endpoint)) {
    absl::string_view entity = ReservedEntityName(bits);
    if (entity == kWorld && role == PeerRole::kDestination) {
      return OutsidePeer(ip, names, symbols, dns, at);
    }
    return Peer::Entity(symbols.Intern(entity));
  }
  if (!endpoint.namespace_.empty()) {
    return Peer::Workload(endpoint.namespace_, WorkloadSymbol(endpoint, symbols));
  }
  absl::string_view ns = EndpointNamespace(endpoint);
  if (!ns.empty()) return Peer::Workload(symbols.Intern(ns), WorkloadSymbol(endpoint, symbols));
  // No identity at all (e.g. a field-masked flow): the address is all there is.
  if (role == PeerRole::kDestination) return OutsidePeer(ip, names, symbols, dns, at);
  if (!ip.empty()) return Peer::Ip(symbols.Intern(ip));
  return Peer::Entity(symbols.Intern("unknown"));
}

// --- ServerPortIndex ------------------------------------------------------------------

void ServerPortIndex::Add(const ConnectionKey& key) {
  if (!HasPorts(key.protocol) || key.port == 0) return;
  servers_.insert(CoarseView(key.destination, key.protocol, key.port));
}

bool ServerPortIndex::IsServer(const Endpoint& endpoint, Protocol protocol, uint16_t port) const {
  if (servers_.empty()) return false;
  return servers_.contains(CoarseView(endpoint, protocol, port));
}

bool ServerPortIndex::IsServer(const Peer& peer, Protocol protocol, uint16_t port) const {
  if (servers_.empty()) return false;
  return servers_.contains(CoarseView(peer, protocol, port));
}

// --- Reply inference -----------------------------------------------------------------

absl::string_view ReplyStateName(ReplyState s) {
  switch (s) {
    case ReplyState::kOriginal:
      return "original";
    case ReplyState::kReply:
      return "reply";
    case ReplyState::kUnknown:
      return "unknown";
  }
  TW_UNREACHABLE("ReplyState ", static_cast<int>(s));
}

absl::string_view ReplyBasisName(ReplyBasis b) {
  switch (b) {
    case ReplyBasis::kNone:
      return "none";
    case ReplyBasis::kIsReplyField:
      return "is_reply";
    case ReplyBasis::kTcpFlags:
      return "tcp_flags";
    case ReplyBasis::kIcmpType:
      return "icmp_type";
    case ReplyBasis::kKnownServerPort:
      return "known_server_port";
    case ReplyBasis::kEphemeralPort:
      return "ephemeral_port";
  }
  TW_UNREACHABLE("ReplyBasis ", static_cast<int>(b));
}

ReplyInfo InferReply(const Flow& flow, const ServerPortIndex* servers) {
  // Hubble knows the reply status only from trace events (their trace reason). It fills
  // is_reply=false into every policy-verdict event as a static assumption (the first packet
  // of a connection) — wrong for the replies whose conntrack entry was lost, exactly the
  // packets such an event reports — and leaves drops unknown. So "false" decides only on
  // other events; "true" always does.
  if (flow.is_reply.has_value() && (*flow.is_reply || (flow.event_type != kEventPolicyVerdict &&
                                                       flow.event_type != kEventDrop))) {
    return {*flow.is_reply ? ReplyState::kReply : ReplyState::kOriginal, ReplyBasis::kIsReplyField};
  }
  const L4& l4 = flow.l4;
  if (l4.protocol == Protocol::kTCP && (l4.tcp_flags & kSYN)) {
    return {(l4.tcp_flags & kACK) ? ReplyState::kReply : ReplyState::kOriginal,
            ReplyBasis::kTcpFlags};
  }
  if (l4.protocol == Protocol::kICMPv4 || l4.protocol == Protocol::kICMPv6) {
    return IcmpReply(l4.protocol, l4.icmp_type);
  }
  if (!HasPorts(l4.protocol) || l4.source_port == 0 || l4.destination_port == 0) {
    return {ReplyState::kUnknown, ReplyBasis::kNone};
  }
  if (servers != nullptr) {
    bool src = servers->IsServer(flow.source, l4.protocol, l4.source_port);
    bool dst = servers->IsServer(flow.destination, l4.protocol, l4.destination_port);
    // Both known (two servers talking server port to server port) decides nothing.
    if (src != dst) {
      return {src ? ReplyState::kReply : ReplyState::kOriginal, ReplyBasis::kKnownServerPort};
    }
  }
  bool src_low = l4.source_port < kFirstEphemeralPort;
  bool dst_low = l4.destination_port < kFirstEphemeralPort;
  if (src_low != dst_low) {
    return {src_low ? ReplyState::kReply : ReplyState::kOriginal, ReplyBasis::kEphemeralPort};
  }
  return {ReplyState::kUnknown, ReplyBasis::kNone};
}

// --- Keys ----------------------------------------------------------------------------

namespace {

// The port a connection key carries for a flow seen in its own direction: the destination
// port, or for ICMP-like protocols the type. nullopt when the flow has neither.
std::optional<uint16_t> PortAsSeen(const L4& l4) {
  if (HasPorts(l4.protocol)) {
    if (l4.destination_port == 0) return std::nullopt;
    return l4.destination_port;
  }
  if (IsIcmpLike(l4.protocol)) return static_cast<uint16_t>(l4.icmp_type);
  return std::nullopt;
}

}  // namespace

std::optional<ConnectionKey> KeyAsSeen(const Flow& flow, const Peer& source,
                                       const Peer& destination) {
  std::optional<uint16_t> port = PortAsSeen(flow.l4);
  if (!port) return std::nullopt;
  return ConnectionKey{source, destination, flow.l4.protocol, *port};
}

std::optional<ConnectionKey> KeyAsSeen(const Flow& flow, SymbolTable& symbols,
                                       const DnsNameCache* dns) {
  if (!PortAsSeen(flow.l4)) return std::nullopt;
  return KeyAsSeen(flow,
                   PeerOf(flow.source, flow.source_ip, flow.source_names, PeerRole::kSource,
                          symbols, dns, flow.time),
                   PeerOf(flow.destination, flow.destination_ip, flow.destination_names,
                          PeerRole::kDestination, symbols, dns, flow.time));
}

std::optional<ConnectionKey> KeyReversed(const Flow& flow, SymbolTable& symbols,
                                         const DnsNameCache* dns) {
  const L4& l4 = flow.l4;
  ConnectionKey key;
  key.protocol = l4.protocol;
  if (HasPorts(l4.protocol)) {
    if (l4.source_port == 0) return std::nullopt;
    key.port = l4.source_port;
  } else if (l4.protocol == Protocol::kICMPv4 && l4.icmp_type == 0) {
    key.port = 8;
  } else if (l4.protocol == Protocol::kICMPv6 && l4.icmp_type == 129) {
    key.port = 128;
  } else {
    return std::nullopt;
  }
  key.source = PeerOf(flow.destination, flow.destination_ip, flow.destination_names,
                      PeerRole::kSource, symbols, dns, flow.time);
  key.destination = PeerOf(flow.source, flow.source_ip, flow.source_names, PeerRole::kDestination,
                           symbols, dns, flow.time);
  return key;
}

std::optional<ConnectionKey> ConnectionKeyOf(const Flow& flow, SymbolTable& symbols,
                                             const DnsNameCache* dns,
                                             const ServerPortIndex* servers, ReplyHandling handling,
                                             ReplyInfo* reply_out) {
  ReplyInfo info = InferReply(flow, servers);
  if (reply_out != nullptr) *reply_out = info;
  if (info.state == ReplyState::kReply) {
    if (handling == ReplyHandling::kSkip) return std::nullopt;
    return KeyReversed(flow, symbols, dns);
  }
  return KeyAsSeen(flow, symbols, dns);
}

// --- Packets and events --------------------------------------------------------------

std::string PacketKey(const Flow& f) {
  return absl::StrCat(f.node_name.view(), "|", f.source_ip, "|", f.destination_ip, "|",
                      static_cast<int>(f.l4.protocol), "|", f.l4.source_port, "|",
                      f.l4.destination_port, "|", f.l4.icmp_type, "|", f.l4.icmp_code, "|",
                      f.l4.tcp_flags);
}

std::string EventKey(const Flow& f) {
  if (!f.uuid.empty()) return f.uuid;
  return absl::StrCat(absl::ToUnixNanos(f.time), "|", PacketKey(f), "|", f.event_type, "|",
                      static_cast<int>(f.verdict));
}

// --- DnsNameCache --------------------------------------------------------------------

std::string NormalizeDnsName(absl::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return absl::AsciiStrToLower(name);
}

DnsNameCache::DnsNameCache(SymbolTable& symbols, DnsNameCacheOptions options)
    : symbols_(symbols), options_(options) {
  if (options_.max_ips == 0) options_.max_ips = 1;
  if (options_.max_names_per_ip == 0) options_.max_names_per_ip = 1;
}

bool DnsNameCache::Observe(const Flow& flow) {
  if (!flow.l7.has_value() || !flow.l7->dns.has_value()) return false;
  const Dns& dns = *flow.l7->dns;
  // Only successful answers name addresses; requests carry no ips.
  if (dns.ips.empty() || dns.rcode != 0 || dns.query.empty()) return false;
  Add(dns.query, dns.ips, dns.ttl, flow.time);
  return true;
}

void DnsNameCache::Add(absl::string_view name, const std::vector<std::string>& ips, uint32_t ttl,
                       absl::Time at) {
  std::string normalized = NormalizeDnsName(name);
  if (normalized.empty()) return;
  Symbol sym = symbols_.Intern(normalized);
  int64_t now = absl::ToUnixNanos(at);
  absl::Duration life = std::max(absl::Seconds(ttl), options_.min_ttl);
  int64_t expires = absl::ToUnixNanos(at + life);
  for (const std::string& ip : ips) {
    if (ip.empty()) continue;
    std::vector<Name>& names = ips_[ip];
    names.erase(std::remove_if(names.begin(), names.end(),
                               [now](const Name& n) { return n.expires_ns <= now; }),
                names.end());
    auto it =
        std::find_if(names.begin(), names.end(), [&](const Name& n) { return n.name == sym; });
    if (it != names.end()) {
      it->learned_ns = std::max(it->learned_ns, now);
      it->expires_ns = std::max(it->expires_ns, expires);
      continue;
    }
    if (names.size() >= options_.max_names_per_ip) {
      auto oldest = std::min_element(names.begin(), names.end(), [](const Name& a, const Name& b) {
        return a.learned_ns < b.learned_ns;
      });
      names.erase(oldest);
    }
    names.push_back(Name{sym, now, expires});
  }
  if (ips_.size() > options_.max_ips) Evict(now);
}

void DnsNameCache::Evict(int64_t now_ns) {
  // First what has expired anyway; then, if still full, the addresses expiring first, down
  // to 90% so that eviction is not paid on every insert.
  size_t before = ips_.size();
  absl::erase_if(ips_, [now_ns](const auto& kv) {
    for (const Name& n : kv.second) {
      if (n.expires_ns > now_ns) return false;
    }
    return true;
  });
  size_t target = options_.max_ips - options_.max_ips / 10;
  if (ips_.size() > target) {
    std::vector<std::pair<int64_t, const std::string*>> by_expiry;
    by_expiry.reserve(ips_.size());
    for (const auto& kv : ips_) {
      int64_t latest = INT64_MIN;
      for (const Name& n : kv.second) latest = std::max(latest, n.expires_ns);
      by_expiry.emplace_back(latest, &kv.first);
    }
    size_t drop = ips_.size() - target;
    std::nth_element(by_expiry.begin(), by_expiry.begin() + drop, by_expiry.end());
    std::vector<std::string> victims;
    victims.reserve(drop);
    for (size_t i = 0; i < drop; ++i) victims.push_back(*by_expiry[i].second);
    for (const std::string& ip : victims) ips_.erase(ip);
  }
  evictions_ += before - ips_.size();
}

std::optional<Symbol> DnsNameCache::Lookup(absl::string_view ip, absl::Time at) const {
  auto it = ips_.find(ip);
  if (it == ips_.end()) return std::nullopt;
  int64_t now = absl::ToUnixNanos(at);
  const Name* best = nullptr;
  for (const Name& n : it->second) {
    if (n.expires_ns <= now) continue;
    if (best == nullptr || n.learned_ns > best->learned_ns ||
        (n.learned_ns == best->learned_ns && n.name < best->name)) {
      best = &n;
    }
  }
  if (best == nullptr) return std::nullopt;
  return best->name;
}

std::vector<Symbol> DnsNameCache::LookupAll(absl::string_view ip, absl::Time at) const {
  std::vector<Symbol> out;
  auto it = ips_.find(ip);
  if (it == ips_.end()) return out;
  int64_t now = absl::ToUnixNanos(at);
  for (const Name& n : it->second) {
    if (n.expires_ns > now) out.push_back(n.name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace tw::flow
