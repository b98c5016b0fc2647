// File: tools/p402ctl/ctl_commands.h
// p402ctl, the command-line client of the management API (docs/MANAGEMENT_API.md). Three pure
// steps and one that does I/O, so everything but the socket is unit-testable:
//   ParseCommand   argv -> Command: the HTTP call(s) to make and how to show the answer
//                  (ctl_commands.cc);
//   Render*        a response body -> text: aligned tables for lists, key/value blocks for
//                  objects, the server's error for failures (ctl_render.cc);
//   Execute        runs a Command over a Transport and returns the exit code and output
//                  (ctl_run.cc); HttpTransport is the real one (libs/http client).
//
// Exit codes: kExitOk, kExitServerError (the server answered 4xx/5xx), kExitUsage (bad command
// line or missing admin key), kExitConnection (the edge could not be reached).
// The admin key comes only from the environment (P402_ADMIN_KEY or P402_ADMIN_KEY_FILE), never
// from a flag: flags are visible in `ps` and shell history.
// Thread-safety: pure functions; a Command is a value.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/json/value.h"

namespace p402::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitServerError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitConnection = 3;

inline constexpr std::string_view kDefaultUrl = "http://127.0.0.1:8080";

// One HTTP call against the edge.
struct ApiRequest {
  std::string method;               // GET, POST, PATCH, PUT, DELETE
  std::string path;                 // "/v2/sessions?status=active&limit=10" (query encoded)
  std::optional<json::Value> body;  // sent as application/json when set
};

// How a successful answer is shown.
enum class View {
  kTenant,
  kKeyList,
  kKey,
  kPolicyList,
  kPolicy,
  kSessionList,
  kSession,
  kApprovalList,
  kApproval,
};

struct Command {
  // Set for `help`, `--help` and `<resource> --help`: print `help_text` and exit 0.
  bool help = false;
  std::string help_text;

  std::string url;    // base URL, no trailing '/'
  bool json = false;  // --json: print the raw response body
  View view = View::kTenant;
  ApiRequest request;
  // Read-modify-write (PUT replaces a whole policy, PATCH /v2/tenant replaces all limits): when
  // set, Execute first GETs `request.path`'s object (prefetch_path) and sends
  // build_body(current) as the body, so options not given on the command line keep their value.
  std::string prefetch_path;
  std::function<absl::StatusOr<json::Value>(const json::Value& current)> build_body;
};

// Parses the arguments after argv[0]. `env_url` is P402_URL (empty when unset); --url wins over
// it, kDefaultUrl applies when neither is given. Global options (--url, --json, --help) may
// appear anywhere; every option also accepts the --name=value form.
// Errors: InvalidArgument with a message for the user (exit kExitUsage): unknown resource,
// verb or option, missing or extra arguments, a malformed amount/duration/number/JSON/id.
absl::StatusOr<Command> ParseCommand(const std::vector<std::string>& args,
                                     std::string_view env_url);

// The whole usage text (also for `p402ctl help`).
std::string UsageText();

// ---- Rendering (ctl_render.cc) ----

// What to print for a 2xx answer `body` of a command with `view` (not for --json, which prints
// the body as is). `out` is for stdout; `err` gets the one-time-secret warning when the object
// carries a "secret" or "token". Errors: InvalidArgument when the body is not the JSON expected.
struct Rendered {
  std::string out;
  std::string err;
};
absl::StatusOr<Rendered> RenderSuccess(View view, std::string_view body);

// The stderr line(s) for an HTTP error answer: the server's error.message, then its code,
// param and the HTTP status; a non-JSON body is shown (shortened) instead.
std::string RenderError(int http_status, std::string_view body);

// "12.500000" -> "12.50", "0.000150" -> "0.00015" (at least two decimals; other text unchanged).
std::string ShortUsd(std::string_view usd);
// Unix seconds -> "2026-11-23T15:27:36Z".
std::string FormatUnixSeconds(int64_t seconds);

// ---- Running (ctl_run.cc) ----

struct HttpResult {
  int status = 0;
  std::string body;
};

// Sends one ApiRequest. Errors are connection-level only (an HTTP error status is a result):
// Unavailable / DeadlineExceeded when the edge cannot be reached.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual absl::StatusOr<HttpResult> Send(const ApiRequest& request) = 0;
};

// The libs/http client, sending `Authorization: Bearer <admin_key>` to `base_url` + path.
// Errors: InvalidArgument (bad URL, or a key with control characters).
absl::StatusOr<std::unique_ptr<Transport>> MakeHttpTransport(std::string base_url,
                                                             std::string admin_key);

// P402_ADMIN_KEY, else the trimmed content of the file named by P402_ADMIN_KEY_FILE.
// Errors: InvalidArgument naming the variables (unset, empty, unreadable file).
absl::StatusOr<std::string> AdminKeyFromEnv();

struct RunResult {
  int exit_code = kExitOk;
  std::string out;
  std::string err;
};
// Runs `command` (prefetch, build_body, the call, rendering) over `transport`.
RunResult Execute(const Command& command, Transport& transport);

// The whole program: parse, read the key, run, print. Returns the exit code.
int Main(int argc, char** argv);

}  // namespace p402::ctl
