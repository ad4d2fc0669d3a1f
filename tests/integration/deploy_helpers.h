// Helpers for the tests of deploy/ and examples/: run a shell command line, render a
// kustomization with `kubectl kustomize` (skipping, saying why, where kubectl is absent),
// write Hubble flows as jsonpb capture lines, and run `tierwatch simulate` on them.
//
//   if (!tw::deploy_test::HaveKubectl()) GTEST_SKIP() << tw::deploy_test::kNoKubectl;
//   auto docs = tw::deploy_test::Render("deploy/tierwatch");               // YAML documents
//   auto docs2 = tw::deploy_test::RenderWith("deploy/tierwatch",
//   {"deploy/tierwatch/components/relay-tls"}); tw::deploy_test::Ep tw{"observability",
//   {"app.kubernetes.io/name=tierwatch"}}; std::string line = tw::deploy_test::FlowLine(tw, relay,
//   "TCP", 4245);
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "testing/paths.h"
#include "yaml-cpp/yaml.h"

namespace tw::deploy_test {

namespace fs = std::filesystem;

inline constexpr const char* kNoKubectl =
    "kubectl is absent (it is not a Debian 12 package; the development machines and CI have "
    "it): the kustomize renders are not checked here";

struct ShellResult {
  int status = -1;
  std::string out;
};

// Runs a shell command line; stdout is captured, stderr passes through to the test log.
inline ShellResult RunShell(const std::string& cmd) {
  ShellResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

inline std::string Src(const std::string& rel) { return tw::testing::SourceDir() + "/" + rel; }
inline std::string Tw() { return tw::testing::TierwatchBin(); }

inline bool HaveKubectl() { return RunShell("command -v kubectl >/dev/null 2>&1").status == 0; }

// A fresh directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            absl::StrCat("tw_", tag, "_", getpid(), "_", counter.fetch_add(1));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& p) const { return path_ / p; }

 private:
  fs::path path_;
};

inline void WriteFile(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

inline std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// `kubectl kustomize DIR` (DIR relative to the source tree) as YAML documents; `ok` false
// (and the output in `error`) when kustomize fails.
struct Rendered {
  bool ok = false;
  std::string error;
  std::string text;
  std::vector<YAML::Node> docs;
  // The documents of one kind, in render order.
  std::vector<YAML::Node> OfKind(const std::string& kind) const {
    std::vector<YAML::Node> out;
    for (const auto& d : docs)
      if (d["kind"] && d["kind"].as<std::string>() == kind) out.push_back(d);
    return out;
  }
};

inline Rendered RenderPath(const fs::path& dir) {
  Rendered r;
  ShellResult s = RunShell(absl::StrCat("kubectl kustomize ", dir.string(), " 2>&1"));
  r.text = s.out;
  if (s.status != 0) {
    r.error = s.out;
    return r;
  }
  try {
    r.docs = YAML::LoadAll(s.out);
  } catch (const YAML::Exception& e) {
    r.error = e.what();
    return r;
  }
  r.ok = true;
  return r;
}

inline Rendered Render(const std::string& rel) { return RenderPath(Src(rel)); }

// Renders `base` with kustomize components added, the way an operator enables them: an
// overlay kustomization (in a temporary directory, pointing back with relative paths, as
// kustomize refuses absolute ones) whose `components:` lists them.
inline Rendered RenderWith(const std::string& base, const std::vector<std::string>& components,
                           const std::string& namespace_name = "observability") {
  TempDir dir("overlay");
  auto rel = [&](const std::string& p) {
    return fs::relative(fs::weakly_canonical(Src(p)), dir.path()).string();
  };
  std::string k =
      absl::StrCat("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: ",
                   namespace_name, "\nresources:\n  - ", rel(base), "\ncomponents:\n");
  for (const auto& c : components) absl::StrAppend(&k, "  - ", rel(c), "\n");
  WriteFile(dir / "kustomization.yaml", k);
  return RenderPath(dir.path());
}

// One endpoint of a flow, as Hubble shows a pod (namespace + labels) or a reserved entity
// (labels like "reserved:world", no namespace).
struct Ep {
  std::string ns;                   // "" for entities
  std::vector<std::string> labels;  // without the k8s: prefix for pods; reserved:... as is
  std::string pod;                  // pod name ("" for entities)
  std::string ip = "10.0.0.1";
  int identity = 30000;
  std::string node = "homelab/talos-w-1";
};

inline nlohmann::json EndpointJson(const Ep& e) {
  nlohmann::json j;
  j["identity"] = e.identity;
  nlohmann::json labels = nlohmann::json::array();
  for (const auto& l : e.labels) {
    labels.push_back(l.rfind("reserved:", 0) == 0 || l.rfind("k8s:", 0) == 0 ? l : "k8s:" + l);
  }
  if (!e.ns.empty()) {
    labels.push_back("k8s:io.kubernetes.pod.namespace=" + e.ns);
    j["namespace"] = e.ns;
    j["pod_name"] = e.pod.empty() ? "pod-0" : e.pod;
  }
  j["labels"] = labels;
  return j;
}

// A forwarded, original-direction flow src -> dst:port/proto, seen at the source's egress.
inline std::string FlowLine(const Ep& src, const Ep& dst, const std::string& proto, int port,
                            int second = 0) {
  nlohmann::json f;
  char t[64];
  snprintf(t, sizeof(t), "2026-11-20T09:%02d:%02dZ", second / 60 % 60, second % 60);
  f["time"] = t;
  f["verdict"] = "FORWARDED";
  f["IP"] = {{"source", src.ip}, {"destination", dst.ip}, {"ipVersion", "IPv4"}};
  if (proto == "TCP") {
    f["l4"]["TCP"] = {
        {"source_port", 40000}, {"destination_port", port}, {"flags", {{"SYN", true}}}};
  } else {
    f["l4"]["UDP"] = {{"source_port", 40000}, {"destination_port", port}};
  }
  f["source"] = EndpointJson(src);
  f["destination"] = EndpointJson(dst);
  f["Type"] = "L3_L4";
  f["node_name"] = src.node;
  f["event_type"] = {{"type", 4}};
  f["traffic_direction"] = "EGRESS";
  f["is_reply"] = false;
  return nlohmann::json{{"flow", f}, {"node_name", src.node}, {"time", t}}.dump();
}

// `tierwatch simulate -o json` of the capture `lines` against `policies` (paths separated by
// spaces, relative to the source tree or absolute).
inline nlohmann::json Simulate(const std::string& policies, const std::vector<std::string>& lines,
                               const std::string& extra = "") {
  TempDir dir("simulate");
  std::string capture;
  for (const auto& l : lines) absl::StrAppend(&capture, l, "\n");
  WriteFile(dir / "capture.jsonl", capture);
  ShellResult r = RunShell(absl::StrCat("cd ", tw::testing::SourceDir(), " && ", Tw(),
                                        " simulate --policies ", policies, " --capture ",
                                        (dir / "capture.jsonl").string(), " -o json ", extra));
  if (r.status != 0 && r.status != 1) return nlohmann::json{{"error", r.out}};
  return nlohmann::json::parse(r.out, nullptr, false);
}

// The connections ("src -> dst:port/PROTO") a simulation says would break.
inline std::vector<std::string> Broken(const nlohmann::json& sim) {
  std::vector<std::string> out;
  if (!sim.contains("breaks")) return out;
  for (const auto& b : sim["breaks"]) out.push_back(b["connection"].get<std::string>());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace tw::deploy_test
