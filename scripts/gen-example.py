#!/usr/bin/env python3
"""Generates the bundled example examples/zero-trust-rollout/: a Hubble capture
(`hubble observe -o jsonpb` lines) of a small Talos + Cilium 1.18 homelab cluster shaped like
the operator story, in three phases, plus expected-classes.json and the counts table in
README.md.

    python3 scripts/gen-example.py            # (re)write the example files
    python3 scripts/gen-example.py --check    # exit 1 if the files on disk are stale

Python 3 standard library only. Deterministic: a fixed seed and fixed start time, so two runs
give byte-identical files.

How it works, and why it is built this way:
  * The verdicts are not hand-written. The story's policies are read from
    examples/zero-trust-rollout/story-policies/*.yaml (a YAML subset reader below) and a small
    evaluator with Cilium's L3/L4 semantics (cilium-policy.md §2, §3, §4, §7) decides, per
    connection and per side, egress at the source and ingress at the destination. Every
    traffic item also carries the outcome its author expected in phase 2; the generator
    asserts that the evaluator agrees, so a wrong expectation or a wrong policy reading
    stops generation instead of producing a misleading example.
  * Events are shaped like Hubble's parser produces them (hubble-api.md §4-6; Cilium's
    pkg/hubble/parser/threefour): a denied packet is a policy-verdict event (type 5) plus a
    drop event (type 1, drop_reason_desc), neither with is_reply; forwarded policy verdicts
    carry is_reply:false; drops at the destination's ingress are seen on the destination's
    node, drops at the source's egress only on the source's node.
  * The drop classes are computed the way issue 3 defines them (first match wins), from the
    events as a reader of the capture would see them, and written to expected-classes.json.
"""

import argparse
import datetime
import json
import os
import random
import re
import sys
from collections import OrderedDict, defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "examples", "zero-trust-rollout")
POLICY_DIR = os.path.join(OUT_DIR, "story-policies")

SEED = 20261120
CLUSTER = "homelab"
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
T0 = datetime.datetime(2026, 11, 20, 9, 0, 0, tzinfo=datetime.timezone.utc)
PHASE_SECONDS = 300
NS = 1_000_000_000
US = 1_000
MS = 1_000_000


def ns_at(dt):
    return int((dt - EPOCH).total_seconds()) * NS


