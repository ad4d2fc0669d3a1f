#include "common/yaml_schema.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tw::yaml {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// "Billion laughs": `levels` anchors, each a list of `width` aliases of the previous one.
std::string AliasBomb(int levels, int width) {
  std::string y = "a0: &a0 [x]\n";
  for (int i = 1; i <= levels; ++i) {
    absl::StrAppend(&y, "a", i, ": &a", i, " [");
    for (int j = 0; j < width; ++j) absl::StrAppend(&y, j ? ", " : "", "*a", i - 1);
    absl::StrAppend(&y, "]\n");
  }
  return y;
}

TEST(YamlTreeCheckTest, PlainDocumentPasses) {
  YAML::Node n = YAML::Load("a: 1\nb: [x, y, {c: d}]\n");
  EXPECT_THAT(CheckTree(n, TreeLimits{}), IsEmpty());
}

TEST(YamlTreeCheckTest, HonestAnchorsPass) {
  YAML::Node n = YAML::Load("base: &b {port: 80}\nx: *b\ny: *b\n");
  EXPECT_THAT(CheckTree(n, TreeLimits{}), IsEmpty());
}

TEST(YamlTreeCheckTest, AliasBombStopsAtTheBudget) {
  const std::string text = AliasBomb(8, 10);  // 10^8 leaves from a few hundred bytes
  YAML::Node n = YAML::Load(text);
  std::vector<TreeProblem> p = CheckTree(n, LimitsFor(text.size()));
  ASSERT_THAT(p, SizeIs(1));
  EXPECT_EQ(p[0].code, TreeProblem::Code::kAliasExpansion);
  EXPECT_GT(p[0].line, 0);
  EXPECT_THAT(p[0].message, HasSubstr("expands to more than 100000 YAML nodes"));
  EXPECT_TRUE(HasLimitProblem(p));
}

TEST(YamlTreeCheckTest, BudgetIsExact) {
  YAML::Node n = YAML::Load("[a, b, c]");  // 4 nodes: the list and three items
  EXPECT_THAT(CheckTree(n, TreeLimits{.max_nodes = 4}), IsEmpty());
  EXPECT_THAT(CheckTree(n, TreeLimits{.max_nodes = 3}), SizeIs(1));
}

TEST(YamlTreeCheckTest, LimitsGrowWithTheInput) {
  EXPECT_EQ(LimitsFor(100).max_nodes, 100000u);
  EXPECT_EQ(LimitsFor(10000000).max_nodes, 160000000u);
}

TEST(YamlTreeCheckTest, DeepNestingIsRefused) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += "[";
  for (int i = 0; i < 50; ++i) text += "]";
  YAML::Node n = YAML::Load(text);
  std::vector<TreeProblem> p = CheckTree(n, TreeLimits{.max_depth = 20});
  ASSERT_THAT(p, SizeIs(1));
  EXPECT_EQ(p[0].code, TreeProblem::Code::kTooDeep);
  EXPECT_THAT(CheckTree(n, TreeLimits{}), IsEmpty());
}

TEST(YamlTreeCheckTest, DuplicateKeysAreReportedAtTheSecondWithTheFirstLine) {
  YAML::Node n = YAML::Load("tiers:\n  a: 1\nother: 2\ntiers:\n  b: 2\n");
  std::vector<TreeProblem> p = CheckTree(n, TreeLimits{});
  ASSERT_THAT(p, SizeIs(1));
  EXPECT_EQ(p[0].code, TreeProblem::Code::kDuplicateKey);
  EXPECT_EQ(p[0].line, 4);
  EXPECT_EQ(p[0].column, 1);
  EXPECT_EQ(p[0].ToString(), "tiers: duplicate key (first given at line 1)");
  EXPECT_FALSE(HasLimitProblem(p));
}

