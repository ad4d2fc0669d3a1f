#!/usr/bin/env python3
"""Generates examples/connectivity-test/: a Hubble capture (`hubble observe -o jsonpb` lines)
of the traffic `cilium connectivity test` sends in the scenarios that run WITHOUT policies of
their own, on the homelab cluster of examples/zero-trust-rollout (three Talos nodes, Cilium
1.18), plus scenarios.json (each scenario with its cilium-cli source files and the uuids of
its flows) and the scenario table in README.md.

    python3 scripts/gen-connectivity-test.py            # (re)write the files
    python3 scripts/gen-connectivity-test.py --check    # exit 1 if the files on disk are stale

Standard library only; deterministic (fixed seed and start time): two runs give
byte-identical files.

What the suite does was read from cilium/cilium's cilium-cli/connectivity (builder/*.go
registers the tests, tests/*.go are the scenarios, check/deployment.go deploys the pods and
waits for them): in namespace cilium-test-1 it deploys `client`, `client2` (label
other=client) and `echo-same-node` on one node, `client3` and `echo-other-node` on another,
a `host-netns` DaemonSet (hostNetwork) on every node, and `client-ccnp` pods in
cilium-test-ccnp1/2 for the cluster-wide policy tests. The echo pods serve HTTP on 8080 and
run a DNS test server on 53. Flows are shaped as Hubble shows them: pods by identity labels
(including the namespace labels Cilium adds as io.cilium.k8s.namespace.labels.*: the
namespace name and the bypass label policy.cilium.io/enforce=false the runbook creates the
suite's namespaces with), nodes as host/remote-node, the health endpoint as
reserved:health, the internet as world with the names the DNS proxy saw, service traffic
after translation (policy sees the backend), and DNS to kube-dns through the DNS proxy with
its L7 request and answer. Each connection: the original direction at the source's egress
and the destination's ingress, and the reply.
"""

import argparse
import datetime
import hashlib
import json
import os
import random
import sys
from collections import OrderedDict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "examples", "connectivity-test")
SEED = 20261121
CLUSTER = "homelab"
T0 = datetime.datetime(2026, 11, 21, 10, 0, 0, tzinfo=datetime.timezone.utc)
SUITE_NS = "cilium-test-1"
CLI = "cilium-cli/connectivity/"  # paths in cilium/cilium
EXTERNAL_TARGET = "one.one.one.one"  # --external-target default
EXTERNAL_IPS = ["1.1.1.1", "1.0.0.1"]  # --external-ip / --external-other-ip defaults
ECHO_PORT = 8080
HEALTH_PORT = 4240


class Node:
    def __init__(self, name, ip, pod_prefix, control_plane=False):
        self.name, self.ip, self.pod_prefix = name, ip, pod_prefix
        self.full = "%s/%s" % (CLUSTER, name)
        self.control_plane = control_plane


NODES = OrderedDict((n.name, n) for n in (
    Node("talos-cp-1", "10.0.0.10", "10.244.0", control_plane=True),
    Node("talos-w-1", "10.0.0.11", "10.244.1"),
    Node("talos-w-2", "10.0.0.12", "10.244.2"),
))


class Ep:
    """An endpoint as Hubble shows it: a pod, a reserved entity, or the world."""

    def __init__(self, kind, ip, node=None, ns="", name="", labels=(), identity=0, pod="",
                 names=()):
        self.kind, self.ip, self.node, self.ns, self.name = kind, ip, node, ns, name
        self.labels, self.identity, self.pod, self.names = list(labels), identity, pod, list(names)

    def render(self, observer):
        d = OrderedDict()
        if self.kind == "pod":
            d["identity"] = self.identity
            d["cluster_name"] = CLUSTER
            d["namespace"] = self.ns
            d["labels"] = self.labels
            d["pod_name"] = self.pod
            return d
        if self.kind == "node":
            # the local node is host, the others remote-node; an apiserver's node says so
            local = self.node is observer
            labels = ["reserved:host"] if local else ["reserved:remote-node"]
            ident = 1 if local else 6
            if self.node.control_plane:
                labels = ["reserved:kube-apiserver"] + labels
                ident = 1 if local else 7
            d["identity"] = ident
            d["labels"] = labels
            return d
        d["identity"] = self.identity
        d["labels"] = self.labels
        return d


# The label the suite's namespaces are created with before a run (docs/runbooks/cilium.md):
# default-deny-all leaves pods of namespaces labelled so out of default-deny. Cilium puts a
# namespace's labels on every pod identity in it.
NAMESPACE_BYPASS = "k8s:io.cilium.k8s.namespace.labels.policy.cilium.io/enforce=false"


