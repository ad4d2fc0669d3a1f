// A generated CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy set of any size for the
// benchmarks: COUNT policies over NAMESPACES namespaces "ns-N", selecting pods by
// `app: app-M` (M < 40), in six shapes (allow-all, ingress from an app on a port, egress
// to an app and the API server, FQDN egress, deny from world with allow from cluster,
// CIDR egress with exceptions) plus a clusterwide DNS rule every 25th.
#pragma once

#include <string>

#include "absl/strings/str_cat.h"

namespace tw::bench {

inline std::string GeneratedPolicies(int count, int namespaces) {
  std::string y;
  for (int i = 0; i < count; ++i) {
    std::string ns = absl::StrCat("ns-", i % namespaces);
    int kind = i % 6;
    if (i % 25 == 0) {
      absl::StrAppend(&y, "---\napiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\n",
                      "metadata: {name: ccnp-", i, "}\nspec:\n  endpointSelector:\n",
                      "    matchExpressions:\n    - {key: k8s:io.kubernetes.pod.namespace, ",
                      "operator: NotIn, values: [kube-system, flux-system]}\n",
                      "  enableDefaultDeny: {egress: false, ingress: false}\n",
                      "  egress:\n  - toEndpoints:\n    - matchLabels: "
                      "{k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}\n",
                      "    toPorts:\n    - ports: [{port: \"53\", protocol: ANY}]\n",
                      "      rules: {dns: [{matchPattern: \"*\"}]}\n");
      continue;
    }
    absl::StrAppend(&y, "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\n",
                    "metadata: {name: p-", i, ", namespace: ", ns, "}\nspec:\n");
    switch (kind) {
      case 0:
        absl::StrAppend(&y, "  endpointSelector: {}\n  ingress: [{}]\n  egress: [{}]\n");
        break;
      case 1:
        absl::StrAppend(&y, "  endpointSelector: {matchLabels: {app: app-", i % 40, "}}\n",
                        "  ingress:\n  - fromEndpoints: [{matchLabels: {app: app-", (i + 1) % 40,
                        "}}]\n    toPorts: [{ports: [{port: \"8080\", protocol: TCP}]}]\n");
        break;
      case 2:
        absl::StrAppend(&y, "  endpointSelector: {matchLabels: {app: app-", i % 40, "}}\n",
                        "  egress:\n  - toEndpoints: [{matchLabels: {app: app-", (i + 3) % 40,
                        "}}]\n  - toEntities: [kube-apiserver]\n",
                        "    toPorts: [{ports: [{port: \"6443\", protocol: TCP}]}]\n");
        break;
      case 3:
        absl::StrAppend(&y, "  endpointSelector:\n    matchExpressions:\n",
                        "    - {key: app, operator: In, values: [app-", i % 40, ", app-",
                        (i + 5) % 40, "]}\n  egress:\n  - toFQDNs:\n",
                        "    - matchPattern: \"*.example.com\"\n    - matchName: api.github.com\n",
                        "    toPorts: [{ports: [{port: \"443\", protocol: TCP}]}]\n");
        break;
      case 4:
        absl::StrAppend(&y, "  endpointSelector: {}\n  ingressDeny:\n",
                        "  - fromEntities: [world]\n    toPorts: [{ports: [{port: \"22\"}]}]\n",
                        "  ingress:\n  - fromEntities: [cluster]\n");
        break;
      case 5:
        absl::StrAppend(&y, "  endpointSelector: {matchLabels: {app: app-", i % 40, "}}\n",
                        "  egress:\n  - toCIDRSet:\n    - cidr: 0.0.0.0/0\n",
                        "      except: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]\n");
        break;
    }
  }
  return y;
}

}  // namespace tw::bench
