// Helpers for the policy engine tests: endpoints that own their label strings (an
// EndpointView only points at them), policy loading from inline YAML, one-line queries.
//
//   PolicySet set = MustParse(R"(... CNP YAML ...)");
//   Evaluation v = Check(set, Pod("a", {"app=x"}), Pod("b", {"app=y"}), Protocol::kTCP, 80);
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "flow/flow.h"
#include "gtest/gtest.h"
#include "policy/evaluator.h"
#include "policy/parser.h"

namespace tw::policy::testing {

struct Ep {
  std::vector<std::string> labels;
  std::string ns;
  uint16_t reserved = 0;
  std::string ip;
  uint32_t identity = 0;

  EndpointView View() const {
    EndpointView v;
    for (const auto& l : labels) v.labels.push_back(l);
    v.namespace_ = ns;
    v.reserved = reserved;
    v.ip = ip;
    v.identity = identity;
    return v;
  }
  Ep WithIp(std::string i) const {
    Ep e = *this;
    e.ip = std::move(i);
    return e;
  }
};

// A pod as Hubble shows it: k8s: labels, namespace label, namespace-labels, cluster label.
// Labels given as "key=value" get the k8s: source.
inline Ep Pod(const std::string& ns, std::initializer_list<std::string> labels = {},
              std::initializer_list<std::string> ns_labels = {}) {
  Ep e;
  e.ns = ns;
  e.identity = 12345;
  e.ip = "10.0.1.10";
  for (const auto& l : labels) {
    e.labels.push_back(l.find(':') == std::string::npos ? "k8s:" + l : l);
  }
  e.labels.push_back("k8s:io.kubernetes.pod.namespace=" + ns);
  e.labels.push_back("k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=" + ns);
  for (const auto& l : ns_labels) e.labels.push_back("k8s:io.cilium.k8s.namespace.labels." + l);
  e.labels.push_back("k8s:io.cilium.k8s.policy.cluster=default");
  e.labels.push_back("k8s:io.cilium.k8s.policy.serviceaccount=default");
  return e;
}

inline Ep Reserved(const std::string& name, uint32_t identity, uint16_t bits) {
  Ep e;
  e.labels.push_back("reserved:" + name);
  e.identity = identity;
  e.reserved = bits;
  return e;
}
inline Ep World(const std::string& ip = "93.184.216.34") {
  Ep e = Reserved("world", 2, flow::kReservedWorld);
  e.ip = ip;
  return e;
}
inline Ep Host() { return Reserved("host", 1, flow::kReservedHost); }
inline Ep RemoteNode() { return Reserved("remote-node", 6, flow::kReservedRemoteNode); }
inline Ep Health() { return Reserved("health", 4, flow::kReservedHealth); }
inline Ep IngressEp() { return Reserved("ingress", 8, flow::kReservedIngress); }
inline Ep Init() { return Reserved("init", 5, flow::kReservedInit); }
inline Ep Unmanaged() { return Reserved("unmanaged", 3, flow::kReservedUnmanaged); }
inline Ep KubeApiserver() {
  Ep e;
  e.labels = {"reserved:kube-apiserver", "reserved:remote-node"};
  e.identity = 7;
  e.reserved = flow::kReservedKubeApiserver | flow::kReservedRemoteNode;
  return e;
}

inline LoadedPolicies ParseAll(const std::string& yaml, const std::string& file = "test.yaml") {
  return ParsePolicyText(yaml, file);
}

// Parses and fails the test on any error diagnostic.
inline PolicySet MustParse(const std::string& yaml) {
  LoadedPolicies r = ParsePolicyText(yaml, "test.yaml");
  for (const auto& d : r.diagnostics) {
    EXPECT_NE(d.severity, Severity::kError) << d.ToString();
  }
  return r.policies;
}

struct Query {
  flow::Protocol protocol = flow::Protocol::kTCP;
  uint16_t port = 80;
  uint8_t icmp_type = 0;
  std::vector<std::string> names;
  std::string service, service_ns;
  std::optional<bool> is_reply;
};

inline Evaluation Check(const PolicySet& set, const Ep& src, const Ep& dst, const Query& q,
                        EvaluatorOptions opts = {}) {
  Evaluator eval(set, opts);
  Connection c;
  c.source = src.View();
  c.destination = dst.View();
  for (const auto& n : q.names) c.destination_names.push_back(n);
  c.destination_service = q.service;
  c.destination_service_namespace = q.service_ns;
  c.protocol = q.protocol;
  c.destination_port = q.port;
  c.icmp_type = q.icmp_type;
  c.is_reply = q.is_reply;
  return eval.Evaluate(c);
}

inline Evaluation Check(const PolicySet& set, const Ep& src, const Ep& dst,
                        flow::Protocol proto = flow::Protocol::kTCP, uint16_t port = 80) {
  Query q;
  q.protocol = proto;
  q.port = port;
  return Check(set, src, dst, q);
}

inline std::vector<std::string> Names(const std::vector<RuleRef>& refs) {
  std::vector<std::string> out;
  for (const auto& r : refs) out.push_back(std::string(r.name()));
  return out;
}

}  // namespace tw::policy::testing
