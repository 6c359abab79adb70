// guts-node's configuration: the config file parser (node/config_file.h), the option table and
// its layering (node/config.h), and docs/configuration.md generated from the table.
#include "node/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include "core/status.h"
#include "node/config_file.h"
#include "node/sd_notify.h"

using namespace guts;
using namespace guts::node;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string parse_error(const std::string& text) {
  return error_of([&] { parse_config_text(text, "node.toml"); });
}

// One directory per test process, removed when the process exits.
const std::filesystem::path& temp_dir() {
  struct Dir {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("guts-config-test-" + std::to_string(getpid()));
    Dir() { std::filesystem::create_directories(path); }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Dir dir;
  return dir.path;
}

std::filesystem::path write_temp(const std::string& name, const std::string& text) {
  auto p = temp_dir() / name;
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

}  // namespace

TEST(ConfigFile, ParsesTheSubset) {
  auto e = parse_config_text(
      "# a comment\n"
      "\n"
      "api-addr = \"0.0.0.0:8080\"   # trailing comment\n"
      "data_dir='/var/lib/guts'\n"
      "api-threads = +1_000\r\n"
      "neg = -9223372036854775808\n"
      "validator = false\n"
      "bootstrap = [\n"
      "  \"a\",  # first\n"
      "  'b\\n',\n"
      "]\n"
      "empty = []\n"
      "esc = \"q\\\"\\\\\\t\\u00e9\"",
      "x");
  ASSERT_EQ(e.size(), 8u);
  EXPECT_EQ(e[0].key, "api-addr");
  EXPECT_EQ(e[0].line, 3);
  EXPECT_EQ(e[0].value.string, "0.0.0.0:8080");
  EXPECT_EQ(e[1].key, "data_dir");
  EXPECT_EQ(e[1].value.string, "/var/lib/guts");
  EXPECT_EQ(e[2].value.type, ConfigValue::Type::kInteger);
  EXPECT_EQ(e[2].value.integer, 1000);
  EXPECT_EQ(e[3].value.integer, INT64_MIN);
  EXPECT_EQ(e[4].value.type, ConfigValue::Type::kBoolean);
  EXPECT_FALSE(e[4].value.boolean);
  EXPECT_EQ(e[5].line, 8);
  EXPECT_EQ(e[5].value.strings, (std::vector<std::string>{"a", "b\\n"}));  // literal string
  EXPECT_TRUE(e[6].value.strings.empty());
  EXPECT_EQ(e[6].line, 12);
  EXPECT_EQ(e[7].value.string, "q\"\\\t\xC3\xA9");
}

TEST(ConfigFile, RejectsWithFileLineAndKey) {
  EXPECT_EQ(parse_error("a = 1\nb = \"open\n"),
            "node.toml:2: key 'b': unterminated string (opened on line 2)");
  EXPECT_EQ(parse_error("a = [\"x\",\n"),
            "node.toml:2: key 'a': unterminated array (opened on line 1)");
  EXPECT_EQ(parse_error("a = \"x\" b\n"),
            "node.toml:1: key 'a': expected the end of the line after the value, found 'b'");
  EXPECT_EQ(parse_error("a = 1\na = 2\n"), "node.toml:2: key 'a': the key appears more than once");
  EXPECT_EQ(parse_error("a ="),
            "node.toml:1: key 'a': expected a value: a \"string\", an integer, "
            "true/false or [\"an\", \"array\"], found the end of the file (truncated?)");
  EXPECT_NE(parse_error("[node]\n").find("tables ([section]) are not supported"),
            std::string::npos);
  EXPECT_NE(parse_error("a.b = 1\n").find("dotted keys"), std::string::npos);
  EXPECT_NE(parse_error("a = 1.5\n").find("floating-point"), std::string::npos);
  EXPECT_NE(parse_error("a = 9223372036854775808\n").find("64-bit range"), std::string::npos);
  EXPECT_NE(parse_error("a = 0x10\n").find("decimal"), std::string::npos);
  EXPECT_NE(parse_error("a = 012\n").find("leading zeros"), std::string::npos);
  EXPECT_NE(parse_error("a = 1__0\n").find("between digits"), std::string::npos);
  EXPECT_NE(parse_error("a = \"\\x\"\n").find("unsupported escape"), std::string::npos);
  EXPECT_NE(parse_error("a = \"\\ud800\"\n").find("not a scalar"), std::string::npos);
  EXPECT_NE(parse_error("a = [1]\n").find("expected a string in the array"), std::string::npos);
  EXPECT_NE(parse_error("a = {b = 1}\n").find("inline tables"), std::string::npos);
  EXPECT_NE(parse_error("a = tru\n").find("expected a value"), std::string::npos);
  EXPECT_NE(parse_error(std::string("a = \"x\0y\"\n", 10)).find("control character 0"),
            std::string::npos);
  EXPECT_NE(parse_error("= 1\n").find("node.toml:1: expected a key"), std::string::npos);
}

TEST(ConfigFile, Bounds) {
  EXPECT_NE(parse_error(std::string(kConfigMaxBytes + 1, '#')).find("larger than"),
            std::string::npos);
  EXPECT_NE(parse_error(std::string(kConfigMaxKeyBytes + 1, 'k') + " = 1").find("longer than"),
            std::string::npos);
  EXPECT_NE(parse_error("a = \"" + std::string(kConfigMaxStringBytes + 1, 's') + "\"")
                .find("longer than"),
            std::string::npos);
  std::string many;
  for (size_t i = 0; i <= kConfigMaxEntries; ++i) many += "k" + std::to_string(i) + " = 1\n";
  EXPECT_NE(parse_error(many).find("more than"), std::string::npos);
  std::string items = "a = [";
  for (size_t i = 0; i <= kConfigMaxArrayItems; ++i) items += "\"x\",";
  EXPECT_NE(parse_error(items + "]").find("more than"), std::string::npos);
}

TEST(ConfigFile, QuoteRoundTrips) {
  std::string s = "a\"b\\c\nd\x01\te";
  auto e = parse_config_text("k = " + toml_quote(s), "x");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].value.string, s);
}