TEST(YamlTreeCheckTest, NestedDuplicateNamesItsPathOnce) {
  YAML::Node n =
      YAML::Load("spec: &s\n  endpointSelector: {}\n  endpointSelector: {}\nx: *s\ny: *s\n");
  std::vector<TreeProblem> p = CheckTree(n, TreeLimits{});
  ASSERT_THAT(p, SizeIs(1));  // the aliased mapping is walked three times, reported once
  EXPECT_EQ(p[0].line, 3);
  EXPECT_EQ(p[0].path, "spec.endpointSelector");
}

TEST(YamlTreeCheckTest, QuotedAndPlainSpellingsOfAKeyAreTheSameKey) {
  YAML::Node n = YAML::Load("port: 1\n\"port\": 2\n");
  EXPECT_THAT(CheckTree(n, TreeLimits{}), SizeIs(1));
}

TEST(YamlUnknownKeyTest, OffersTheClosestKnownKeyForATypo) {
  const std::vector<std::string> known = {"tiers", "dns_service", "scrapers"};
  EXPECT_EQ(UnknownKeyMessage("key", "teirs", known),
            "unknown key \"teirs\" (did you mean \"tiers\"?); expected one of: tiers, "
            "dns_service, scrapers");
  EXPECT_EQ(ClosestName("Scrapers", {"tiers", "scrapers"}), "scrapers");  // case ignored
}

TEST(YamlUnknownKeyTest, OffersNothingWhenNoKnownKeyIsClose) {
  EXPECT_EQ(UnknownKeyMessage("field", "colour", std::vector<absl::string_view>{"spec", "kind"}),
            "unknown field \"colour\"; expected one of: spec, kind");
  // Two edits turn "ab" into any two-letter name: a short name must keep a letter.
  EXPECT_EQ(ClosestName("ab", {"xy"}), "");
  EXPECT_EQ(ClosestName("ab", {"ax"}), "ax");
  // Ties go to the earlier name, so the message does not depend on a map's order.
  EXPECT_EQ(ClosestName("port", {"pork", "part"}), "pork");
}

class RecordingReader : public Reader {
 public:
  using Reader::Reader;
  std::vector<std::string> visited;

 protected:
  void Visited(const std::string& path, const YAML::Node&) override { visited.push_back(path); }
};

TEST(YamlReaderTest, TypedReadsReportAtTheNodeWithTheirPath) {
  YAML::Node n = YAML::Load("level: 12\nname: [a]\nkeep: maybe\nports: 70000\nteirs: 1\n");
  RecordingReader r("t.yaml");
  ASSERT_TRUE(r.Map(n, "tier", {"level", "name", "keep", "ports", "tiers"}));
  int64_t level = 0;
  std::string name;
  bool keep = false;
  uint64_t ports = 0;
  EXPECT_FALSE(r.Int(n["level"], "tier.level", 0, 9, &level));
  EXPECT_FALSE(r.String(n["name"], "tier.name", &name));
  EXPECT_FALSE(r.Bool(n["keep"], "tier.keep", &keep));
  EXPECT_FALSE(r.Uint(n["ports"], "tier.ports", 65535, &ports));
  std::vector<std::string> text;
  for (const Diagnostic& d : r.diagnostics()) text.push_back(d.ToString());
  EXPECT_THAT(
      text,
      ::testing::ElementsAre(
          "t.yaml:5:1: error: tier: unknown key \"teirs\" (did you mean "
          "\"tiers\"?); expected one of: level, name, keep, ports, tiers",
          "t.yaml:1:8: error: tier.level: expected an integer from 0 to 9, got \"12\"",
          "t.yaml:2:7: error: tier.name: expected a string, got a list",
          "t.yaml:3:7: error: tier.keep: expected true or false, got \"maybe\"",
          "t.yaml:4:8: error: tier.ports: expected an integer from 0 to 65535, got \"70000\""));
  EXPECT_THAT(r.visited,
              ::testing::ElementsAre("tier", "tier.level", "tier.name", "tier.keep", "tier.ports"));

  YAML::Node list = YAML::Load("[1, 2]");
  EXPECT_FALSE(r.Map(list, "tier", {"level"}));
  EXPECT_EQ(r.diagnostics().back().ToString(),
            "t.yaml:1:1: error: tier: expected a mapping with keys (level), got a list");
  EXPECT_TRUE(r.Int(YAML::Load("7"), "x", 0, 9, &level));
  EXPECT_EQ(level, 7);
}

