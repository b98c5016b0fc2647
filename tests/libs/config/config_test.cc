// Tests for libs/config: layering precedence, every error class, the secret rules, the _FILE
// variant, --help text and the redacted dump.
#include "libs/config/config.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "catch2/catch.hpp"
#include "tests/support/catch_status.h"

namespace p402::config {
namespace {

using ::p402::testing::IsOk;
using ::p402::testing::StatusIs;
using namespace std::chrono_literals;

struct TestConfig {
  std::string grpc_listen;
  int http_port = 0;
  bool verbose = false;
  double ratio = 0;
  std::chrono::milliseconds timeout{};
  std::vector<std::string> models;
  json::Value providers;
  std::string admin_token;
  std::string log_format;
  uint16_t small = 0;
  int64_t min_budget = 0;
  int64_t max_budget = 0;
};

const Schema<TestConfig>& TestSchema() {
  static const auto* const schema = [] {
    auto* s = new Schema<TestConfig>("p402-test");
    s->String("grpc_listen", "P402_TEST_GRPC_LISTEN", &TestConfig::grpc_listen, "0.0.0.0:50051",
              "gRPC listen address")
        .Validate(ListenAddress());
    s->Int("http_port", "P402_TEST_HTTP_PORT", &TestConfig::http_port, 8080, "HTTP port")
        .Validate(InRange(0, 65535));
    s->Bool("verbose", "P402_TEST_VERBOSE", &TestConfig::verbose, false, "Chatty logs");
    s->Double("ratio", "P402_TEST_RATIO", &TestConfig::ratio, 0.5, "A ratio")
        .Validate(InRangeDouble(0, 1));
    s->Duration("timeout", "P402_TEST_TIMEOUT", &TestConfig::timeout, 5s, "Upstream timeout")
        .Validate(PositiveDuration());
    s->StringList("models", "P402_TEST_MODELS", &TestConfig::models, {"a", "b"}, "Models");
    s->Json("providers", "P402_TEST_PROVIDERS", &TestConfig::providers, json::Value::EmptyObject(),
            "Provider table");
    s->String("admin_token", "P402_TEST_ADMIN_TOKEN", &TestConfig::admin_token, "",
              "Admin bearer token")
        .Secret();
    s->String("log_format", "P402_LOG_FORMAT", &TestConfig::log_format, "json", "Log format")
        .Validate(OneOf({"json", "text"}));
    s->Int("small", "", &TestConfig::small, 7, "No env; uint16 member");
    s->Int("min_budget", "P402_TEST_MIN_BUDGET", &TestConfig::min_budget, 0, "Lower bound");
    s->Int("max_budget", "P402_TEST_MAX_BUDGET", &TestConfig::max_budget, 100, "Upper bound");
    s->Check([](const TestConfig& c) {
      if (c.min_budget <= c.max_budget) return absl::OkStatus();
      return absl::InvalidArgumentError("--min_budget must not exceed --max_budget");
    });
    return s;
  }();
  return *schema;
}

// A temporary directory removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "p402_config_XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& content) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

absl::StatusOr<Loaded<TestConfig>> Load(std::vector<std::string> args,
                                        std::map<std::string, std::string> env = {}) {
  return TestSchema().Load(LoadOptions{std::move(args), std::move(env)});
}

TestConfig MustLoad(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  auto loaded = Load(std::move(args), std::move(env));
  REQUIRE_THAT(loaded.status(), IsOk());
  return loaded->config;
}

void RequireError(const absl::StatusOr<Loaded<TestConfig>>& loaded, const std::string& fragment) {
  REQUIRE_THAT(loaded.status(), StatusIs(absl::StatusCode::kInvalidArgument, fragment));
}

TEST_CASE("Defaults apply with no inputs", "[unit]") {
  auto loaded = Load({});
  REQUIRE_THAT(loaded.status(), IsOk());
  const TestConfig& c = loaded->config;
  CHECK(c.grpc_listen == "0.0.0.0:50051");
  CHECK(c.http_port == 8080);
  CHECK_FALSE(c.verbose);
  CHECK(c.ratio == 0.5);
  CHECK(c.timeout == 5s);
  CHECK(c.models == std::vector<std::string>{"a", "b"});
  CHECK(c.providers == json::Value::EmptyObject());
  CHECK(c.admin_token.empty());
  CHECK(c.small == 7);
  CHECK_FALSE(loaded->help_requested);
  CHECK(loaded->warnings.empty());
  CHECK(loaded->config_path.empty());
  CHECK(loaded->file.is_null());
  CHECK(loaded->sources.at("http_port") == Source::kDefault);
}

TEST_CASE("Precedence: default < file < env < flag", "[unit]") {
  TempDir dir;
  std::string file = dir.Write("c.json", R"({"http_port": 1000, "ratio": 0.25, "timeout": "2s",
      "models": ["x"], "providers": {"openai": {"base_url": "https://api.openai.com"}},
      "verbose": true, "small": null})");
  std::string cfg = "--config=" + file;