TEST(NodeConfig, LayersDefaultsFileEnvironmentFlags) {
  auto file = write_temp("layers.toml",
                         "api-addr = \"127.0.0.1:1\"\n"
                         "p2p-addr = \"127.0.0.1:2\"\n"
                         "data-dir = \"/from/file\"\n"
                         "seed = \"repo:alice/x\"\n"
                         "api-threads = 7\n");
  ConfigInputs in;
  in.file = file;
  in.env = {{"GUTS_P2P_ADDR", "127.0.0.1:3"},
            {"GUTS_DATA_DIR", "/from/env"},
            {"GUTS_BOOTSTRAP",
             "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK@h:1, "
             "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK@h:2"}};
  in.flags = {{"data-dir", {"/from/flag"}}, {"validator", {"false"}}};
  auto eff = resolve_config(NodeConfig{}, in);
  EXPECT_EQ(eff.config.api_addr, "127.0.0.1:1");  // file
  EXPECT_EQ(eff.config.p2p_addr, "127.0.0.1:3");  // environment over file
  EXPECT_EQ(eff.config.data_dir, "/from/flag");   // flag over environment
  EXPECT_EQ(eff.config.seed, (std::vector<std::string>{"repo:alice/x"}));
  EXPECT_EQ(eff.config.bootstrap.size(), 2u);
  EXPECT_EQ(eff.config.api_threads, 7);
  EXPECT_FALSE(eff.config.validator);
  EXPECT_EQ(eff.config.max_block_txs, 5000u);  // default
  EXPECT_EQ(eff.source["api-addr"], file.string() + ":1");
  EXPECT_EQ(eff.source["p2p-addr"], "GUTS_P2P_ADDR");
  EXPECT_EQ(eff.source["data-dir"], "--data-dir");
  EXPECT_EQ(eff.source["log-level"], "default");
  // The full node has no genesis file.
  EXPECT_NE(error_of([&] { validate_node_config(eff.config); }).find("--genesis-file"),
            std::string::npos);

  // The rendered configuration reads back to the same values.
  auto rendered = render_config(eff);
  auto back = write_temp("rendered.toml", rendered);
  ConfigInputs again;
  again.file = back;
  auto eff2 = resolve_config(NodeConfig{}, again);
  EXPECT_EQ(eff2.config.data_dir, "/from/flag");
  EXPECT_EQ(eff2.config.bootstrap, eff.config.bootstrap);
  EXPECT_FALSE(eff2.config.validator);
}