def fmt_time(t_ns):
    """RFC 3339 UTC as protojson writes a Timestamp: 0, 3, 6 or 9 fractional digits."""
    sec, nano = divmod(t_ns, NS)
    base = (EPOCH + datetime.timedelta(seconds=sec)).strftime("%Y-%m-%dT%H:%M:%S")
    if nano == 0:
        frac = ""
    elif nano % MS == 0:
        frac = ".%03d" % (nano // MS)
    elif nano % US == 0:
        frac = ".%06d" % (nano // US)
    else:
        frac = ".%09d" % nano
    return base + frac + "Z"


# ---------------------------------------------------------------------------------------
# A reader for the YAML subset the policies use (block mappings and sequences, quoted and
# plain scalars, `{}`/`[]`, comments, `---`). The generator must run on the standard library
# alone, and reading the real policy files keeps the example honest to them.


def _strip_comment(line):
    out, quote = [], None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            break
        out.append(ch)
    return "".join(out).rstrip()


def _scalar(s):
    s = s.strip()
    if s == "{}":
        return {}
    if s == "[]":
        return []
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'":
        return s[1:-1]
    if s in ("true", "false"):
        return s == "true"
    return s


def _split_key(s):
    for i, ch in enumerate(s):
        if ch == ":" and (i + 1 == len(s) or s[i + 1] == " "):
            return _scalar(s[:i]), s[i + 1:].strip()
    return None, None


def _is_item(text):
    return text == "-" or text.startswith("- ")


def _parse(lines, i, indent):
    if _is_item(lines[i][1]):
        seq = []
        while i < len(lines) and lines[i][0] == indent and _is_item(lines[i][1]):
            rest = lines[i][1][1:].strip()
            if not rest:
                val, i = _parse(lines, i + 1, lines[i + 1][0])
            elif _split_key(rest)[0] is not None and rest[0] not in "{[\"'":
                lines[i] = (indent + 2, rest)
                val, i = _parse(lines, i, indent + 2)
            else:
                val, i = _scalar(rest), i + 1
            seq.append(val)
        return seq, i
    mapping = OrderedDict()
    while i < len(lines) and lines[i][0] == indent and not _is_item(lines[i][1]):
        key, val = _split_key(lines[i][1])
        assert key is not None, "not a mapping line: %r" % (lines[i][1],)
        if val:
            mapping[key] = _scalar(val)
            i += 1
        elif i + 1 < len(lines) and (lines[i + 1][0] > indent or
                                     (lines[i + 1][0] == indent and _is_item(lines[i + 1][1]))):
            mapping[key], i = _parse(lines, i + 1, lines[i + 1][0])
        else:
            mapping[key] = None
            i += 1
    return mapping, i


def load_yaml_documents(text):
    docs, cur = [], []
    for raw in text.split("\n"):
        if raw.strip() == "---":
            if cur:
                docs.append(cur)
                cur = []
            continue
        line = _strip_comment(raw)
        if line.strip():
            cur.append((len(line) - len(line.lstrip(" ")), line.strip()))
    if cur:
        docs.append(cur)
    out = []
    for lines in docs:
        value, end = _parse(lines, 0, lines[0][0])
        assert end == len(lines), "unparsed YAML from line %r" % (lines[end],)
        out.append(value)
    return out


# ---------------------------------------------------------------------------------------
# Cilium L3/L4 policy semantics, only as far as the story's policies need them, each rule
# with the section of shared/reference/cilium-policy.md it follows.


class Policy:
    def __init__(self, doc, filename):
        assert doc["kind"] == "CiliumClusterwideNetworkPolicy", filename
        self.name = doc["metadata"]["name"]
        self.file = filename
        self.spec = doc["spec"]

    def selects(self, ep):
        # CCNP subject: verbatim selector; `{}` and NotIn also select the health endpoint (§3).
        return ep.is_endpoint and selector_matches(self.spec.get("endpointSelector") or {},
                                                   ep.policy_labels)

    def default_deny(self, direction):
        # §2.1: a direction with rules is default-deny unless enableDefaultDeny says false.
        edd = self.spec.get("enableDefaultDeny") or {}
        return edd.get(direction) is not False


def _norm_key(k):
    return k if k.split(":", 1)[0] in ("k8s", "reserved", "any") and ":" in k else "any:" + k


def _label_get(labels, key):
    key = _norm_key(key)
    if key.startswith("any:"):
        bare = key[4:]
        for full, val in labels.items():
            if full.split(":", 1)[1] == bare:
                return val
        return None
    return labels.get(key)


def selector_matches(sel, labels):
    for k, v in (sel.get("matchLabels") or {}).items():
        if _label_get(labels, k) != str(v):
            return False
    for e in sel.get("matchExpressions") or []:
        val = _label_get(labels, e["key"])
        values = [str(x) for x in e.get("values") or []]
        op = e["operator"]
        if op == "In" and (val is None or val not in values):
            return False
        if op == "NotIn" and val is not None and val in values:  # absent key matches (§3)
            return False
        if op == "Exists" and val is None:
            return False
        if op == "DoesNotExist" and val is not None:
            return False
    return True


def _peer_selector_matches(sel, peer_labels):
    # §2.3/§3: a CCNP peer selector without a namespace key gets `namespace Exists`, so it
    # selects pods only (never host, remote-node, world, health).
    keys = [_norm_key(k) for k in (sel.get("matchLabels") or {})]
    keys += [_norm_key(e["key"]) for e in sel.get("matchExpressions") or []]
    if not any(k.endswith(":io.kubernetes.pod.namespace") for k in keys):
        if _label_get(peer_labels, "k8s:io.kubernetes.pod.namespace") is None:
            return False
    return selector_matches(sel, peer_labels)


def _fqdn_matches(rule, name):
    name = name.rstrip(".").lower()
    if "matchName" in rule:
        return name == rule["matchName"].rstrip(".").lower()
    pat = rule["matchPattern"].rstrip(".").lower()
    if pat == "*":
        return True
    # §1.1: `*` matches within one DNS label, it never crosses a dot.
    rx = "^" + re.escape(pat).replace("\\*", "[-a-z0-9_]*") + "$"
    return re.match(rx, name) is not None


def _ports_match(to_ports, proto, port):
    """(matched, has_l7_rules). ANY = TCP+UDP+SCTP, never ICMP (§1.2)."""
    for pr in to_ports:
        for pp in pr.get("ports") or []:
            p = (pp.get("protocol") or "ANY").upper()
            protos = ("TCP", "UDP", "SCTP") if p == "ANY" else (p,)
            if proto in protos and int(pp["port"]) in (0, port):
                return True, bool(pr.get("rules"))
    return False, False


def element_allows(el, direction, peer_labels, peer_names, proto, port):
    """None, or (policy_match_type, redirect_to_proxy) for one ingress/egress element."""
    peer_key = "fromEndpoints" if direction == "ingress" else "toEndpoints"
    l3 = None
    if peer_key in el:
        l3 = any(_peer_selector_matches(s or {}, peer_labels) for s in el[peer_key] or [])
    elif "toFQDNs" in el and direction == "egress":
        # toFQDNs match world IPs learned from DNS answers through the proxy; the
        # DNS-visibility policy is present in every phase, so answers are learned (§1.1).
        l3 = "reserved:world" in peer_labels and any(
            _fqdn_matches(r, n) for r in el["toFQDNs"] for n in peer_names)
    elif any(k in el for k in ("toEntities", "fromEntities", "toCIDR", "fromCIDR",
                               "toCIDRSet", "fromCIDRSet", "toServices")):
        raise NotImplementedError("peer kind not used by the story: %r" % (list(el),))
    ports = el.get("toPorts")
    if l3 is None and ports is None:
        return None  # `{}`: an element that allows nothing (§2.2)
    if l3 is False:
        return None
    redirect = False
    if ports is not None:
        ok, redirect = _ports_match(ports, proto, port)
        if not ok:
            return None
    if l3 is not None and ports is not None:
        return 2, redirect  # L3-L4
    return (1 if ports is None else 3), redirect  # L3-only / L4-only


class Decision:
    """One side's verdict: egress at the source or ingress at the destination."""

    def __init__(self, enforced, allowed, via, allowed_by=(), match_type=0, redirect=False,
                 default_deny_by=()):
        self.enforced = enforced
        self.allowed = allowed
        self.via = via  # none | rule | localhost | wildcard | default-deny
        self.allowed_by = list(allowed_by)
        self.match_type = match_type
        self.redirect = redirect
        self.default_deny_by = list(default_deny_by)

    @property
    def denied(self):
        return self.enforced and not self.allowed


def decide(policies, subject, direction, peer, proto, port):
    """§11's decide() for one endpoint and direction (enforcement mode `default`)."""
    if not subject.is_endpoint:
        return Decision(False, True, "none")  # host firewall off: nodes and world unpoliced
    peer_labels = peer.labels_seen_from(subject.node)
    rules = [p for p in policies if p.selects(subject) and p.spec.get(direction)]
    if not rules:
        return Decision(False, True, "none")
    dd_by = [p.name for p in rules if p.default_deny(direction)]
    allowed_by, match_type, redirect = [], 0, False
    for p in rules:
        for el in p.spec[direction]:
            r = element_allows(el or {}, direction, peer_labels, peer.names, proto, port)
            if r:
                if p.name not in allowed_by:
                    allowed_by.append(p.name)
                match_type = max(match_type, r[0])
                redirect = redirect or r[1]
    if allowed_by:
        return Decision(True, True, "rule", sorted(allowed_by), match_type, redirect, dd_by)
    if direction == "ingress" and peer.kind == "node" and peer.node is subject.node:
        # allow-localhost=always: the local host always reaches pods (§2.1).
        return Decision(True, True, "localhost", (), 1, False, dd_by)
    if not dd_by:
        # every selecting rule has enableDefaultDeny false: Cilium adds a wildcard allow.
        return Decision(True, True, "wildcard", (), 4, False, dd_by)
    return Decision(True, False, "default-deny", (), 0, False, dd_by)


def load_policies(names):
    pols = []
    for n in names:
        path = os.path.join(POLICY_DIR, n)
        with open(path, encoding="utf-8") as f:
            docs = load_yaml_documents(f.read())
        assert len(docs) == 1, path
        pols.append(Policy(docs[0], n))
    return pols


# ---------------------------------------------------------------------------------------
# The cluster.

TIER0 = ("kube-system", "flux-system", "cilium", "cilium-secrets")
TIER1 = ("observability", "cert-manager", "external-secrets")
METRICS_PORTS = (8080, 9090, 9100, 9115, 9153, 9977)
SCRAPER_NAMES = ("vmagent", "prometheus")
BYPASS_LABEL = "k8s:policy.cilium.io/enforce=false"
APISERVER_IP = "10.0.0.10"

NS_EXTRA_LABELS = {
    "flux-system": {"app.kubernetes.io/instance": "flux-system", "app.kubernetes.io/part-of": "flux"},
}

HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


class Node:
    def __init__(self, name, ip, net, router, health):
        self.name = name
        self.full = CLUSTER + "/" + name
        self.ip = ip
        self.net = net
        self.router_ip = net + "." + str(router)  # cilium_host
        self.health_ip = net + "." + str(health)


class Ep:
    """A flow endpoint: a pod, a node's health endpoint, an address in a node's host network
    namespace (node IP or cilium_host IP), or a world address."""

    def __init__(self, kind, ip, node=None, names=()):
        self.kind = kind  # pod | health | node | world
        self.ip = ip
        self.node = node
        self.names = list(names)

    @property
    def is_endpoint(self):
        return self.kind in ("pod", "health")

    # identity and labels as Cilium shows them on `observer` (§5; hubble parser endpoint.go)
    def identity_seen_from(self, observer):
        if self.kind == "pod":
            return self.identity, self.labels
        if self.kind == "health":
            return 4, ["reserved:health"]
        if self.kind == "world":
            return 2, ["reserved:world"]
        if self.node is observer:
            labels = ["reserved:host"]
            if self.node.ip == APISERVER_IP:
                labels.append("reserved:kube-apiserver")
            return 1, labels
        if self.ip == APISERVER_IP:
            return 7, ["reserved:kube-apiserver", "reserved:remote-node"]
        return 6, ["reserved:remote-node"]

    def labels_seen_from(self, observer):
        if self.kind == "pod":
            return dict(self.policy_labels)
        return {l: "" for l in self.identity_seen_from(observer)[1]}

    def render(self, observer, datapath_remote_node=False):
        if datapath_remote_node:
            # bpf_host reports host-originated packets it encapsulates with the datapath's
            # LOCAL_NODE_ID, which Hubble shows as remote-node even on the sending node.
            return OrderedDict([("identity", 6), ("labels", ["reserved:remote-node"])])
        d = OrderedDict()
        local = self.node is observer
        if self.kind in ("pod", "health") and local:
            d["ID"] = self.ep_id
        ident, labels = self.identity_seen_from(observer)
        d["identity"] = ident
        if self.kind == "pod":
            d["cluster_name"] = CLUSTER
            d["namespace"] = self.ns
        d["labels"] = labels
        if self.kind == "pod":
            d["pod_name"] = self.pod_name
            if local and self.workload_kind:
                d["workloads"] = [OrderedDict([("name", self.workload), ("kind", self.workload_kind)])]
        return d

    def __repr__(self):
        if self.kind == "pod":
            return "%s/%s" % (self.ns, self.pod_name)
        return "%s(%s)" % (self.kind, self.ip)


class Cluster:
    def __init__(self, rng):
        self.rng = rng
        self.nodes = OrderedDict()
        for args in (("talos-cp-1", "10.0.0.10", "10.244.0", 171, 38),
                     ("talos-w-1", "10.0.0.11", "10.244.1", 94, 203),
                     ("talos-w-2", "10.0.0.12", "10.244.2", 12, 147)):
            self.nodes[args[0]] = Node(*args)
        self.used_ips = set()
        self.used_ep_ids = set()
        self.pods = OrderedDict()
        self.health = OrderedDict()
        self.hashes = {}
        for node in self.nodes.values():
            h = Ep("health", node.health_ip, node)
            h.ep_id = self._ep_id()
            h.ifindex, h.ifname = self.rng.randint(8, 11), "lxc_health"
            h.policy_labels = {"reserved:health": ""}
            self.health[node.name] = h
            self.used_ips.update({node.health_ip, node.router_ip})

    def _ep_id(self):
        while True:
            i = self.rng.randint(60, 3999)
            if i not in self.used_ep_ids:
                self.used_ep_ids.add(i)
                return i

    def _ip(self, node):
        while True:
            ip = "%s.%d" % (node.net, self.rng.randint(2, 250))
            if ip not in self.used_ips:
                self.used_ips.add(ip)
                return ip

    def _hash(self, n):
        return "".join(self.rng.choice(HASH_ALPHABET) for _ in range(n))

    def add_pod(self, key, ns, workload, kind, node, identity, labels, sa, pod_name=None):
        p = Ep("pod", self._ip(self.nodes[node]), self.nodes[node])
        p.ns, p.workload, p.workload_kind, p.identity, p.sa = ns, workload, kind, identity, sa
        if pod_name is None:
            if workload not in self.hashes:
                self.hashes[workload] = self._hash(10 if len(workload) < 14 else 9)
            pod_name = "%s-%s-%s" % (workload, self.hashes[workload], self._hash(5))
        p.pod_name = pod_name
        p.ep_id = self._ep_id()
        p.ifindex = self.rng.randint(12, 96)
        p.ifname = "lxc" + "".join(self.rng.choice("0123456789abcdef") for _ in range(12))
        k8s = OrderedDict(labels)
        k8s["io.kubernetes.pod.namespace"] = ns
        k8s["io.cilium.k8s.policy.serviceaccount"] = sa
        k8s["io.cilium.k8s.policy.cluster"] = CLUSTER
        k8s["io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name"] = ns
        for k, v in NS_EXTRA_LABELS.get(ns, {}).items():
            k8s["io.cilium.k8s.namespace.labels." + k] = v
        p.policy_labels = {"k8s:" + k: v for k, v in k8s.items()}
        p.labels = sorted("k8s:%s=%s" % (k, v) for k, v in k8s.items())
        self.pods[key] = p
        return p

    def node_addr(self, node_name, router=False):
        n = self.nodes[node_name]
        return Ep("node", n.router_ip if router else n.ip, n)


def build_cluster(rng):
    c = Cluster(rng)
    A = "app.kubernetes.io/name"
    I = "app.kubernetes.io/instance"
    # kube-system (Tier 0). CoreDNS from its Helm chart (Talos' built-in one disabled), so the
    # pods carry app.kubernetes.io/name as well as k8s-app=kube-dns.
    for key, node in (("coredns-a", "talos-cp-1"), ("coredns-b", "talos-w-1")):
        c.add_pod(key, "kube-system", "coredns", "Deployment", node, 3184,
                  {A: "coredns", "k8s-app": "kube-dns"}, "coredns")
    c.add_pod("hubble-relay", "kube-system", "hubble-relay", "Deployment", "talos-w-2", 15420,
              {A: "hubble-relay", "app.kubernetes.io/part-of": "cilium", "k8s-app": "hubble-relay"},
              "hubble-relay")
    # flux-system (Tier 0): Flux labels its pods app=<controller>.
    c.add_pod("source-controller", "flux-system", "source-controller", "Deployment", "talos-w-1",
              41822, {"app": "source-controller"}, "source-controller")
    c.add_pod("kustomize-controller", "flux-system", "kustomize-controller", "Deployment",
              "talos-w-2", 29571, {"app": "kustomize-controller"}, "kustomize-controller")
    c.add_pod("helm-controller", "flux-system", "helm-controller", "Deployment", "talos-cp-1",
              8213, {"app": "helm-controller"}, "helm-controller")
    # observability (Tier 1)
    c.add_pod("vmagent", "observability", "vmagent", "Deployment", "talos-w-1", 55907,
              {A: "vmagent"}, "vmagent")
    c.add_pod("vmsingle", "observability", "vmsingle", "Deployment", "talos-w-2", 23109,
              {A: "vmsingle"}, "vmsingle")
    c.add_pod("grafana", "observability", "grafana", "Deployment", "talos-cp-1", 47661,
              {A: "grafana"}, "grafana")
    # cert-manager (Tier 1), labels as its Helm chart sets them.
    c.add_pod("cert-manager", "cert-manager", "cert-manager", "Deployment", "talos-w-2", 12390,
              {"app": "cert-manager", "app.kubernetes.io/component": "controller",
               I: "cert-manager", A: "cert-manager"}, "cert-manager")
    c.add_pod("cert-manager-webhook", "cert-manager", "cert-manager-webhook", "Deployment",
              "talos-w-1", 38877,
              {"app": "webhook", "app.kubernetes.io/component": "webhook", I: "cert-manager",
               A: "webhook"}, "cert-manager-webhook")
    # external-secrets (Tier 1)
    c.add_pod("external-secrets", "external-secrets", "external-secrets", "Deployment",
              "talos-w-1", 20514, {A: "external-secrets"},
              "external-secrets")
    c.add_pod("onepassword-connect", "external-secrets", "onepassword-connect", "Deployment",
              "talos-w-2", 61287, {A: "onepassword-connect"},
              "onepassword-connect")
    # business (Tier 2)
    c.add_pod("odoo", "business", "odoo", "Deployment", "talos-w-1", 33718,
              {A: "odoo"}, "odoo")
    c.add_pod("n8n", "business", "n8n", "Deployment", "talos-w-2", 5546,
              {A: "n8n"}, "n8n")
    c.add_pod("postgres", "business", "postgres", "StatefulSet", "talos-cp-1", 27003,
              {A: "postgres"}, "postgres", pod_name="postgres-0")
    # Created by the operator after the rollout (story Task 10): a bare Pod, so no workload
    # owner; it carries the debug-bypass label tierwatch models (issue 3 "Debug bypass").
    c.add_pod("debug-shell", "business", "debug-shell", None, "talos-w-2", 44560,
              {A: "debug-shell", "policy.cilium.io/enforce": "false"}, "default",
              pod_name="debug-shell")
    # The story's own DNS check: kubectl run test-dns --image=busybox ... nslookup ...
    c.add_pod("test-dns", "default", "test-dns", None, "talos-w-1", 19382,
              {"run": "test-dns"}, "default", pod_name="test-dns")
    return c


# World names, answers and TTLs. The public addresses are illustrative.
WORLD = OrderedDict([
    ("github.com", (["140.82.121.4"], [], 60)),
    ("api.github.com", (["140.82.121.6"], [], 60)),
    ("acme-v02.api.letsencrypt.org", (["172.65.32.248"], ["prod.api.letsencrypt.org."], 300)),
    ("my.1password.com", (["3.122.59.164"], [], 60)),
    ("apps.odoo.com", (["51.89.232.100"], [], 300)),
])
UPSTREAM_DNS = "10.0.0.1"  # the LAN router CoreDNS forwards to
POOLED_PORT = 41736  # odoo's pooled postgres connection, opened in phase 1
SERVICES = {
    "source-controller.flux-system.svc.cluster.local.": "10.96.201.17",
    "postgres.business.svc.cluster.local.": "10.96.14.200",
    "onepassword-connect.external-secrets.svc.cluster.local.": "10.96.88.31",
    "vmsingle.observability.svc.cluster.local.": "10.96.140.9",
    "n8n.business.svc.cluster.local.": "10.96.77.150",
    "kubernetes.default.svc.cluster.local.": "10.96.0.1",
}


# ---------------------------------------------------------------------------------------
# Phases


class Phase:
    def __init__(self, name, start, policies, audit, revision, description):
        self.name = name
        self.start = ns_at(start)
        self.end = self.start + PHASE_SECONDS * NS
        self.policies = policies
        self.audit = audit
        self.revision = revision
        self.description = description


STORY_FILES = ["default-deny-all.yaml", "allow-dns-ingress.yaml", "allow-dns-egress.yaml",
               "allow-metrics-scraping.yaml", "tier1-observability.yaml",
               "tier1-cert-manager.yaml", "tier1-external-secrets.yaml"]


def build_phases():
    vis = load_policies(["dns-visibility.yaml"])
    story = load_policies(STORY_FILES)
    uids = {}
    rng = random.Random(SEED + 7)
    for p in vis + story:
        uids[p.name] = "%08x-%04x-4%03x-%04x-%012x" % (
            rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
            0x8000 | rng.getrandbits(14), rng.getrandbits(48))
    return uids, [
        Phase("before", T0, vis, False, 4,
              "before enforcement: only the DNS-visibility policy"),
        Phase("after", T0 + datetime.timedelta(minutes=20), vis + story, False, 11,
              "the story's policies applied as written (Flux reconciled them at 09:14)"),
        Phase("audit", T0 + datetime.timedelta(minutes=40), vis + story, True, 11,
              "the same policies with policy-audit-mode=true (agents restarted at 09:35)"),
    ]


# ---------------------------------------------------------------------------------------
# Event construction: Hubble's jsonpb, fields in flow.proto declaration order (hubble-api.md
# §4), defaults omitted, uint64 as strings.

TCP_FLAG_ORDER_JSON = ("FIN", "SYN", "RST", "PSH", "ACK")
TCP_FLAG_ORDER_SUMMARY = ("SYN", "ACK", "RST", "FIN", "PSH")
ICMP_NAMES = {8: "EchoRequest", 0: "EchoReply"}


class L4:
    def __init__(self, proto, sport=0, dport=0, flags=(), icmp_type=0):
        self.proto, self.sport, self.dport = proto, sport, dport
        self.flags, self.icmp_type = tuple(flags), icmp_type

    def json(self):
        if self.proto == "ICMPv4":
            body = OrderedDict()
            if self.icmp_type:
                body["type"] = self.icmp_type
            return OrderedDict([("ICMPv4", body)])
        body = OrderedDict([("source_port", self.sport), ("destination_port", self.dport)])
        if self.proto == "TCP":
            body["flags"] = OrderedDict((f, True) for f in TCP_FLAG_ORDER_JSON if f in self.flags)
        return OrderedDict([(self.proto, body)])

    def summary(self):
        if self.proto == "TCP":
            return "TCP Flags: " + ", ".join(f for f in TCP_FLAG_ORDER_SUMMARY if f in self.flags)
        if self.proto == "ICMPv4":
            return "ICMPv4 " + ICMP_NAMES[self.icmp_type]
        return self.proto


class Recorder:
    """Collects one phase's events: (time, seq, json object, meta)."""

    def __init__(self, phase, cluster, uids, rng):
        self.phase = phase
        self.uids = uids
        self.rng = rng
        self.events = []
        self.seq = 0

    def uuid(self):
        r = self.rng.getrandbits
        return "%08x-%04x-4%03x-%04x-%012x" % (r(32), r(16), r(12), 0x8000 | r(14), r(48))

    def _push(self, t, obj, meta):
        self.seq += 1
        self.events.append((t, self.seq, obj, meta))

    def policy_refs(self, names):
        out = []
        for n in names:
            out.append(OrderedDict([
                ("name", n),
                ("labels", sorted([
                    "k8s:io.cilium.k8s.policy.derived-from=CiliumClusterwideNetworkPolicy",
                    "k8s:io.cilium.k8s.policy.name=" + n,
                    "k8s:io.cilium.k8s.policy.uid=" + self.uids[n]])),
                ("revision", str(self.phase.revision)),
                ("kind", "CiliumClusterwideNetworkPolicy")]))
        return out

    def flow(self, t, node, *, verdict, src, dst, l4, etype, esub=0, drop=0, direction=None,
             match_type=0, obs=None, reason=None, is_reply=None, iface=None, proxy_port=0,
             l7=None, src_dp_remote=False, egress_allowed_by=(), ingress_allowed_by=(),
             meta=None):
        f = OrderedDict()
        f["time"] = fmt_time(t)
        f["uuid"] = self.uuid()
        f["verdict"] = verdict
        if drop:
            f["drop_reason"] = drop
        f["IP"] = OrderedDict([("source", src.ip), ("destination", dst.ip), ("ipVersion", "IPv4")])
        f["l4"] = l4.json()
        f["source"] = src.render(node, datapath_remote_node=src_dp_remote)
        f["destination"] = dst.render(node)
        f["Type"] = "L7" if l7 else "L3_L4"
        f["node_name"] = node.full
        if src.kind == "world" and src.names:
            f["source_names"] = list(src.names)
        if dst.kind == "world" and dst.names:
            f["destination_names"] = list(dst.names)
        if l7:
            f["l7"] = l7
        if is_reply:
            f["reply"] = True
        et = OrderedDict([("type", etype)])
        if esub:
            et["sub_type"] = esub
        f["event_type"] = et
        if direction:
            f["traffic_direction"] = direction
        if match_type:
            f["policy_match_type"] = match_type
        if obs:
            f["trace_observation_point"] = obs
        if reason:
            f["trace_reason"] = reason
        if drop:
            f["drop_reason_desc"] = DROP_NAMES[drop]
        if is_reply is not None:
            f["is_reply"] = is_reply
        if iface:
            f["interface"] = OrderedDict([("index", iface[0]), ("name", iface[1])])
        if proxy_port:
            f["proxy_port"] = proxy_port
        if l7 and "dns" in l7:
            f["Summary"] = dns_summary(l7)
        else:
            f["Summary"] = l4.summary()
        if egress_allowed_by:
            f["egress_allowed_by"] = self.policy_refs(egress_allowed_by)
        if ingress_allowed_by:
            f["ingress_allowed_by"] = self.policy_refs(ingress_allowed_by)
        obj = OrderedDict([("flow", f), ("node_name", node.full), ("time", f["time"])])
        m = dict(meta or {})
        m.update(node=node.name, etype=etype, verdict=verdict, drop=drop, src=src, dst=dst,
                 l4=l4, direction=direction)
        self._push(t, obj, m)

    def lost(self, t, node, source, num, cpu=None):
        body = OrderedDict([("source", source), ("num_events_lost", str(num))])
        if cpu is not None:
            body["cpu"] = cpu
        obj = OrderedDict([("lost_events", body), ("node_name", node.full), ("time", fmt_time(t))])
        self._push(t, obj, {"lost": True})


DROP_NAMES = {133: "POLICY_DENIED", 155: "CT_MAP_INSERTION_FAILED"}
RCODE_NAMES = {3: "Non-Existent Domain"}


def dns_summary(l7):
    d = l7["dns"]
    q = ",".join(d.get("qtypes", []))
    if l7["type"] == "REQUEST":
        return "DNS Query %s %s" % (d["query"], q)
    if d.get("rcode"):
        answer = "RCode: %s" % RCODE_NAMES[d["rcode"]]
    else:
        parts = []
        if d.get("ips"):
            parts.append('"%s"' % ",".join(d["ips"]))
        if d.get("cnames"):
            parts.append('CNAMEs: "%s"' % ",".join(d["cnames"]))
        answer = " ".join(parts)
    return "DNS Answer %s TTL: %d (Proxy %s %s)" % (answer, d.get("ttl", 0), d["query"], q)


# ---------------------------------------------------------------------------------------
# Traffic: packets through the datapath, per phase.


def latency(a, b, rng):
    """One-way delay between two endpoints, in ns."""
    if b.kind == "world" or a.kind == "world":
        return rng.randint(8, 14) * MS + rng.randint(0, 999_999)
    if a.node is b.node:
        return rng.randint(25, 90) * US + rng.randint(0, 999)
    return rng.randint(180, 520) * US + rng.randint(0, 999)


def via_overlay(a, b):
    """Whether a packet from a to b crosses the VXLAN tunnel (Cilium's default routing mode).
    Pod-to-pod across nodes does; so does a node's host stack talking to a remote pod from its
    cilium_host address (the tunnel route's source). Pods reaching another node's InternalIP
    go out through the host stack instead."""
    if a.kind == "world" or b.kind == "world" or a.node is b.node:
        return False
    if a.is_endpoint and b.is_endpoint:
        return True
    if a.is_endpoint and b.kind == "node":
        return b.ip == b.node.router_ip
    if a.kind == "node" and b.is_endpoint:
        return a.ip == a.node.router_ip
    return False


class Conn:
    """One transport connection (TCP, UDP or ICMP echo) between two endpoints, and its
    verdicts in the current phase. Packets go through send()."""

    def __init__(self, g, client, server, proto, dport, sport=None, expect=None, label=""):
        self.g, self.rec, self.rng = g, g.rec, g.rng
        self.client, self.server, self.proto, self.dport = client, server, proto, dport
        self.sport = sport if sport is not None else g.ephemeral()
        pols = g.phase.policies
        self.eg = decide(pols, client, "egress", server, proto, dport)
        self.ing = decide(pols, server, "ingress", client, proto, dport)
        self.snd_ct = False  # CT entry at the client's egress exists
        self.rcv_ct = False  # CT entry at the server's ingress exists
        self.label = label
        g.check_expectation(self, expect)

    @property
    def dropped_in_enforce(self):
        return not self.g.phase.audit and (self.eg.denied or self.ing.denied)

    def l4(self, fwd, flags):
        if self.proto == "ICMPv4":
            return L4("ICMPv4", icmp_type=8 if fwd else 0)
        if fwd:
            return L4(self.proto, self.sport, self.dport, flags)
        return L4(self.proto, self.dport, self.sport, flags)

    def _verdict_event(self, t, node, src, dst, l4, dec, direction, meta):
        if dec.denied and self.g.phase.audit:
            verdict = "AUDIT"
        elif dec.denied:
            verdict = "DROPPED"
        elif dec.redirect:
            verdict = "REDIRECTED"
        else:
            verdict = "FORWARDED"
        kw = {}
        if direction == "EGRESS":
            kw["egress_allowed_by"] = dec.allowed_by if dec.allowed else ()
        else:
            kw["ingress_allowed_by"] = dec.allowed_by if dec.allowed else ()
        self.rec.flow(t, node, verdict=verdict, src=src, dst=dst, l4=l4, etype=5,
                      drop=133 if verdict == "DROPPED" else 0, direction=direction,
                      match_type=dec.match_type,
                      is_reply=None if verdict == "DROPPED" else False,
                      meta=dict(meta, side="egress" if direction == "EGRESS" else "ingress",
                                counted=(verdict == "AUDIT"), decision=dec), **kw)
        return verdict

    def send(self, t, fwd, flags=(), meta=None, receiver_trace=True):
        """Sends one packet; returns (delivered, arrival time). receiver_trace=False when the
        packet ends in a proxy's socket rather than in the endpoint."""
        g, rec = self.g, self.rec
        S, R = (self.client, self.server) if fwd else (self.server, self.client)
        l4 = self.l4(fwd, flags)
        meta = dict(meta or {}, conn=self, fwd=fwd)
        new_at_sender = fwd and not self.snd_ct
        # --- sender side
        if S.is_endpoint:
            if fwd and self.eg.enforced and new_at_sender:
                v = self._verdict_event(t, S.node, S, R, l4, self.eg, "EGRESS", meta)
                t += self.rng.randint(1, 6) * US
                if v == "DROPPED":
                    rec.flow(t, S.node, verdict="DROPPED", src=S, dst=R, l4=l4, etype=1,
                             esub=133, drop=133, direction="EGRESS",
                             meta=dict(meta, side="egress", counted=True, decision=self.eg))
                    return False, t
            if fwd:
                self.snd_ct = True
            if R.is_endpoint and R.node is S.node:
                pass  # local delivery: only the receiver's trace
            elif via_overlay(S, R):
                rec.flow(t, S.node, verdict="FORWARDED", src=S, dst=R, l4=l4, etype=4, esub=4,
                         obs="TO_OVERLAY", iface=(5, "cilium_vxlan"), meta=meta)
            else:
                rec.flow(t, S.node, verdict="FORWARDED", src=S, dst=R, l4=l4, etype=4, esub=3,
                         direction="EGRESS" if fwd else "INGRESS", obs="TO_STACK",
                         reason=self._reason(fwd, new_at_sender), is_reply=not fwd, meta=meta)
        elif S.kind == "node" and via_overlay(S, R):
            rec.flow(t, S.node, verdict="FORWARDED", src=S, dst=R, l4=l4, etype=4, esub=4,
                     obs="TO_OVERLAY", iface=(5, "cilium_vxlan"), src_dp_remote=True, meta=meta)
        t += latency(S, R, self.rng)
        # --- receiver side
        if R.is_endpoint:
            new_at_receiver = fwd and not self.rcv_ct
            if fwd and self.ing.enforced and new_at_receiver:
                v = self._verdict_event(t, R.node, S, R, l4, self.ing, "INGRESS", meta)
                t += self.rng.randint(1, 6) * US
                if v == "DROPPED":
                    rec.flow(t, R.node, verdict="DROPPED", src=S, dst=R, l4=l4, etype=1,
                             esub=133, drop=133, direction="INGRESS",
                             meta=dict(meta, side="ingress", counted=True, decision=self.ing))
                    return False, t
            if fwd:
                self.rcv_ct = True
            if not receiver_trace:
                return True, t
            rec.flow(t, R.node, verdict="FORWARDED", src=S, dst=R, l4=l4, etype=4,
                     direction="INGRESS" if fwd else "EGRESS", obs="TO_ENDPOINT",
                     reason=self._reason(fwd, new_at_receiver), is_reply=not fwd,
                     iface=(R.ifindex, R.ifname), meta=meta)
        return True, t

    @staticmethod
    def _reason(fwd, new):
        if not fwd:
            return "REPLY"
        return "NEW" if new else "ESTABLISHED"

    # --- TCP conversations

    def tcp_session(self, t, data=True, close=True, retries=(1.0, 3.0)):
        """A whole TCP connection as Hubble (monitor aggregation `medium`) reports it: the
        handshake, one request/response, the close. Denied SYNs are retransmitted at the
        usual 1 s / 3 s and the client gives up. Returns the end time."""
        if self.dropped_in_enforce:
            times = [t] + [t + int(r * NS) + self.rng.randint(0, 9 * MS) for r in retries]
            for ts in times:
                self.send(ts, True, ("SYN",))
            return times[-1]
        ok, t = self.send(t, True, ("SYN",))
        t += self.rng.randint(20, 200) * US
        ok, t = self.send(t, False, ("SYN", "ACK"))
        t += self.rng.randint(20, 120) * US
        ok, t = self.send(t, True, ("ACK",))
        if data:
            t += self.rng.randint(100, 900) * US
            ok, t = self.send(t, True, ("ACK", "PSH"))
            t += self.rng.randint(1, 40) * MS
            ok, t = self.send(t, False, ("ACK", "PSH"))
        if close:
            t += self.rng.randint(1, 30) * MS
            ok, t = self.send(t, True, ("ACK", "FIN"))
            t += self.rng.randint(30, 300) * US
            ok, t = self.send(t, False, ("ACK", "FIN"))
        return t

    def exchange(self, t):
        """Request and response on an established keep-alive connection."""
        ok, t = self.send(t, True, ("ACK", "PSH"))
        t += self.rng.randint(1, 30) * MS
        self.send(t, False, ("ACK", "PSH"))


class Gen:
    def __init__(self, phase, cluster, uids, rng):
        self.phase = phase
        self.c = cluster
        self.rng = rng
        self.rec = Recorder(phase, cluster, uids, rng)
        self.checked = 0  # connections whose phase-2 expectation was verified

    def at(self, sec):
        return self.phase.start + int(sec * NS) + self.rng.randint(0, 400 * MS)

    def ephemeral(self):
        return self.rng.randint(32768, 60999)

    def pod(self, key):
        return self.c.pods[key]

    def check_expectation(self, conn, expect):
        """`expect` is what the traffic's author says the story's policies do to this
        connection in phase 2 (`after`): 'allow', 'egress' (dropped at the source's egress)
        or 'ingress' (dropped at the destination's ingress). Phase 1 must allow everything."""
        if self.phase.name == "before":
            assert conn.eg.allowed and conn.ing.allowed, "phase 1 drops %s" % conn.label
            return
        if expect is None:
            return
        got = "egress" if conn.eg.denied else ("ingress" if conn.ing.denied else "allow")
        assert got == expect, "%s: expected %s, the policies give %s (egress %s, ingress %s)" % (
            conn.label, expect, got, conn.eg.via, conn.ing.via)
        self.checked += 1

    # --- DNS through the proxy (the DNS-visibility policy is in every phase)

    def dns_lookup(self, t, client, query, qtypes=("A",), tcp=False, coredns=None):
        """A lookup from a pod: redirected to Cilium's DNS proxy, which answers after asking
        CoreDNS. Returns the time the client has its answer."""
        rng, rec = self.rng, self.rec
        core = self.c.pods[coredns or rng.choice(("coredns-a", "coredns-b"))]
        proto = "TCP" if tcp else "UDP"
        conn = Conn(self, client, core, proto, 53, label="%s DNS" % client.workload)
        assert conn.eg.allowed and conn.eg.redirect and conn.ing.allowed, (
            "pod DNS must be allowed and proxied in every phase of the story")
        proxy_port = self.proxy_ports[client.node.name]
        flags = ("SYN",) if tcp else ()
        l4 = L4(proto, conn.sport, 53, flags)
        conn._verdict_event(t, client.node, client, core, l4, conn.eg, "EGRESS", {"conn": conn})
        conn.snd_ct = True
        t += rng.randint(2, 9) * US
        for i, qtype in enumerate(qtypes):
            rec.flow(t, client.node, verdict="FORWARDED", src=client, dst=core,
                     l4=L4(proto, conn.sport, 53, flags if i == 0 else ("ACK", "PSH")),
                     etype=4, esub=1, direction="EGRESS", obs="TO_PROXY",
                     reason="NEW" if i == 0 else "ESTABLISHED", is_reply=False,
                     proxy_port=proxy_port, meta={"conn": conn, "fwd": True})
            t += rng.randint(30, 120) * US
            req = OrderedDict([("type", "REQUEST"), ("dns", OrderedDict([
                ("query", query), ("observation_source", "proxy"), ("qtypes", [qtype])]))])
            l4q = L4(proto, conn.sport, 53)
            rec.flow(t, client.node, verdict="FORWARDED", src=client, dst=core, l4=l4q, etype=129,
                     direction="EGRESS", is_reply=False, l7=req, meta={"conn": conn, "fwd": True})
            t_req = t
            # the proxy forwards the query with the pod's address (transparent mode)
            t += rng.randint(40, 150) * US
            fl = ("ACK", "PSH") if tcp else ()
            if tcp and i == 0:  # the proxy opens its own TCP connection to CoreDNS
                ok, t = conn.send(t, True, ("SYN",), meta={"via_proxy": True})
                ok, t = conn.send(t + rng.randint(10, 40) * US, False, ("SYN", "ACK"),
                                  receiver_trace=False)
                t += rng.randint(10, 40) * US
            ok, t = conn.send(t, True, fl, meta={"via_proxy": True})
            t += rng.randint(50, 400) * US  # CoreDNS answering
            ans = self.answer(query, qtype)
            if ans["upstream"] and not self.dns_cache_fresh(query, t):
                t = self.upstream(t, core, query)
            t += rng.randint(20, 200) * US
            if core.node is not client.node:
                rec.flow(t, core.node, verdict="FORWARDED", src=core, dst=client,
                         l4=L4(proto, 53, conn.sport, fl), etype=4, esub=4, obs="TO_OVERLAY",
                         iface=(5, "cilium_vxlan"), meta={"conn": conn, "fwd": False})
            t += latency(core, client, rng)
            dns = OrderedDict([("query", query)])
            if ans["ips"]:
                dns["ips"] = ans["ips"]
            dns["ttl"] = ans["ttl"]
            if ans["cnames"]:
                dns["cnames"] = ans["cnames"]
            dns["observation_source"] = "proxy"
            if ans["rcode"]:
                dns["rcode"] = ans["rcode"]
            dns["qtypes"] = [qtype]
            if ans["rrtypes"]:
                dns["rrtypes"] = ans["rrtypes"]
            resp = OrderedDict([("type", "RESPONSE"), ("latency_ns", str(t - t_req)), ("dns", dns)])
            rec.flow(t, client.node, verdict="FORWARDED", src=core, dst=client,
                     l4=L4(proto, 53, conn.sport), etype=129, direction="EGRESS", is_reply=True,
                     l7=resp, meta={"conn": conn, "fwd": False})
            t += rng.randint(10, 60) * US
            rec.flow(t, client.node, verdict="FORWARDED", src=core, dst=client,
                     l4=L4(proto, 53, conn.sport, fl), etype=4, direction="EGRESS",
                     obs="TO_ENDPOINT", reason="REPLY", is_reply=True,
                     iface=(client.ifindex, client.ifname), meta={"conn": conn, "fwd": False})
            t += rng.randint(50, 400) * US
        return t

    def answer(self, query, qtype):
        name = query.rstrip(".")
        if name in WORLD:
            ips, cnames, ttl = WORLD[name]
            if qtype == "AAAA":
                return dict(ips=[], cnames=cnames, ttl=ttl if cnames else 4294967295, rcode=0,
                            rrtypes=["CNAME"] if cnames else [], upstream=True)
            return dict(ips=ips, cnames=cnames, ttl=ttl, rcode=0,
                        rrtypes=(["CNAME", "A"] if cnames else ["A"]), upstream=True)
        if query in SERVICES:
            if qtype == "AAAA":
                return dict(ips=[], cnames=[], ttl=4294967295, rcode=0, rrtypes=[], upstream=False)
            return dict(ips=[SERVICES[query]], cnames=[], ttl=30, rcode=0, rrtypes=["A"],
                        upstream=False)
        return dict(ips=[], cnames=[], ttl=4294967295, rcode=3, rrtypes=[], upstream=False)

    def dns_cache_fresh(self, query, t):
        exp = self.coredns_cache.get(query)
        return exp is not None and exp > t

    def upstream(self, t, core, query):
        """CoreDNS forwards a cache miss to the LAN router (world, by IP)."""
        rng = self.rng
        up = Ep("world", UPSTREAM_DNS)
        conn = Conn(self, core, up, "UDP", 53, label="coredns upstream")
        t += rng.randint(20, 80) * US
        ok, t = conn.send(t, True)
        t += rng.randint(2, 9) * MS
        conn.send(t, False)
        self.coredns_cache[query] = t + WORLD[query.rstrip(".")][2] * NS
        return t + rng.randint(20, 90) * US


# ---------------------------------------------------------------------------------------
# The traffic of the cluster. Offsets are seconds into the phase.


def world(name):
    ips, _, _ = WORLD[name]
    return Ep("world", ips[0], names=[name])


def generate_phase(phase, cluster, uids, seed):
    rng = random.Random(seed)
    g = Gen(phase, cluster, uids, rng)
    g.proxy_ports = {n: rng.randint(36000, 45000) for n in cluster.nodes}
    g.coredns_cache = {}
    P = cluster.pods
    node = cluster.node_addr
    tail = phase.name != "before"  # the operator's checks happen after the rollout

    # --- keep-alive connections, established before the capture started. In phase 1 they
    # only show their periodic request/response; a denied one becomes a new connection
    # attempt every period (enforcement) or is re-established once and audited (audit).
    keepalive = [
        # vmagent scrapes every 60 s (VictoriaMetrics' default scrape_interval)
        ("vmagent", P["coredns-a"], 9153, 60, 3, "egress"),
        ("vmagent", P["source-controller"], 8080, 60, 9, "egress"),
        ("vmagent", P["external-secrets"], 8080, 60, 17, "egress"),
        ("vmagent", P["cert-manager"], 9402, 60, 21, "egress"),
        ("vmagent", node("talos-w-1"), 9100, 60, 25, "egress"),   # node-exporter, hostNetwork
        ("vmagent", node("talos-w-2"), 9100, 60, 29, "egress"),
        ("vmagent", node("talos-cp-1"), 9100, 60, 33, "egress"),  # the apiserver's node IP
        ("vmagent", P["vmsingle"], 8429, 60, 40, "egress"),       # remote-write
        ("vmagent", node("talos-cp-1"), 6443, 120, 50, "egress"),  # Kubernetes SD watch
        ("grafana", node("talos-cp-1"), 6443, 120, 70, "egress"),  # dashboard sidecar watch
        ("cert-manager", node("talos-cp-1"), 6443, 90, 11, "egress"),
        ("external-secrets", node("talos-cp-1"), 6443, 90, 37, "egress"),
        ("kustomize-controller", node("talos-cp-1"), 6443, 90, 57, "allow"),
        ("helm-controller", node("talos-cp-1"), 6443, 120, 83, "allow"),
        ("source-controller", node("talos-cp-1"), 6443, 120, 101, "allow"),
        ("hubble-relay", node("talos-w-2"), 4244, 60, 7, "allow"),
        ("hubble-relay", node("talos-w-1"), 4244, 60, 19, "allow"),
        ("hubble-relay", node("talos-cp-1"), 4244, 60, 31, "allow"),
    ]
    for client_key, server, port, period, offset, expect in keepalive:
        client = P[client_key]
        conn = Conn(g, client, server, "TCP", port, expect=expect,
                    label="%s -> %r:%d" % (client_key, server, port))
        first = True
        for tick in range(offset, PHASE_SECONDS, period):
            t = g.at(tick)
            if conn.dropped_in_enforce:
                attempt = Conn(g, client, server, "TCP", port, label=conn.label)
                attempt.tcp_session(t)
            elif first and phase.audit and (conn.eg.denied or conn.ing.denied):
                conn.tcp_session(t, close=False)  # reconnects once, audited, then stays up
            else:
                conn.snd_ct = conn.rcv_ct = True
                conn.exchange(t)
            first = False

    # --- new connections, each after a DNS lookup where the client uses a name
    def connect(t, client_key, server, port, expect, lookup=None, qtypes=("A",), sport=None,
                close=True, label=None, tcp_dns=False):
        client = P[client_key]
        if lookup:
            t = g.dns_lookup(t, client, lookup, qtypes, tcp=tcp_dns) + rng.randint(100, 900) * US
        conn = Conn(g, client, server, "TCP", port, sport=sport, expect=expect,
                    label=label or "%s -> %r:%d" % (client_key, server, port))
        return conn.tcp_session(t, close=close)

    SC = "source-controller.flux-system.svc.cluster.local."
    for s in range(15, PHASE_SECONDS, 120):
        connect(g.at(s), "source-controller", world("github.com"), 443, "allow",
                "github.com.", ("A", "AAAA"))
    for s in range(45, PHASE_SECONDS, 120):
        connect(g.at(s), "n8n", world("api.github.com"), 443, "egress", "api.github.com.")
    for s in range(60, PHASE_SECONDS, 120):
        connect(g.at(s), "onepassword-connect", world("my.1password.com"), 443, "egress",
                "my.1password.com.")
    for s in (95, 98, 230):  # an ACME order in progress: new-nonce, order, finalize
        connect(g.at(s), "cert-manager", world("acme-v02.api.letsencrypt.org"), 443, "egress",
                "acme-v02.api.letsencrypt.org.", ("A", "AAAA"))
    for s in (110, 260):
        connect(g.at(s), "odoo", world("apps.odoo.com"), 443, "egress", "apps.odoo.com.")
    for s in (60, 240):
        connect(g.at(s), "odoo", P["postgres"], 5432, "egress",
                "postgres.business.svc.cluster.local.")
    if phase.name == "before":
        # the pooled connection that stays open; its conntrack entry is lost later (phase 2)
        connect(g.at(150), "odoo", P["postgres"], 5432, "egress",
                "postgres.business.svc.cluster.local.", sport=POOLED_PORT, close=False)
    for s in (70, 200):
        connect(g.at(s), "n8n", P["postgres"], 5432, "egress",
                "postgres.business.svc.cluster.local.")
    for s in range(30, PHASE_SECONDS, 90):  # Kustomizations fetching artifacts (:80 -> 9090)
        connect(g.at(s), "kustomize-controller", P["source-controller"], 9090, "ingress", SC)
    for s in (80, 230):
        connect(g.at(s), "helm-controller", P["source-controller"], 9090, "ingress", SC)
    for s in range(20, PHASE_SECONDS, 100):  # ExternalSecret refreshes
        # the first lookup goes over TCP (a resolver retrying after a truncated answer)
        connect(g.at(s), "external-secrets", P["onepassword-connect"], 8080, "ingress",
                "onepassword-connect.external-secrets.svc.cluster.local.", tcp_dns=(s == 20))
    for s in (50, 200):  # dashboards refreshing
        connect(g.at(s), "grafana", P["vmsingle"], 8429, "egress",
                "vmsingle.observability.svc.cluster.local.")
    # the API server calls cert-manager's webhook (on another node: it arrives from
    # talos-cp-1's cilium_host address, which Cilium identifies as remote-node in tunnel mode)
    for s in (96.4, 99.1, 231.3):
        conn = Conn(g, node("talos-cp-1", router=True), P["cert-manager-webhook"], "TCP", 10250,
                    expect="ingress", label="apiserver -> cert-manager-webhook:10250")
        conn.tcp_session(g.at(s))
    # ingress-nginx, hostNetwork on talos-w-2 (dnsPolicy ClusterFirstWithHostNet)
    for s in range(12, PHASE_SECONDS, 70):
        conn = Conn(g, node("talos-w-2", router=True), P["odoo"], "TCP", 8069, expect="ingress",
                    label="ingress-nginx(remote-node) -> odoo:8069")
        conn.tcp_session(g.at(s))
    for s in range(40, PHASE_SECONDS, 120):
        conn = Conn(g, node("talos-w-2", router=True), P["n8n"], "TCP", 5678, expect="allow",
                    label="ingress-nginx(host) -> n8n:5678")
        conn.tcp_session(g.at(s))
    for i, s in enumerate(range(27, PHASE_SECONDS, 60)):
        core = P["coredns-a" if i % 2 else "coredns-b"]
        conn = Conn(g, node("talos-w-2", router=True), core, "UDP", 53, expect="ingress",
                    label="ingress-nginx(remote-node) -> coredns:53")
        t = g.at(s)
        if conn.dropped_in_enforce:
            conn.send(t, True)
            retry = Conn(g, node("talos-w-2", router=True), P["coredns-b" if i % 2 else "coredns-a"],
                         "UDP", 53, label=conn.label)
            retry.send(t + 5 * NS + rng.randint(0, 3 * MS), True)  # resolv.conf timeout 5 s
        else:
            ok, t = conn.send(t, True)
            conn.send(t + rng.randint(80, 400) * US, False)
    # kubelet liveness probe of odoo (the local host: always allowed)
    for s in range(8, PHASE_SECONDS, 60):
        conn = Conn(g, node("talos-w-1", router=True), P["odoo"], "TCP", 8069, expect="allow",
                    label="kubelet -> odoo:8069")
        conn.tcp_session(g.at(s), data=False)
    # cilium-health: every node probes the other nodes' health endpoints (ICMP echo every
    # two minutes, HTTP on 4240 in the first round)
    names = list(cluster.nodes)
    for i, s in enumerate(range(2, PHASE_SECONDS, 120)):
        for src_name in names:
            for dst_name in names:
                if src_name == dst_name:
                    continue
                h = cluster.health[dst_name]
                conn = Conn(g, node(src_name, router=True), h, "ICMPv4", 0, expect="ingress",
                            label="cilium-health ICMP")
                t = g.at(s + 0.3 * names.index(dst_name))
                ok, t = conn.send(t, True)
                if ok:
                    conn.send(t + rng.randint(30, 90) * US, False)
                if i == 0:
                    conn = Conn(g, node(src_name, router=True), h, "TCP", 4240, expect="ingress",
                                label="cilium-health HTTP")
                    conn.tcp_session(t + 2 * MS, retries=(1.0,))

    if tail:
        # story "Verification Commands": kubectl run test-dns ... nslookup kubernetes.default
        t = g.at(40)
        t = g.dns_lookup(t, P["test-dns"], "kubernetes.default.default.svc.cluster.local.")
        g.dns_lookup(t + 300 * US, P["test-dns"], "kubernetes.default.svc.cluster.local.")
        # ... and "kubectl exec -n business deploy/odoo -- curl -v http://n8n.business:5678/health"
        for s in (150, 215):
            connect(g.at(s), "odoo", P["n8n"], 5678, "egress", "n8n.business.svc.cluster.local.",
                    label="odoo -> n8n:5678 (story's curl check)")
        # story Task 10: the debug-bypass pod tries the database and the internet
        connect(g.at(100), "debug-shell", P["postgres"], 5432, "egress",
                "postgres.business.svc.cluster.local.")
        connect(g.at(130), "debug-shell", world("api.github.com"), 443, "egress",
                "api.github.com.")
        # conntrack pressure on talos-cp-1: one SYN is dropped because the CT map is full
        # (a drop that is not a policy verdict), then the retransmit goes through ...
        client = P["helm-controller"]
        conn = Conn(g, client, node("talos-cp-1"), "TCP", 6443, expect="allow",
                    label="helm-controller -> apiserver (CT map full)")
        t = g.at(75)
        conn._verdict_event(t, client.node, client, conn.server, conn.l4(True, ("SYN",)), conn.eg,
                            "EGRESS", {"conn": conn, "fwd": True})
        g.rec.flow(t + 4 * US, client.node, verdict="DROPPED", src=client, dst=conn.server,
                   l4=conn.l4(True, ("SYN",)), etype=1, esub=155, drop=155, direction="EGRESS",
                   meta={"conn": conn, "fwd": True, "side": "egress", "counted": True,
                         "infra": True})
        conn.tcp_session(t + 1 * NS + rng.randint(0, 5 * MS))
        # ... and the LRU conntrack map evicted the idle pooled odoo -> postgres connection from
        # phase 1. postgres' TCP keepalive probes (ACK, no SYN, from 5432) now look like new
        # connections leaving postgres and meet postgres' egress policy.
        pooled = Conn(g, P["odoo"], P["postgres"], "TCP", 5432, sport=POOLED_PORT,
                      label="postgres keepalive on the pooled connection")
        pooled.snd_ct = pooled.rcv_ct = True
        back = Conn(g, P["postgres"], P["odoo"], "TCP", POOLED_PORT, sport=5432,
                    expect="egress", label="postgres -> odoo reply after CT loss")
        for k, s in enumerate((190, 265)):  # tcp_keepalive_intvl is 75 s
            t = g.at(s)
            meta = {"reply_truth": True, "conn": back, "fwd": True}
            if back.dropped_in_enforce:
                back.send(t, True, ("ACK",), meta={"reply_truth": True})
                continue
            # audit mode: the first probe creates a conntrack entry at postgres' egress and is
            # audited; odoo's node still has the connection, so there it is a reply.
            if k == 0:
                back._verdict_event(t, back.client.node, back.client, back.server,
                                    back.l4(True, ("ACK",)), back.eg, "EGRESS", meta)
                t += rng.randint(1, 6) * US
            pooled.send(t, False, ("ACK",))

    # LostEvents: the perf ring overflowed / the Hubble events queue filled up briefly
    lost = {"before": [(190, "talos-w-1", "PERF_EVENT_RING_BUFFER", 2, 1)],
            "after": [(76, "talos-cp-1", "OBSERVER_EVENTS_QUEUE", 37, None),
                      (222, "talos-w-2", "PERF_EVENT_RING_BUFFER", 5, 0)],
            "audit": [(163, "talos-w-1", "PERF_EVENT_RING_BUFFER", 3, 1)]}[phase.name]
    for s, n, src, num, cpu in lost:
        g.rec.lost(g.at(s), cluster.nodes[n], src, num, cpu)
    return g



# ---------------------------------------------------------------------------------------
# Reading the capture back the way tierwatch does (issue 2 flow model, issue 3 classes).


GENERATED = set("bcdfghjklmnpqrstvwxz2456789")


def strip_pod_suffix(pod, labels):
    """The pod name without its controller's suffix (tierwatch's flow::StripPodSuffix)."""
    h = labels.get("k8s:pod-template-hash")
    if h:
        mid = "-%s-" % h
        at = pod.rfind(mid)
        if at > 0 and len(pod) - at - len(mid) == 5:
            return pod[:at]
    if "k8s:statefulset.kubernetes.io/pod-name" in labels:
        head, _, tail = pod.rpartition("-")
        if head and tail.isdigit():
            return head
    head, _, tail = pod.rpartition("-")
    if not head:
        return pod
    head2, _, mid = head.rpartition("-")
    if (len(tail) == 5 and all(c.islower() or c.isdigit() for c in tail) and head2
            and 6 <= len(mid) <= 10 and set(mid) <= GENERATED):
        return head2
    if len(tail) == 5 and set(tail) <= GENERATED:
        return head
    if tail.isdigit():
        return head
    return pod


def workload_of(ep):
    """tierwatch's Endpoint::WorkloadName: the same name from every node."""
    labels = dict(l.split("=", 1) for l in ep.get("labels", []) if "=" in l)
    reserved = any(l.startswith("reserved:") for l in ep.get("labels", []))
    label = ""
    if not reserved:
        for k in ("app.kubernetes.io/name", "app", "k8s-app", "name"):
            if labels.get("k8s:" + k):
                label = labels["k8s:" + k]
                break
    if ep.get("pod_name"):
        base = strip_pod_suffix(ep["pod_name"], labels)
        if label and base.startswith(label) and (len(base) == len(label) or base[len(label)] == "-"):
            return label
        if reserved:
            head, _, tail = base.rpartition("-")
            if head and len(tail) > 1 and tail[0] == "v" and tail[1:].isdigit():
                base = head
        if base:
            return base
    if label:
        return label
    if ep.get("workloads"):
        return ep["workloads"][0]["name"]
    sa = labels.get("k8s:io.cilium.k8s.policy.serviceaccount", "")
    return "" if sa == "default" else sa


ENTITY_ORDER = ("kube-apiserver", "host", "remote-node", "health", "ingress", "init",
                "unmanaged", "world")


def peer_of(ep, ip, names, role):
    if ep.get("namespace"):
        return "%s/%s" % (ep["namespace"], workload_of(ep))
    reserved = {l.split(":", 1)[1] for l in ep.get("labels", []) if l.startswith("reserved:")}
    for e in ENTITY_ORDER:
        if e in reserved:
            if e == "world" and role == "destination":
                return names[0] if names else ip
            return "(%s)" % e
    return ip


def key_of(flow):
    """Connection key of an original-direction flow, as issue 2 defines it."""
    l4 = flow["l4"]
    proto = next(iter(l4))
    if proto == "ICMPv4":
        port = l4[proto].get("type", 0)
    else:
        port = l4[proto]["destination_port"]
    src = peer_of(flow["source"], flow["IP"]["source"], flow.get("source_names", []), "source")
    dst = peer_of(flow["destination"], flow["IP"]["destination"],
                  flow.get("destination_names", []), "destination")
    return "%s -> %s:%d/%s" % (src, dst, port, proto)


def classify(flow, meta, baseline, server_ports):
    """Issue 3's classes, first match wins."""
    drop = flow.get("drop_reason", 0)
    if drop and drop not in (133, 181, 189):
        return "infra_drop"
    l4 = flow["l4"]
    proto = next(iter(l4))
    flags = l4[proto].get("flags", {}) if proto == "TCP" else {}
    sport = l4[proto].get("source_port", 0)
    src = peer_of(flow["source"], flow["IP"]["source"], [], "source")
    # A reply: TCP without SYN (or SYN+ACK) from a port the baseline knows as this
    # endpoint's server port.
    if proto == "TCP" and (not flags.get("SYN") or flags.get("ACK")) and \
            (src, proto, sport) in server_ports:
        assert meta.get("reply_truth"), "inferred a reply the generator did not send"
        return "reply_drop"
    assert not meta.get("reply_truth"), "a reply the issue-3 inference does not recognise"
    dst_ep = flow["destination"]
    dport = l4[proto].get("destination_port", 0)
    dst_labels = set(dst_ep.get("labels", []))
    if ("k8s:k8s-app=kube-dns" in dst_labels and
            "k8s:io.kubernetes.pod.namespace=kube-system" in dst_labels and dport == 53):
        return "dns_blocked"
    enforcing = flow["source"] if flow["traffic_direction"] == "EGRESS" else dst_ep
    ns = enforcing.get("namespace", "")
    reserved = {l for l in enforcing.get("labels", []) if l.startswith("reserved:")}
    if ns in TIER0 or reserved & {"reserved:health", "reserved:ingress"}:
        return "tier0_violation"
    src_ep = flow["source"]
    src_labels = set(src_ep.get("labels", []))
    if src_ep.get("namespace") == "observability" and any(
            "k8s:app.kubernetes.io/name=" + n in src_labels for n in SCRAPER_NAMES) and \
            dport in METRICS_PORTS:
        return "metrics_scrape_blocked"
    if BYPASS_LABEL in enforcing.get("labels", []):
        return "bypass_ineffective"
    if ns in TIER1:
        return "platform_blocked"
    if key_of(flow) in baseline:
        return "baseline_regression"
    return "expected_deny"


CLASS_ORDER = ("infra_drop", "reply_drop", "dns_blocked", "tier0_violation",
               "metrics_scrape_blocked", "bypass_ineffective", "platform_blocked",
               "baseline_regression", "expected_deny")
SEVERITY = {"dns_blocked": "critical", "tier0_violation": "critical",
            "metrics_scrape_blocked": "high", "platform_blocked": "high",
            "baseline_regression": "high", "bypass_ineffective": "high",
            "infra_drop": "medium", "expected_deny": "low", "reply_drop": "low"}


def learn_baseline(events):
    """Connections of phase 1: originals only (the generator knows which packets are
    replies); also the (server endpoint, protocol, port) triples for reply inference."""
    baseline, server_ports = set(), set()
    for t, seq, obj, meta in events:
        if "flow" not in obj or meta.get("fwd") is not True:
            continue
        f = obj["flow"]
        if f["verdict"] not in ("FORWARDED", "REDIRECTED"):
            continue
        k = key_of(f)
        baseline.add(k)
        dst = k.split(" -> ", 1)[1]
        ep, port_proto = dst.rsplit(":", 1)
        port, proto = port_proto.split("/")
        server_ports.add((ep, proto, int(port)))
    return baseline, server_ports


# ---------------------------------------------------------------------------------------
# Self-checks on the written events (what a Hubble reader relies on).


def check_events(phase, events):
    uuids = set()
    last = None
    for t, seq, obj, meta in events:
        assert last is None or t >= last, "unsorted"
        last = t
        if "lost_events" in obj:
            continue
        f = obj["flow"]
        assert f["uuid"] not in uuids
        uuids.add(f["uuid"])
        assert obj["node_name"] == f["node_name"] and obj["time"] == f["time"]
        et = f["event_type"]["type"]
        if f["verdict"] == "DROPPED":
            assert "is_reply" not in f and "reply" not in f, "Hubble leaves is_reply unset on drops"
            assert f.get("drop_reason_desc") and f.get("traffic_direction")
            assert et in (1, 5)
        if et == 1:
            assert f["event_type"]["sub_type"] == f["drop_reason"]
        if et == 5 and f["verdict"] != "DROPPED":
            assert f["is_reply"] is False, "policy-verdict events say is_reply false"
        if phase.name == "before":
            assert f["verdict"] in ("FORWARDED", "REDIRECTED"), f
        if phase.name == "audit":
            assert not (et == 1 and f["drop_reason"] in (133, 181)), "policy drop in audit mode"
            if f["verdict"] == "AUDIT":
                assert et == 5 and "drop_reason" not in f
        if f["Type"] == "L7":
            assert et == 129 and f["l7"]["dns"]["observation_source"] == "proxy"
        d = f["destination"]
        if "reserved:world" in d.get("labels", []) and f["IP"]["destination"] != UPSTREAM_DNS:
            assert f.get("destination_names"), "world flows carry names (DNS visibility)"


def summarize(phase, events, baseline, server_ports):
    classes = OrderedDict((c, {"connections": set(), "events": 0, "examples": OrderedDict()})
                          for c in CLASS_ORDER)
    verdicts = defaultdict(int)
    for t, seq, obj, meta in events:
        if "flow" not in obj:
            continue
        f = obj["flow"]
        verdicts[f["verdict"]] += 1
        counted = (f["event_type"]["type"] == 1) or (f["verdict"] == "AUDIT")
        assert counted == bool(meta.get("counted")), (f, meta)
        if not counted:
            continue
        cls = classify(f, meta, baseline, server_ports)
        k = key_of(f)
        c = classes[cls]
        c["connections"].add(k)
        c["events"] += 1
        side = "source" if f["traffic_direction"] == "EGRESS" else "destination"
        ex = c["examples"].setdefault((k, side), OrderedDict([
            ("connection", k),
            ("enforcing_side", side),
            ("traffic_direction", f["traffic_direction"]),
            ("drop_reason", f.get("drop_reason_desc")),
            ("verdict", f["verdict"]),
            ("in_baseline", k in baseline),
            ("nodes", set()),
            ("events", 0)]))
        ex["events"] += 1
        ex["nodes"].add(f["node_name"])
    out = OrderedDict()
    for cls, c in classes.items():
        exs = []
        for ex in c["examples"].values():
            ex = OrderedDict(ex)
            ex["nodes"] = sorted(ex["nodes"])
            exs.append(ex)
        exs.sort(key=lambda e: (e["connection"], e["enforcing_side"]))
        out[cls] = OrderedDict([("severity", SEVERITY[cls]),
                                ("connections", len(c["connections"])),
                                ("events", c["events"]),
                                ("examples", exs)])
    return out, dict(sorted(verdicts.items()))


# ---------------------------------------------------------------------------------------


def render_lines(events):
    return "".join(json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n"
                   for t, seq, obj, meta in sorted(events, key=lambda e: (e[0], e[1])))


def build():
    uids, phases = build_phases()
    cluster = build_cluster(random.Random(SEED))
    outputs = OrderedDict()
    results = OrderedDict()
    baseline = server_ports = None
    for i, phase in enumerate(phases):
        g = generate_phase(phase, cluster, uids, SEED + 101 * (i + 1))
        events = sorted(g.rec.events, key=lambda e: (e[0], e[1]))
        assert events[0][0] >= phase.start and events[-1][0] < phase.end + 30 * NS
        check_events(phase, events)
        assert phase.name == "before" or g.checked >= 20, "too few expectations checked"
        if phase.name == "before":
            baseline, server_ports = learn_baseline(events)
            results[phase.name] = OrderedDict([
                ("description", phase.description),
                ("lines", len(events)),
                ("baseline_connections", sorted(baseline))])
        else:
            classes, verdicts = summarize(phase, events, baseline, server_ports)
            for cls in CLASS_ORDER:
                assert classes[cls]["connections"] > 0, "%s has no %s" % (phase.name, cls)
            results[phase.name] = OrderedDict([
                ("description", phase.description),
                ("lines", len(events)),
                ("verdicts", verdicts),
                ("counted_events", sum(c["events"] for c in classes.values())),
                ("classes", classes)])
        outputs[phase.name + ".jsonl"] = render_lines(events)
    # the audit phase finds the same classes as enforcement, marked as predictions
    assert set(k for k, v in results["after"]["classes"].items() if v["connections"]) == \
        set(k for k, v in results["audit"]["classes"].items() if v["connections"])
    doc = OrderedDict([
        ("generator", "scripts/gen-example.py"),
        ("how_counted", "events: each denied packet once (type-1 drop events; the type-5 "
                        "policy-verdict twin of a drop is not counted), plus type-5 AUDIT "
                        "events in the audit phase. connections: distinct connection keys "
                        "'source -> destination:port/protocol' (issue 2 flow model; ICMP uses "
                        "the echo-request type as port). baseline: the original-direction "
                        "connections of before.jsonl."),
        ("tiers", OrderedDict([("tier0", list(TIER0)), ("tier1", list(TIER1))])),
        ("scrapers", "namespace observability, app.kubernetes.io/name in %s" % (list(SCRAPER_NAMES),)),
        ("metrics_ports", list(METRICS_PORTS)),
        ("bypass_label", "policy.cilium.io/enforce=false"),
        ("notes", [
            "Hubble sets is_reply:false on every non-drop policy-verdict event (type 5), AUDIT "
            "included, because it assumes a verdict is a connection's first packet. The audit "
            "phase's reply_drop (postgres:5432 -> odoo:41736, TCP ACK without SYN) therefore "
            "carries is_reply:false; reply-ness must be inferred as for drops (known server "
            "port), not read from that field.",
            "In the audit phase both sides of a connection can be audited (egress at the "
            "source and ingress at the destination), and the two sides may fall into different "
            "classes (debug-shell -> postgres:5432 is bypass_ineffective at the source and "
            "expected_deny at the destination).",
            "The infra_drop (CT_MAP_INSERTION_FAILED) is preceded by a FORWARDED type-5 verdict "
            "for the same packet: policy allowed it, conntrack could not record it.",
        ]),
        ("before", results["before"]),
        ("after", results["after"]),
        ("audit", results["audit"]),
    ])
    outputs["expected-classes.json"] = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    outputs["README.md"] = update_readme(doc, selection_table(phases[1], cluster))
    return outputs


def selection_table(phase, cluster):
    """Which of the phase-2 policies select each endpoint, per direction; `*` marks the ones
    that switch that direction to default-deny (cilium-policy.md §2.1)."""
    rows = ["| endpoint | node(s) | egress: selected by | ingress: selected by |",
            "|---|---|---|---|"]
    seen = OrderedDict()
    for p in cluster.pods.values():
        seen.setdefault((p.ns, p.workload), []).append(p)
    entries = [("%s/%s" % k, ps) for k, ps in seen.items()]
    entries.append(("(health), Cilium's health endpoint", list(cluster.health.values())))
    for name, eps in entries:
        ep = eps[0]
        cells = []
        for direction in ("egress", "ingress"):
            names = ["%s%s" % (pol.name, "*" if pol.default_deny(direction) else "")
                     for pol in phase.policies if pol.selects(ep) and pol.spec.get(direction)]
            cells.append(", ".join(names) if names else "none (not enforced)")
        nodes = ", ".join(sorted({e.node.name for e in eps}))
        rows.append("| %s | %s | %s | %s |" % (name, nodes, cells[0], cells[1]))
    return "\n".join(rows)


README_BEGIN = "<!-- counts:begin (generated by scripts/gen-example.py; do not edit) -->"
README_END = "<!-- counts:end -->"
SELECTION_BEGIN = "<!-- selection:begin (generated by scripts/gen-example.py; do not edit) -->"
SELECTION_END = "<!-- selection:end -->"


def update_readme(doc, selection):
    path = os.path.join(OUT_DIR, "README.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    lines = [README_BEGIN, "",
             "| class | severity | after: connections | after: drop events | audit: connections | audit: events (AUDIT, or a non-policy drop) |",
             "|---|---|---:|---:|---:|---:|"]
    for cls in CLASS_ORDER:
        a = doc["after"]["classes"][cls]
        u = doc["audit"]["classes"][cls]
        lines.append("| `%s` | %s | %d | %d | %d | %d |" % (
            cls, a["severity"], a["connections"], a["events"], u["connections"], u["events"]))
    lines.append("| **total** (connections summed over classes) | | %d | %d | %d | %d |" % (
        sum(c["connections"] for c in doc["after"]["classes"].values()),
        doc["after"]["counted_events"],
        sum(c["connections"] for c in doc["audit"]["classes"].values()),
        doc["audit"]["counted_events"]))
    lines.append("")
    lines.append("Lines per file: before.jsonl %d, after.jsonl %d, audit.jsonl %d. "
                 "Baseline (before.jsonl): %d connections." % (
                     doc["before"]["lines"], doc["after"]["lines"], doc["audit"]["lines"],
                     len(doc["before"]["baseline_connections"])))
    lines += ["", README_END]
    text = _replace_block(text, README_BEGIN, README_END, "\n".join(lines))
    return _replace_block(text, SELECTION_BEGIN, SELECTION_END,
                          "\n".join([SELECTION_BEGIN, "", selection, "", SELECTION_END]))


def _replace_block(text, begin, end, block):
    assert begin in text and end in text, "README.md lacks the markers %s" % begin
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return head + block + tail


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 when a file on disk differs from what would be written")
    args = ap.parse_args()
    outputs = build()
    stale = []
    for name, content in outputs.items():
        path = os.path.join(OUT_DIR, name)
        old = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                old = f.read()
        if old != content:
            stale.append(name)
            if not args.check:
                with open(path, "w", encoding="utf-8", newline="\n") as f:
                    f.write(content)
    for name, content in outputs.items():
        print("%-22s %8d bytes%s" % (name, len(content.encode("utf-8")),
                                      "  (changed)" if name in stale else ""))
    if args.check and stale:
        print("stale: %s (run python3 scripts/gen-example.py)" % ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