  auto only_file = Load({cfg});
  REQUIRE_THAT(only_file.status(), IsOk());
  CHECK(only_file->config.http_port == 1000);
  CHECK(only_file->config.ratio == 0.25);
  CHECK(only_file->config.timeout == 2s);
  CHECK(only_file->config.models == std::vector<std::string>{"x"});
  CHECK(only_file->config.verbose);
  CHECK(only_file->config.small == 7);  // null in the file keeps the default
  CHECK(only_file->config.providers.Find("openai")->GetString("base_url") ==
        "https://api.openai.com");
  CHECK(only_file->config_path == file);
  CHECK(only_file->file.GetInt("http_port") == 1000);
  CHECK(only_file->sources.at("http_port") == Source::kFile);
  CHECK(only_file->sources.at("grpc_listen") == Source::kDefault);

  auto with_env = Load({cfg}, {{"P402_TEST_HTTP_PORT", "2000"}, {"P402_TEST_RATIO", "0.75"}});
  REQUIRE_THAT(with_env.status(), IsOk());
  CHECK(with_env->config.http_port == 2000);
  CHECK(with_env->config.ratio == 0.75);
  CHECK(with_env->config.timeout == 2s);  // still from the file
  CHECK(with_env->sources.at("http_port") == Source::kEnv);

  auto with_flag = Load({cfg, "--http_port=3000"}, {{"P402_TEST_HTTP_PORT", "2000"}});
  REQUIRE_THAT(with_flag.status(), IsOk());
  CHECK(with_flag->config.http_port == 3000);
  CHECK(with_flag->config.ratio == 0.25);
  CHECK(with_flag->sources.at("http_port") == Source::kFlag);
  // Flag order does not matter relative to --config; the last repeated flag wins.
  CHECK(MustLoad({"--http_port=1", cfg, "--http_port=4000"}).http_port == 4000);
}

TEST_CASE("Text forms of every type", "[unit]") {
  TestConfig c = MustLoad({"--verbose", "--ratio=1e-1", "--timeout=1m30s", "--models= p , ,q ",
                           "--providers={\"k\":[1]}", "--small=65535", "--http_port=+80"},
                          {{"P402_TEST_GRPC_LISTEN", "[::]:0"}});
  CHECK(c.verbose);
  CHECK(c.ratio == 0.1);
  CHECK(c.timeout == 90s);
  CHECK(c.models == std::vector<std::string>{"p", "q"});
  CHECK(c.providers.Find("k")->AsArray().size() == 1);
  CHECK(c.small == 65535);
  CHECK(c.http_port == 80);
  CHECK(c.grpc_listen == "[::]:0");
  CHECK(MustLoad({"--timeout=250"}).timeout == 250ms);
  CHECK(MustLoad({"--timeout=250ms"}).timeout == 250ms);
  CHECK(MustLoad({"--models="}).models.empty());
  for (const char* t : {"true", "1", "yes", "ON", "True"}) {
    CHECK(MustLoad({}, {{"P402_TEST_VERBOSE", t}}).verbose);
  }
  for (const char* f : {"false", "0", "no", "off"}) {
    CHECK_FALSE(MustLoad({std::string("--verbose=") + f}).verbose);
  }
}

TEST_CASE("JSON file forms", "[unit]") {
  TempDir dir;
  std::string file = dir.Write("c.json", R"({"timeout": 1500, "models": "m1,m2", "ratio": 1,
      "http_port": 443.0})");
  TestConfig c = MustLoad({"--config=" + file});
  CHECK(c.timeout == 1500ms);
  CHECK(c.models == std::vector<std::string>{"m1", "m2"});
  CHECK(c.ratio == 1.0);
  CHECK(c.http_port == 443);
}