def pod_labels(ns, labels, namespace_labels=()):
    out = ["k8s:%s=%s" % kv for kv in labels]
    out += ["k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=" + ns,
            "k8s:io.cilium.k8s.policy.cluster=" + CLUSTER] + list(namespace_labels)
    return sorted(out + ["k8s:io.kubernetes.pod.namespace=" + ns])


def suite_pod(name, node, host, labels, identity, hash_):
    ns = SUITE_NS
    lab = pod_labels(ns, list(labels) + [("io.cilium.k8s.policy.serviceaccount", name)],
                     [NAMESPACE_BYPASS])
    return Ep("pod", "%s.%d" % (node.pod_prefix, host), node, ns, name, lab, identity,
              "%s-%s" % (name, hash_))


W1, W2, CP = NODES["talos-w-1"], NODES["talos-w-2"], NODES["talos-cp-1"]
CLIENT = suite_pod("client", W1, 61, [("kind", "client"), ("name", "client")], 41001,
                   "645b68dcf7-cdhw4")
CLIENT2 = suite_pod("client2", W1, 62, [("kind", "client"), ("name", "client2"),
                                        ("other", "client")], 41002, "66475877c6-m2mqj")
CLIENT3 = suite_pod("client3", W2, 63, [("kind", "client"), ("name", "client3")], 41003,
                    "795488bf5-fmwdb")
ECHO_SAME = suite_pod("echo-same-node", W1, 64, [("kind", "echo"), ("name", "echo-same-node"),
                                                 ("other", "echo")], 41004, "6c98489c8d-xvwx7")
ECHO_OTHER = suite_pod("echo-other-node", W2, 65, [("kind", "echo"), ("name", "echo-other-node"),
                                                   ("first", "echo")], 41005, "689b8c9477-rvkw4")
CLIENTS = [CLIENT, CLIENT2, CLIENT3]
ECHOS = [ECHO_SAME, ECHO_OTHER]
KUBE_DNS = Ep("pod", "10.244.0.53", CP, "kube-system", "coredns",
              pod_labels("kube-system", [("k8s-app", "kube-dns"),
                                         ("io.cilium.k8s.policy.serviceaccount", "coredns")]),
              102, "coredns-7db6d8ff4d-2xk9p")
NODE_EPS = OrderedDict((n.name, Ep("node", n.ip, n)) for n in NODES.values())
HEALTH = OrderedDict((n.name, Ep("health", "%s.250" % n.pod_prefix, n, labels=["reserved:health"],
                                 identity=4)) for n in NODES.values())
# host-netns DaemonSet pods: hostNetwork, so they are their node.
HOST_NETNS = OrderedDict((n.name, NODE_EPS[n.name]) for n in NODES.values())
APISERVER_PORT = 6443


def world(ip, names=()):
    if names:
        return Ep("world", ip, labels=["fqdn:" + names[0], "reserved:world"], identity=16777217,
                  names=names)
    return Ep("world", ip, labels=["reserved:world"], identity=2)