std::vector<std::string> Texts(Reader& r) {
  std::vector<std::string> out;
  for (const Diagnostic& d : r.diagnostics()) out.push_back(d.ToString());
  return out;
}

TEST(YamlReaderTest, DescribeSaysWhatWasFound) {
  EXPECT_EQ(Describe(YAML::Load("x: 5")["x"]), "\"5\"");
  EXPECT_EQ(Describe(YAML::Load("x:")["x"]), "nothing");
  EXPECT_EQ(Describe(YAML::Load("[1]")), "a list");
  EXPECT_EQ(Describe(YAML::Load("{a: 1}")), "a mapping");
  EXPECT_EQ(Describe(YAML::Load(std::string(100, 'a'))), "\"" + std::string(57, 'a') + "...\"");
  EXPECT_EQ(Describe(YAML::Load("x: |\n  one\n  two\n")["x"]), "\"one...\"");  // one line
  // Never inside a UTF-8 sequence: "é" is two bytes, the 57th byte starts one.
  EXPECT_EQ(Describe(YAML::Load(std::string(56, 'a') + "\xc3\xa9zzzzzzzzzz")),
            "\"" + std::string(56, 'a') + "...\"");
}

TEST(YamlReaderTest, KeyNodeIsWhereASectionStarts) {
  const YAML::Node n = YAML::Load("a: 1\nrelay:\n  address: x\n");
  EXPECT_EQ(KeyNode(n, "relay").Mark().line, 1);
  EXPECT_EQ(KeyNode(n, "relay").Mark().column, 0);
  EXPECT_FALSE(KeyNode(n, "absent").IsDefined());
  EXPECT_FALSE(KeyNode(YAML::Load("[1]"), "relay").IsDefined());
}

TEST(YamlReaderTest, AKeyThatIsNoNameIsAnError) {
  Reader r("t.yaml");
  EXPECT_TRUE(r.Map(YAML::Load("? [a]\n: 1\nb: 2\n"), "x", {"b"}));
  EXPECT_THAT(Texts(r),
              ::testing::ElementsAre("t.yaml:1:3: error: x: expected a key name, got a list"));
}

TEST(YamlReaderTest, EmptySectionsAndSettings) {
  const YAML::Node n = YAML::Load("log:\nlisten:\nname: x\n");
  Reader r("t.yaml");
  EXPECT_TRUE(r.MapOrEmpty(n["log"], "log", {"level"}));
  EXPECT_FALSE(n["log"]["level"].IsDefined());  // every key keeps its default
  EXPECT_FALSE(r.Map(n["log"], "log", {"level"}));
  std::string s = "before";
  EXPECT_TRUE(r.StringOrEmpty(n["listen"], "listen", &s));
  EXPECT_EQ(s, "");
  EXPECT_TRUE(r.StringOrEmpty(n["name"], "name", &s));
  EXPECT_EQ(s, "x");
  EXPECT_FALSE(r.String(n["listen"], "listen", &s));
  EXPECT_THAT(Texts(r), ::testing::ElementsAre(
                            "t.yaml:2:1: error: log: expected a mapping with keys (level), got "
                            "nothing",
                            "t.yaml:3:1: error: listen: expected a string, got nothing"));
}