TEST_CASE("Type errors", "[unit]") {
  RequireError(Load({"--http_port=abc"}), "--http_port: expected an integer, got \"abc\"");
  RequireError(Load({"--http_port=12x"}), "expected an integer");
  RequireError(Load({"--http_port=99999999999999999999"}), "integer out of range");
  RequireError(Load({}, {{"P402_TEST_HTTP_PORT", ""}}),
               "--http_port: expected an integer, got \"\" (from env P402_TEST_HTTP_PORT)");
  RequireError(Load({"--verbose=maybe"}), "--verbose: expected a boolean");
  RequireError(Load({"--ratio=nan"}), "--ratio: expected a number");
  RequireError(Load({"--ratio=1.5.2"}), "--ratio: expected a number");
  RequireError(Load({"--timeout=soon"}), "--timeout: expected a duration");
  RequireError(Load({"--timeout=-5s"}), "--timeout: duration must not be negative");
  RequireError(Load({"--timeout=1.5ms"}), "whole number of milliseconds");
  RequireError(Load({"--providers={"}), "--providers: invalid JSON");
  RequireError(Load({"--http_port"}), "--http_port: missing value (use --http_port=value)");

  TempDir dir;
  std::string file = dir.Write("c.json", R"({"http_port": "80", "verbose": 1, "models": [1],
      "timeout": -1, "ratio": "x", "grpc_listen": 5, "small": 1.5})");
  auto loaded = Load({"--config=" + file});
  RequireError(loaded, "--http_port: expected an integer, got string \"80\" (from config file");
  RequireError(loaded, "--verbose: expected a boolean, got integer 1");
  RequireError(loaded, "--models: expected an array of strings");
  RequireError(loaded, "--timeout: expected a duration");
  RequireError(loaded, "--ratio: expected a number, got string");
  RequireError(loaded, "--grpc_listen: expected a string, got integer 5");
  RequireError(loaded, "--small: expected an integer, got number 1.5");
}

TEST_CASE("Validation errors name the key and the source", "[unit]") {
  RequireError(Load({"--http_port=70000"}), "--http_port: must be 0..65535, got 70000");
  auto env = Load({}, {{"P402_TEST_HTTP_PORT", "-1"}});
  RequireError(env, "--http_port: must be 0..65535, got -1 (from env P402_TEST_HTTP_PORT)");
  RequireError(Load({"--small=65536"}), "--small: must be 0..65535, got 65536");
  RequireError(Load({"--small=-1"}), "--small: must be 0..65535, got -1");
  RequireError(Load({"--ratio=2"}), "--ratio: must be 0..1, got 2");
  RequireError(Load({"--timeout=0"}), "--timeout: must be > 0, got 0ms");
  RequireError(Load({"--log_format=xml"}), "--log_format: must be one of json|text, got \"xml\"");
  RequireError(Load({"--grpc_listen=localhost"}), "--grpc_listen: must be host:port");
  RequireError(Load({"--grpc_listen=h:99999"}), "--grpc_listen: must be host:port");
  RequireError(Load({"--min_budget=5", "--max_budget=4"}),
               "--min_budget must not exceed --max_budget");
  CHECK(MustLoad({"--min_budget=4", "--max_budget=4"}).max_budget == 4);
  // Several problems are reported together.
  auto many = Load({"--http_port=70000", "--ratio=2", "--bogus=1"});
  RequireError(many, "--http_port: must be 0..65535");
  RequireError(many, "--ratio: must be 0..1");
  RequireError(many, "unknown flag --bogus");
}