def fmt_time(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%06d000Z" % t.microsecond


class Recorder:
    def __init__(self):
        self.rng = random.Random(SEED)
        self.t = T0
        self.lines = []
        self.uuids = []

    def tick(self, us):
        self.t += datetime.timedelta(microseconds=us)

    def uuid(self):
        r = self.rng.getrandbits
        return "%08x-%04x-4%03x-%04x-%012x" % (r(32), r(16), r(12), 0x8000 | r(14), r(48))

    def event(self, node, src, dst, l4, verdict="FORWARDED", etype=4, sub=0, direction=None,
              obs=None, is_reply=False, l7=None, summary=""):
        f = OrderedDict()
        f["time"] = fmt_time(self.t)
        u = self.uuid()
        f["uuid"] = u
        f["verdict"] = verdict
        f["IP"] = OrderedDict([("source", src.ip), ("destination", dst.ip), ("ipVersion", "IPv4")])
        f["l4"] = l4
        f["source"] = src.render(node)
        f["destination"] = dst.render(node)
        f["Type"] = "L7" if l7 else "L3_L4"
        f["node_name"] = node.full
        if src.kind == "world" and src.names:
            f["source_names"] = src.names
        if dst.kind == "world" and dst.names:
            f["destination_names"] = dst.names
        if l7:
            f["l7"] = l7
        et = OrderedDict([("type", etype)])
        if sub:
            et["sub_type"] = sub
        f["event_type"] = et
        if direction:
            f["traffic_direction"] = direction
        if obs:
            f["trace_observation_point"] = obs
        f["is_reply"] = is_reply
        f["Summary"] = summary
        obj = OrderedDict([("flow", f), ("node_name", node.full), ("time", f["time"])])
        self.lines.append(json.dumps(obj, separators=(",", ":")))
        self.uuids.append(u)
        self.tick(self.rng.randint(20, 90))

    # --- one connection ---------------------------------------------------------------

    def connect(self, src, dst, proto, port, sport=None):
        """The original direction where each side enforces, then the reply."""
        sport = sport or self.rng.randint(32768, 60999)
        if proto == "ICMPv4":
            fwd, rev = {"ICMPv4": {"type": 8}}, {"ICMPv4": {}}
            s_fwd, s_rev = "ICMPv4 EchoRequest", "ICMPv4 EchoReply"
        elif proto == "TCP":
            fwd = {"TCP": {"source_port": sport, "destination_port": port, "flags": {"SYN": True}}}
            rev = {"TCP": {"source_port": port, "destination_port": sport,
                           "flags": {"SYN": True, "ACK": True}}}
            s_fwd, s_rev = "TCP Flags: SYN", "TCP Flags: SYN, ACK"
        else:
            fwd = {"UDP": {"source_port": sport, "destination_port": port}}
            rev = {"UDP": {"source_port": port, "destination_port": sport}}
            s_fwd = s_rev = "UDP"
        src_node = src.node if src.node else None
        dst_node = dst.node if dst.node else None
        # Seen leaving the source (pods and the health endpoint are Cilium endpoints; a
        # hostNetwork sender is seen by its node's bpf_host).
        if src_node is not None:
            remote = dst_node is not None and dst_node is not src_node
            self.event(src_node, src, dst, fwd, sub=4 if remote else 0, direction="EGRESS",
                       obs="TO_OVERLAY" if remote else ("TO_STACK" if dst_node is None
                                                        else "TO_ENDPOINT"),
                       summary=s_fwd)
        if dst_node is not None and dst_node is not src_node and dst.kind != "node":
            self.event(dst_node, src, dst, fwd, direction="INGRESS", obs="TO_ENDPOINT",
                       summary=s_fwd)
        reply_node = src_node or dst_node
        self.tick(self.rng.randint(150, 900))
        self.event(reply_node, dst, src, rev, obs="TO_ENDPOINT", is_reply=True, summary=s_rev)
        return sport

    def dns(self, client, query, ips, qtype="A"):
        """A lookup through Cilium's DNS proxy (the set's dns-visibility rule): the redirect,
        the L7 request and the L7 answer the proxy reports, then the answer delivered."""
        sport = self.rng.randint(32768, 60999)
        l4q = {"UDP": {"source_port": sport, "destination_port": 53}}
        l4a = {"UDP": {"source_port": 53, "destination_port": sport}}
        node = client.node
        self.event(node, client, KUBE_DNS, l4q, sub=0, direction="EGRESS", obs="TO_PROXY",
                   summary="UDP")
        req = OrderedDict([("type", "REQUEST"), ("dns", OrderedDict([
            ("query", query), ("observation_source", "proxy"), ("qtypes", [qtype])]))])
        self.event(node, client, KUBE_DNS, l4q, etype=129, direction="EGRESS", l7=req,
                   summary="DNS Query %s %s" % (query, qtype))
        self.event(KUBE_DNS.node, client, KUBE_DNS, l4q, direction="INGRESS", obs="TO_ENDPOINT",
                   summary="UDP")
        self.tick(self.rng.randint(300, 1500))
        dns = OrderedDict([("query", query)])
        if ips:
            dns["ips"] = ips
        dns["ttl"] = 30 if ips else 4294967295
        dns["observation_source"] = "proxy"
        dns["qtypes"] = [qtype]
        if ips:
            dns["rrtypes"] = [qtype]
        resp = OrderedDict([("type", "RESPONSE"), ("latency_ns", str(self.rng.randint(400, 2000)
                                                                     * 1000)), ("dns", dns)])
        self.event(node, KUBE_DNS, client, l4a, etype=129, direction="EGRESS", is_reply=True,
                   l7=resp, summary="DNS Answer \"%s\" TTL: %d (Proxy %s %s)"
                   % (",".join(ips), dns["ttl"], query, qtype))
        self.event(node, KUBE_DNS, client, l4a, obs="TO_ENDPOINT", is_reply=True, summary="UDP")


def echo_service_ip(echo):
    return {"echo-same-node": "10.96.41.10", "echo-other-node": "10.96.41.11"}[echo.name]


# --- the scenarios ------------------------------------------------------------------------
# Each: (name, test, source files, what it does, function generating its traffic).


def s_setup_dns(r):
    # check/deployment.go validateDeployment: every client resolves `localhost` against the
    # DNS test server in each echo pod (pod IP, port 53) before any test runs.
    for c in CLIENTS:
        for e in ECHOS:
            r.connect(c, e, "UDP", 53)


def s_setup_kubernetes(r):
    # check/deployment.go: every client reaches the default/kubernetes Service (443), i.e.
    # the apiserver on the control-plane node (6443 after translation).
    for c in CLIENTS:
        r.dns(c, "kubernetes.default.svc.cluster.local.", ["10.96.0.1"])
        r.connect(c, NODE_EPS["talos-cp-1"], "TCP", APISERVER_PORT)


def s_pod_to_pod(r):
    for c in CLIENTS:
        for e in ECHOS:
            r.connect(c, e, "TCP", ECHO_PORT)


def s_client_to_client(r):
    for a in CLIENTS:
        for b in CLIENTS:
            if a is not b:
                r.connect(a, b, "ICMPv4", 0)


def s_pod_to_service(r):
    for c in CLIENTS:
        for e in ECHOS:
            r.dns(c, "%s.%s.svc.cluster.local." % (e.name, SUITE_NS), [echo_service_ip(e)])
            r.connect(c, e, "TCP", ECHO_PORT)  # the Service's 8080 -> the backend's 8080


def s_pod_to_hostport(r):
    # curl http://<echo's hostIP>:40000 -> DNAT to the echo pod's 8080: policy sees the pod.
    for c in CLIENTS:
        for e in ECHOS:
            r.connect(c, e, "TCP", ECHO_PORT)


def s_pod_to_world(r):
    names = [EXTERNAL_TARGET]
    for c in CLIENTS:
        r.dns(c, EXTERNAL_TARGET + ".", EXTERNAL_IPS)
        for port in (80, 443, 443):  # http, https, https /index.html
            r.connect(c, world(EXTERNAL_IPS[0], names), "TCP", port)


def s_pod_to_host(r):
    for c in CLIENTS:
        for n in NODES.values():
            r.connect(c, NODE_EPS[n.name], "ICMPv4", 0)


def s_host_to_pod(r):
    for n in NODES.values():
        for e in ECHOS:
            r.connect(HOST_NETNS[n.name], e, "TCP", ECHO_PORT)


def s_pod_to_cidr(r):
    for ip in EXTERNAL_IPS:
        for c in CLIENTS:
            r.connect(c, world(ip), "TCP", 443)


def s_pod_to_nodeport(r, local):
    # curl <node IP>:<NodePort>; with kube-proxy replacement the packet leaves the client
    # already translated to a backend, which is what policy sees.
    for c in CLIENTS:
        for e in ECHOS:
            for n in NODES.values():
                if (n is c.node) == local:
                    r.connect(c, e, "TCP", ECHO_PORT)


def s_health(r):
    # cilium-health on every node probes every node (ICMP + HTTP 4240 to the node and to its
    # health endpoint); the node reaches its own health endpoint too.
    for a in NODES.values():
        for b in NODES.values():
            if a is not b:
                for proto, port in (("ICMPv4", 0), ("TCP", HEALTH_PORT)):
                    r.connect(HEALTH[a.name], NODE_EPS[b.name], proto, port)
                    r.connect(HEALTH[a.name], HEALTH[b.name], proto, port)
        r.connect(NODE_EPS[a.name], HEALTH[a.name], "TCP", HEALTH_PORT)


SCENARIOS = [
    ("setup-dns-test-server", "(setup, before every test)", [CLI + "check/deployment.go"],
     "each client resolves `localhost` against the DNS test server of each echo pod "
     "(pod IP, 53/UDP)", s_setup_dns),
    ("setup-kubernetes-service", "(setup, before every test)", [CLI + "check/deployment.go"],
     "each client looks up and reaches the default/kubernetes Service (apiserver 6443 after "
     "translation)", s_setup_kubernetes),
    ("pod-to-pod", "no-policies", [CLI + "builder/no_policies.go", CLI + "tests/pod.go"],
     "each client -> each echo pod's IP, 8080/TCP (same node and other node)", s_pod_to_pod),
    ("client-to-client", "no-policies", [CLI + "builder/no_policies.go", CLI + "tests/client.go"],
     "ping between the client pods", s_client_to_client),
    ("pod-to-service", "no-policies", [CLI + "builder/no_policies.go", CLI + "tests/service.go"],
     "each client -> each echo Service by name: DNS through kube-dns, then 8080/TCP to the "
     "backend", s_pod_to_service),
    ("pod-to-hostport", "no-policies", [CLI + "builder/no_policies.go", CLI + "tests/host.go"],
     "each client -> each echo pod's hostPort 40000, translated to the pod's 8080",
     s_pod_to_hostport),
    ("pod-to-world", "no-policies", [CLI + "builder/no_policies.go", CLI + "tests/world.go"],
     "each client -> one.one.one.one by name: DNS, then http 80 and https 443 (twice)",
     s_pod_to_world),
    ("pod-to-host", "no-policies", [CLI + "builder/no_policies.go", CLI + "tests/host.go"],
     "each client pings every node's InternalIP (its own node: host; others: remote-node)",
     s_pod_to_host),
    ("host-to-pod", "no-policies", [CLI + "builder/no_policies.go", CLI + "tests/host.go"],
     "the host-netns pod of every node (hostNetwork) -> each echo pod, 8080/TCP",
     s_host_to_pod),
    ("pod-to-cidr", "no-policies", [CLI + "builder/no_policies.go", CLI + "tests/to-cidr.go"],
     "each client -> 1.1.1.1 and 1.0.0.1 by IP, 443/TCP", s_pod_to_cidr),
    ("pod-to-remote-nodeport", "no-policies-extra",
     [CLI + "builder/no_policies_extra.go", CLI + "tests/service.go"],
     "each client -> each echo Service's NodePort on the other nodes", lambda r: s_pod_to_nodeport(r, False)),
    ("pod-to-local-nodeport", "no-policies-extra",
     [CLI + "builder/no_policies_extra.go", CLI + "tests/service.go"],
     "each client -> each echo Service's NodePort on its own node", lambda r: s_pod_to_nodeport(r, True)),
    ("cilium-health", "health", [CLI + "builder/health.go", CLI + "tests/health.go"],
     "cilium-health: every node's health endpoint -> every other node and its health "
     "endpoint (ICMP, 4240/TCP); each node -> its own health endpoint", s_health),
]


def build():
    r = Recorder()
    index = []
    for name, test, sources, what, gen in SCENARIOS:
        first = len(r.uuids)
        gen(r)
        r.tick(2_000_000)
        index.append(OrderedDict([("name", name), ("test", test), ("source", sources),
                                  ("what", what), ("flows", r.uuids[first:])]))
    capture = "\n".join(r.lines) + "\n"
    doc = OrderedDict([
        ("suite", "cilium connectivity test (cilium/cilium cilium-cli/connectivity), the "
                  "scenarios that run without policies of their own"),
        ("namespaces", OrderedDict([
            ("cilium-test-1", "client, client2, client3, echo-same-node, echo-other-node, "
                              "host-netns (hostNetwork)"),
            ("cilium-test-ccnp1", "client-ccnp (only the cluster-wide policy tests use it)"),
            ("cilium-test-ccnp2", "client-ccnp (only the cluster-wide policy tests use it)")])),
        ("capture", "capture.jsonl"),
        ("capture_sha256", hashlib.sha256(capture.encode()).hexdigest()),
        ("scenarios", index)])
    return capture, json.dumps(doc, indent=1) + "\n", index


def readme_table(index):
    rows = ["| scenario | test | cilium-cli source | traffic | flows |", "|---|---|---|---|---|"]
    for s in index:
        rows.append("| `%s` | %s | %s | %s | %d |" % (
            s["name"], s["test"], "<br>".join("`%s`" % p for p in s["source"]), s["what"],
            len(s["flows"])))
    return "\n".join(rows) + "\n"


BEGIN, END = "<!-- scenarios:begin (scripts/gen-connectivity-test.py) -->\n", "<!-- scenarios:end -->\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="exit 1 if the files are stale")
    args = ap.parse_args()
    capture, scenarios, index = build()
    readme_path = os.path.join(OUT_DIR, "README.md")
    readme = open(readme_path).read() if os.path.exists(readme_path) else BEGIN + END
    a, b = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    readme = readme[:a] + readme_table(index) + readme[b:]
    files = {"capture.jsonl": capture, "scenarios.json": scenarios, "README.md": readme}
    stale = []
    for name, text in files.items():
        path = os.path.join(OUT_DIR, name)
        old = open(path).read() if os.path.exists(path) else None
        if old != text:
            stale.append(name)
            if not args.check:
                os.makedirs(OUT_DIR, exist_ok=True)
                with open(path, "w") as f:
                    f.write(text)
    if args.check and stale:
        print("stale: %s (run scripts/gen-connectivity-test.py)" % ", ".join(stale))
        return 1
    if not args.check:
        print("%d scenarios, %d flows -> %s" % (len(index), capture.count("\n"), OUT_DIR))
    return 0


if __name__ == "__main__":
    sys.exit(main())
