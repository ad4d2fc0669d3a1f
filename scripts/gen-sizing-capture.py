#!/usr/bin/env python3
"""Writes a synthetic Hubble capture (`hubble observe -o jsonpb` lines) with a chosen number
of distinct connections, for sizing tierwatch: the memory a baseline of N connections takes
in `tierwatch run`, how long loading and saving it takes (docs/operations.md#sizing,
scripts/measure-sizing.sh).

    python3 scripts/gen-sizing-capture.py --connections 1000000 > big.jsonl
    tierwatch baseline learn --capture big.jsonl --out big.twb

One forwarded, non-reply TCP flow per connection: workload i in namespace i % namespaces
talks to workload j of the same or the next namespace on one of 8 ports, so every
connection is distinct. Pods carry five labels like a Helm-installed app. Deterministic
(no randomness, fixed start time), standard library only.
"""

import argparse
import datetime
import sys

PORTS = [80, 443, 5432, 6379, 8080, 8443, 9090, 9092]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--connections", type=int, default=100000)
    ap.add_argument("--namespaces", type=int, default=200)
    ap.add_argument("--nodes", type=int, default=12)
    args = ap.parse_args()

    n = args.connections
    # sources x destinations x ports >= n, with about as many sources as destinations.
    per_src = 64 * len(PORTS)  # 64 destinations, 8 ports each
    sources = (n + per_src - 1) // per_src
    t0 = datetime.datetime(2026, 11, 20, 9, 0, 0, tzinfo=datetime.timezone.utc)
    out = sys.stdout
    written = 0
    for s in range(sources):
        src_ns = f"team-{s % args.namespaces:03d}"
        src_app = f"app-{s:06d}"
        src_labels = endpoint_labels(src_ns, src_app)
        src_ip = ip_of(s)
        for d in range(64):
            dst_index = (s * 64 + d) % max(sources, 64)
            dst_ns = f"team-{(s + d % 2) % args.namespaces:03d}"
            dst_app = f"svc-{dst_index:06d}"
            dst_labels = endpoint_labels(dst_ns, dst_app)
            dst_ip = ip_of(1_000_000 + dst_index)
            for port in PORTS:
                if written == n:
                    return
                t = t0 + datetime.timedelta(microseconds=written)
                ts = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                node = f"sizing/node-{written % args.nodes:02d}"
                out.write(
                    '{"flow":{"time":"%s","verdict":"FORWARDED","IP":{"source":"%s",'
                    '"destination":"%s","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":%d,'
                    '"destination_port":%d,"flags":{"SYN":true}}},"source":{"identity":%d,'
                    '"namespace":"%s","labels":%s,"pod_name":"%s-7d4b9c-x%d"},'
                    '"destination":{"identity":%d,"namespace":"%s","labels":%s,'
                    '"pod_name":"%s-5f6c8d-y%d"},"Type":"L3_L4","node_name":"%s",'
                    '"event_type":{"type":4},"traffic_direction":"EGRESS",'
                    '"is_reply":false},"node_name":"%s","time":"%s"}\n'
                    % (ts, src_ip, dst_ip, 30000 + written % 30000, port, 100000 + s,
                       src_ns, src_labels, src_app, s % 3, 200000 + dst_index, dst_ns,
                       dst_labels, dst_app, dst_index % 3, node, node, ts))
                written += 1


def endpoint_labels(ns, app):
    return ('["k8s:app.kubernetes.io/name=%s","k8s:app.kubernetes.io/instance=%s",'
            '"k8s:app.kubernetes.io/part-of=%s","k8s:io.cilium.k8s.policy.serviceaccount=%s",'
            '"k8s:io.kubernetes.pod.namespace=%s"]' % (app, app, ns, app, ns))


def ip_of(i):
    return f"10.{64 + (i >> 16) % 64}.{(i >> 8) & 255}.{i & 255}"


if __name__ == "__main__":
    main()