TEST_CASE("Unknown flags, arguments and file keys", "[unit]") {
  RequireError(Load({"--htp_port=1"}), "unknown flag --htp_port (did you mean --http_port?)");
  RequireError(Load({"--zzzzzzzz=1"}), "unknown flag --zzzzzzzz");
  RequireError(Load({"positional"}), "unexpected argument \"positional\"");
  RequireError(Load({"-v"}), "unexpected argument \"-v\"");

  TempDir dir;
  std::string file = dir.Write("c.json", R"({"http_prt": 1})");
  RequireError(Load({"--config=" + file}),
               "config file " + file + ": unknown key \"http_prt\" (did you mean \"http_port\"?)");
  RequireError(Load({"--config=" + dir.Write("a.json", "[1]")}),
               "top level must be an object, got array");
  RequireError(Load({"--config=" + dir.Write("b.json", "{\"http_port\": ")}), "invalid JSON");
  RequireError(Load({"--config=" + dir.path() + "/missing.json"}), "cannot read");
  RequireError(Load({"--config"}), "--config needs a path");
  RequireError(Load({"--config=" + file, "--config=" + file}), "--config given more than once");
}

TEST_CASE("Unknown P402_ env variables are warnings", "[unit]") {
  auto loaded = Load({}, {{"P402_TEST_HTTP_PROT", "1"},
                          {"P402_TEST_ADMIN_TOKEN_FILE_X", "1"},
                          {"P402_LOG_FORMAT", "text"},
                          {"HOME", "/root"},
                          {"P402_OTHER_X", "1"}});
  REQUIRE_THAT(loaded.status(), IsOk());
  REQUIRE(loaded->warnings.size() == 3);
  CHECK(loaded->warnings[0] == "unknown environment variable P402_OTHER_X");
  CHECK(loaded->warnings[1].find("P402_TEST_ADMIN_TOKEN_FILE_X") != std::string::npos);
  CHECK(loaded->warnings[2] ==
        "unknown environment variable P402_TEST_HTTP_PROT (did you mean P402_TEST_HTTP_PORT?)");
  CHECK(loaded->config.log_format == "text");

  Schema<TestConfig> schema("x");
  schema.Int("http_port", "P402_X_HTTP_PORT", &TestConfig::http_port, 1, "port");
  schema.IgnoreEnvPrefix("P402_EDGE_");
  auto ignored = schema.Load({{}, {{"P402_EDGE_ANYTHING", "1"}, {"P402_X_HTTP_PORT_FILE2", ""}}});
  REQUIRE_THAT(ignored.status(), IsOk());
  REQUIRE(ignored->warnings.size() == 1);
  CHECK(ignored->warnings[0].find("P402_X_HTTP_PORT_FILE2") != std::string::npos);
}

TEST_CASE("Secrets come only from the environment", "[unit]") {
  CHECK(MustLoad({}, {{"P402_TEST_ADMIN_TOKEN", "s3cr3t"}}).admin_token == "s3cr3t");
  RequireError(Load({"--admin_token=s3cr3t"}),
               "--admin_token is a secret and cannot be a flag (flags are visible in ps); set it "
               "via env P402_TEST_ADMIN_TOKEN or P402_TEST_ADMIN_TOKEN_FILE");
  TempDir dir;
  std::string file = dir.Write("c.json", R"({"admin_token": "s3cr3t"})");
  auto from_file = Load({"--config=" + file});
  RequireError(from_file, "key \"admin_token\" is a secret and must not be in the file");
  // The error must not echo the secret.
  CHECK(from_file.status().ToString().find("s3cr3t") == std::string::npos);
  // Even a null secret in the file is rejected: the key does not belong there.
  RequireError(Load({"--config=" + dir.Write("n.json", R"({"admin_token": null})")}),
               "is a secret");
}