TEST(NodeConfig, BadValuesNameTheirSource) {
  auto resolve_file = [](const std::string& text) {
    ConfigInputs in;
    in.file = write_temp("bad.toml", text);
    return error_of([&] { resolve_config(NodeConfig{}, in); });
  };
  auto f = write_temp("bad.toml", "").string();
  EXPECT_EQ(resolve_file("\n\nlog_level = \"debug\"\n"),
            f + ":3: unknown key 'log_level' (did you mean 'log-level'?); the keys are the options "
                "of docs/configuration.md");
  EXPECT_EQ(resolve_file("api-threads = \"2\"\n"),
            f + ":1: key 'api-threads': expected an integer, found a string");
  EXPECT_EQ(resolve_file("api-threads = 0\n"),
            f + ":1: key 'api-threads': 0 is out of range (1..256)");
  EXPECT_NE(resolve_file("api-addr = \"nope\"\n").find(f + ":1: key 'api-addr': address 'nope'"),
            std::string::npos);
  EXPECT_NE(resolve_file("log-level = \"loud\"\n").find("not a log level"), std::string::npos);
  EXPECT_NE(resolve_file("bootstrap = [\"x@1.2.3.4:5\"]\n").find(f + ":1: key 'bootstrap'"),
            std::string::npos);
  EXPECT_NE(resolve_file("public-url = \"ftp://x\"\n").find("http://"), std::string::npos);
  EXPECT_NE(resolve_file("validator = \"yes\"\n").find("expected a boolean"), std::string::npos);

  ConfigInputs env;
  env.env = {{"GUTS_VALIDATOR", "maybe"}};
  EXPECT_EQ(error_of([&] { resolve_config(NodeConfig{}, env); }),
            "environment variable GUTS_VALIDATOR: expected true or false, found 'maybe'");
  ConfigInputs flags;
  flags.flags = {{"max-block-txs", {"1e3"}}};
  EXPECT_EQ(error_of([&] { resolve_config(NodeConfig{}, flags); }),
            "--max-block-txs: expected an integer, found '1e3'");
  ConfigInputs missing;
  missing.file = "/nonexistent/guts.toml";
  EXPECT_NE(error_of([&] { resolve_config(NodeConfig{}, missing); }).find("/nonexistent/guts.toml"),
            std::string::npos);
}

TEST(NodeConfig, TableIsWellFormed) {
  std::set<std::string> names, envs;
  for (const auto& o : node_options()) {
    EXPECT_TRUE(names.insert(o.name).second) << o.name;
    EXPECT_TRUE(envs.insert(o.env()).second) << o.env();
    EXPECT_FALSE(o.help.empty()) << o.name;
    EXPECT_TRUE(o.set && o.get) << o.name;
    for (char c : o.name) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
    if (o.type == ConfigValue::Type::kInteger) {
      EXPECT_LE(o.min, o.max) << o.name;
      auto def = o.get(NodeConfig{}).integer;
      EXPECT_TRUE(def >= o.min && def <= o.max) << o.name << " default out of its range";
    }
  }
  EXPECT_EQ(find_option("api-addr")->env(), "GUTS_API_ADDR");
  // The defaults pass their own validation.
  EXPECT_NO_THROW(resolve_config(NodeConfig{}, {}));
  for (const auto& o : node_options())
    if (o.check) {
      EXPECT_NO_THROW(o.check(o.get(NodeConfig{}))) << o.name;
    }
}

// docs/configuration.md holds options_reference_markdown() between its markers: an option added
// to the table without regenerating the document fails here (the message shows the new table).
TEST(NodeConfig, ReferenceDocumentMatchesTheTable) {
  std::ifstream in(std::string(GUTS_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md is missing";
  std::stringstream ss;
  ss << in.rdbuf();
  std::string doc = ss.str();
  const std::string begin = "<!-- options:begin (generated: guts-node config reference) -->\n";
  const std::string end = "<!-- options:end -->";
  auto b = doc.find(begin);
  auto e = doc.find(end);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  std::string table = doc.substr(b + begin.size(), e - b - begin.size());
  EXPECT_EQ(table, options_reference_markdown())
      << "regenerate the table in docs/configuration.md with `guts-node config reference`";
  for (const auto& o : node_options())
    EXPECT_NE(doc.find("`" + o.name + "`"), std::string::npos) << o.name;
}

// An option marked secret never shows its value in `config check`'s output.
TEST(NodeConfig, SecretsAreRedacted) {
  std::vector<OptionSpec> table;
  table.push_back(
      option("public-url", &NodeConfig::public_url, "a secret for the test").redacted());
  table.push_back(option("log-level", &NodeConfig::log_level, "not secret"));
  EffectiveConfig eff;
  eff.config.public_url = "https://user:hunter2@example.org";
  eff.source["public-url"] = "GUTS_PUBLIC_URL";
  auto out = render_config(eff, table);
  EXPECT_EQ(out.find("hunter2"), std::string::npos) << out;
  EXPECT_NE(out.find("# public-url = <redacted>  # GUTS_PUBLIC_URL"), std::string::npos) << out;
  EXPECT_NE(out.find("log-level = \"info\"  # default"), std::string::npos) << out;
}

TEST(SdNotify, DisabledWithoutSocket) {
  SdNotify n;
  EXPECT_FALSE(n.enabled());
  EXPECT_FALSE(n.send("READY=1"));
  EXPECT_FALSE(n.watchdog_interval());
  SdNotify w("/run/x", std::chrono::microseconds(1000000));
  EXPECT_EQ(*w.watchdog_interval(), std::chrono::microseconds(500000));
}