TEST(YamlReaderTest, StringListTakesOneStringOrAList) {
  const YAML::Node n = YAML::Load("one: a\nmany: [a, [b], c]\nnone:\nbad: {a: b}\n");
  RecordingReader r("t.yaml");
  std::vector<std::string> out = {"old"};
  EXPECT_TRUE(r.StringList(n["one"], "one", &out));
  EXPECT_THAT(out, ::testing::ElementsAre("a"));
  EXPECT_TRUE(r.StringList(n["none"], "none", &out));
  EXPECT_THAT(out, IsEmpty());
  EXPECT_FALSE(r.StringList(n["many"], "many", &out));
  EXPECT_THAT(out, ::testing::ElementsAre("a", "c"));  // the bad item is left out
  EXPECT_FALSE(r.StringList(n["bad"], "bad", &out));
  EXPECT_THAT(Texts(r),
              ::testing::ElementsAre(
                  "t.yaml:2:11: error: many[1]: expected a string, got a list",
                  "t.yaml:4:6: error: bad: expected a string or a list of strings, got a mapping"));
  // Each string kept is visited at its index in the result.
  EXPECT_THAT(r.visited,
              ::testing::ElementsAre("one", "one[0]", "none", "many", "many[0]", "many[1]", "bad"));
}

TEST(YamlReaderTest, Durations) {
  const YAML::Node n = YAML::Load("a: 1h30m\nzero: 0s\nbad: 5 min\nlist: [1s]\n");
  Reader r("t.yaml");
  absl::Duration d;
  EXPECT_TRUE(r.Duration(n["a"], "a", &d));
  EXPECT_EQ(d, absl::Minutes(90));
  EXPECT_TRUE(r.Duration(n["zero"], "zero", &d));
  EXPECT_EQ(d, absl::ZeroDuration());
  d = absl::Seconds(7);
  EXPECT_FALSE(r.PositiveDuration(n["zero"], "zero", &d));
  EXPECT_EQ(d, absl::Seconds(7));  // unchanged on error
  EXPECT_FALSE(r.Duration(n["bad"], "bad", &d));
  EXPECT_FALSE(r.PositiveDuration(n["list"], "list", &d));
  EXPECT_THAT(
      Texts(r),
      ::testing::ElementsAre(
          "t.yaml:2:7: error: zero: expected a duration longer than zero such as 30s, got \"0s\"",
          "t.yaml:3:6: error: bad: expected a duration such as 30s, 5m or 168h (units ns, us, "
          "ms, s, m, h, d), got \"5 min\"",
          "t.yaml:4:7: error: list: expected a duration such as 30s, 5m or 168h (units ns, us, "
          "ms, s, m, h, d), got a list"));
}

TEST(YamlReaderTest, ChoiceNamesTheChoicesAndOffersTheClosest) {
  enum class Mode { kLearn, kWatch };
  const YAML::Node n = YAML::Load("a: watch\nb: lern\nc: sometimes\nd: [x]\n");
  Reader r("t.yaml");
  Mode m = Mode::kLearn;
  const std::vector<std::pair<absl::string_view, Mode>> modes = {{"learn", Mode::kLearn},
                                                                 {"watch", Mode::kWatch}};
  EXPECT_TRUE(r.Choice(n["a"], "a", modes, &m));
  EXPECT_EQ(m, Mode::kWatch);
  EXPECT_FALSE(r.Choice(n["b"], "b", modes, &m));
  EXPECT_FALSE(r.Choice(n["c"], "c", modes, &m));
  EXPECT_FALSE(r.Choice(n["d"], "d", modes, &m));
  EXPECT_EQ(m, Mode::kWatch);
  int level = 0;
  EXPECT_FALSE(r.Choice<int>(n["c"], "c", {{"trace", 0}, {"debug", 1}, {"info", 2}}, &level));
  EXPECT_THAT(
      Texts(r),
      ::testing::ElementsAre(
          "t.yaml:2:4: error: b: expected learn or watch, got \"lern\" (did you mean \"learn\"?)",
          "t.yaml:3:4: error: c: expected learn or watch, got \"sometimes\"",
          "t.yaml:4:4: error: d: expected learn or watch, got a list",
          "t.yaml:3:4: error: c: expected one of trace, debug or info, got \"sometimes\""));
}

}  // namespace
}  // namespace tw::yaml