TEST_CASE("Secret validator messages never include the secret", "[unit]") {
  struct S {
    std::string key;
  };
  Schema<S> schema("x");
  schema.String("key", "P402_X_KEY", &S::key, "", "key").Secret().Validate(OneOf({"a", "b"}));
  auto loaded = schema.Load({{}, {{"P402_X_KEY", "hunter2"}}});
  REQUIRE_THAT(loaded.status(), StatusIs(absl::StatusCode::kInvalidArgument, "[redacted]"));
  CHECK(loaded.status().ToString().find("hunter2") == std::string::npos);
}

TEST_CASE("_FILE variant", "[unit]") {
  TempDir dir;
  std::string secret = dir.Write("token", "from-file\n");
  CHECK(MustLoad({}, {{"P402_TEST_ADMIN_TOKEN_FILE", secret}}).admin_token == "from-file");
  std::string crlf = dir.Write("token2", "abc\r\n");
  CHECK(MustLoad({}, {{"P402_TEST_ADMIN_TOKEN_FILE", crlf}}).admin_token == "abc");
  // Non-secret keys accept _FILE too.
  std::string port = dir.Write("port", "1234\n");
  CHECK(MustLoad({}, {{"P402_TEST_HTTP_PORT_FILE", port}}).http_port == 1234);
  // A flag still beats a _FILE value.
  CHECK(MustLoad({"--http_port=9"}, {{"P402_TEST_HTTP_PORT_FILE", port}}).http_port == 9);
  RequireError(Load({}, {{"P402_TEST_ADMIN_TOKEN_FILE", dir.path() + "/nope"}}),
               "P402_TEST_ADMIN_TOKEN_FILE: cannot read \"" + dir.path() + "/nope\"");
  RequireError(Load({}, {{"P402_TEST_ADMIN_TOKEN_FILE", secret}, {"P402_TEST_ADMIN_TOKEN", "x"}}),
               "both P402_TEST_ADMIN_TOKEN and P402_TEST_ADMIN_TOKEN_FILE are set");
  RequireError(Load({}, {{"P402_TEST_HTTP_PORT_FILE", secret}}),
               "--http_port: expected an integer, got \"from-file\" (from env "
               "P402_TEST_HTTP_PORT_FILE)");
}

TEST_CASE("--help short-circuits loading", "[unit]") {
  auto loaded = Load({"--bogus", "--help"}, {{"P402_TEST_HTTP_PORT", "x"}});
  REQUIRE_THAT(loaded.status(), IsOk());
  CHECK(loaded->help_requested);
  CHECK(Load({"-h"})->help_requested);
}

TEST_CASE("Help text lists flag, env, default and help", "[unit]") {
  std::string help = TestSchema().HelpText();
  CHECK(help.find("Usage: p402-test [--config=FILE.json] [--key=value ...]") == 0);
  auto line_with = [&](const std::string& needle) {
    size_t pos = help.find(needle);
    REQUIRE(pos != std::string::npos);
    size_t begin = help.rfind('\n', pos) + 1;
    return help.substr(begin, help.find('\n', pos) - begin);
  };
  std::string port = line_with("--http_port=<int>");
  CHECK(port.find("P402_TEST_HTTP_PORT[_FILE]") != std::string::npos);
  CHECK(port.find("8080") != std::string::npos);
  CHECK(help.find("--http_port=<int>") < help.find("HTTP port"));
  CHECK(line_with("--timeout=<duration>").find("5s") != std::string::npos);
  CHECK(line_with("--models=<list>").find("a,b") != std::string::npos);
  CHECK(line_with("--providers=<json>").find("{}") != std::string::npos);
  CHECK(line_with("--admin_token (secret)").find("P402_TEST_ADMIN_TOKEN[_FILE]") !=
        std::string::npos);
  CHECK(line_with("--small=<int>").find(" - ") != std::string::npos);
  // Columns are aligned: the env column starts at the same offset on every row.
  CHECK(port.find("P402_") == line_with("--verbose=<bool>").find("P402_"));

  std::string md = TestSchema().MarkdownTable();
  CHECK(md.find("| `P402_TEST_HTTP_PORT` | `--http_port` | int | `8080` | HTTP port |") !=
        std::string::npos);
  CHECK(md.find("| `P402_TEST_ADMIN_TOKEN` | (secret: env only) |") != std::string::npos);
}

