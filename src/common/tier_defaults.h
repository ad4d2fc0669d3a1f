// The story's tier model: the one list of defaults that both the tier model (tier/) and the
// policy linter's options (policy/lint.h, which must not depend on tier/) start from, so the
// two can never disagree. config/tiers.yaml writes the same model out for operators to copy;
// a test checks that it parses to the built-in one.
//
//   std::vector<std::string> tier0 = tw::defaults::Strings(tw::defaults::kTier0Namespaces);
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tw::defaults {

// Tier 0: cluster infrastructure, never policed.
inline constexpr std::array<absl::string_view, 4> kTier0Namespaces = {"kube-system", "flux-system",
                                                                      "cilium", "cilium-secrets"};
// Tier 1: platform services with controlled access.
inline constexpr std::array<absl::string_view, 3> kTier1Namespaces = {
    "observability", "cert-manager", "external-secrets"};
// Controllers that must reach the Kubernetes API server (lint rule TW008).
inline constexpr std::array<absl::string_view, 3> kApiserverEgressNamespaces = {
    "cert-manager", "external-secrets", "flux-system"};

// The cluster DNS service: namespace, pod label, port (UDP and TCP).
inline constexpr absl::string_view kDnsNamespace = "kube-system";
inline constexpr absl::string_view kDnsLabelKey = "k8s-app";
inline constexpr absl::string_view kDnsLabelValue = "kube-dns";
inline constexpr uint16_t kDnsPort = 53;

// The pod label that takes a pod out of default-deny for troubleshooting.
inline constexpr absl::string_view kBypassLabelKey = "policy.cilium.io/enforce";
inline constexpr absl::string_view kBypassLabelValue = "false";

template <size_t N>
std::vector<std::string> Strings(const std::array<absl::string_view, N>& names) {
  return std::vector<std::string>(names.begin(), names.end());
}

}  // namespace tw::defaults
