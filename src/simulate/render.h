// Showing a simulation: the text a reviewer reads in CI and one JSON document for tools.
//
//   std::cout << tw::simulate::RenderText(result, {.title = "8 policies vs 48 connections"});
//   std::cout << tw::simulate::RenderJson(result, {}).dump(2);
#pragma once

#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "simulate/simulate.h"

namespace tw::simulate {

struct RenderOptions {
  std::string title;        // first lines (what was simulated against what)
  size_t max_listed = 200;  // would-be drops listed in text (critical and high first)
  bool list_low = true;     // also list medium/low would-be drops in text
  // The classes that fail the gate; empty = every critical and high class.
  std::vector<classify::DropClass> fail_on;
};

std::string RenderText(const SimulationResult& r, const RenderOptions& options);

// {connections, allowed, broken, undecided, synthesized, gate: "pass"|"fail", totals:
//  {class: {severity, drops, connections}}, by_policy: [...], breaks: [{connection,
//  direction, labels_synthesized, drop: <analyze's JSON object>}], undecided: [...]}.
nlohmann::json RenderJson(const SimulationResult& r,
                          const std::vector<classify::DropClass>& fail_on = {});

}  // namespace tw::simulate