TEST_CASE("RedactedDump hides secrets", "[unit]") {
  TestConfig c = MustLoad({"--models=x,y"}, {{"P402_TEST_ADMIN_TOKEN", "s3cr3t"}});
  std::string dump = TestSchema().RedactedDump(c);
  CHECK(dump.find("s3cr3t") == std::string::npos);
  auto v = json::Value::Parse(dump);
  REQUIRE(v.ok());
  CHECK(v->GetString("admin_token") == "[redacted]");
  CHECK(v->GetInt("http_port") == 8080);
  CHECK(v->GetString("timeout") == "5s");
  CHECK(v->Find("models")->Serialize() == R"(["x","y"])");
  CHECK(v->GetBool("verbose") == false);
  CHECK(v->Find("providers")->is_object());
  CHECK(dump.find("\"grpc_listen\":\"0.0.0.0:50051\"") != std::string::npos);
  // An unset secret renders as "" so a missing mount is visible.
  TestConfig unset = MustLoad({});
  CHECK(TestSchema().RedactedValue(unset).GetString("admin_token") == "");
}

// Runs `fn` in a child process and reports whether it died of SIGABRT.
template <typename Fn>
bool Aborts(Fn fn) {
  std::fflush(nullptr);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Catch2 installs a SIGABRT handler that reports a failure; the child must just die.
    signal(SIGABRT, SIG_DFL);
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    fn();
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

TEST_CASE("Schema declaration mistakes abort", "[unit]") {
  struct S {
    int a = 0;
    int b = 0;
    std::string s;
  };
  CHECK(Aborts([] {
    Schema<S> schema("x");
    schema.Int("a", "P402_A", &S::a, 1, "a");
    schema.Int("a", "P402_B", &S::b, 2, "duplicate flag");
  }));
  CHECK(Aborts([] {
    Schema<S> schema("x");
    schema.Int("a", "P402_A", &S::a, 1, "a");
    schema.Int("b", "P402_A", &S::b, 2, "duplicate env");
  }));
  CHECK(Aborts([] { Schema<S>("x").Int("Bad-Name", "", &S::a, 1, "bad flag name"); }));
  CHECK(Aborts([] { Schema<S>("x").Int("config", "", &S::a, 1, "reserved"); }));
  CHECK(Aborts([] { Schema<S>("x").Int("a", "p402_lower", &S::a, 1, "bad env name"); }));
  CHECK(Aborts([] { Schema<S>("x").String("s", "", &S::s, "", "secret without env").Secret(); }));
  CHECK_FALSE(Aborts([] {
    Schema<S> schema("x");
    schema.Int("a", "P402_A", &S::a, 1, "a");
    schema.Int("b", "P402_B", &S::b, 2, "b");
    schema.String("s", "P402_S", &S::s, "", "s").Secret();
  }));
}

TEST_CASE("LoadFromProcess reads argv and environ", "[unit]") {
  struct S {
    int port = 0;
    std::string name;
  };
  Schema<S> schema("x");
  schema.Int("port", "P402_CFGTEST_PORT", &S::port, 1, "port");
  schema.String("name", "P402_CFGTEST_NAME", &S::name, "", "name");
  REQUIRE(setenv("P402_CFGTEST_NAME", "from-environ", 1) == 0);
  char arg0[] = "prog";
  char arg1[] = "--port=42";
  char* argv[] = {arg0, arg1, nullptr};
  auto loaded = schema.LoadFromProcess(2, argv);
  unsetenv("P402_CFGTEST_NAME");
  REQUIRE_THAT(loaded.status(), IsOk());
  CHECK(loaded->config.port == 42);
  CHECK(loaded->config.name == "from-environ");
}

}  // namespace
}  // namespace p402::config
