// OpenAI error bodies and the Status -> HTTP mapping table (one check per row).
#include "libs/openai/error_body.h"

#include "libs/common/status_util.h"
#include "tests/libs/openai/test_util.h"

namespace p402::openai {
namespace {

using testing::ParseJson;

TEST_CASE("EncodeError golden", "[unit]") {
  CHECK(
      EncodeError("Bad \"thing\"", "invalid_request_error", "messages[0].role", "invalid_value") ==
      R"({"error":{"message":"Bad \"thing\"","type":"invalid_request_error",)"
      R"("param":"messages[0].role","code":"invalid_value"}})");
  CHECK(EncodeError("x", "server_error", std::nullopt, std::nullopt) ==
        R"({"error":{"message":"x","type":"server_error","param":null,"code":null}})");
}

struct Row {
  absl::Status status;
  int http;
  const char* type;
  std::optional<std::string> code;
  std::optional<std::string> param;
  std::string message;
};

TEST_CASE("HttpErrorFromStatus mapping table", "[unit]") {
  const std::string kInternal =
      "The server had an error while processing your request. Sorry about that!";
  std::vector<Row> rows = {
      {InvalidRequest("Invalid value for 'n': ...", "n", "unsupported_value"), 400,
       "invalid_request_error", "unsupported_value", "n", "Invalid value for 'n': ..."},
      {WithReason(FailedPrecondition("no model has the required capabilities"), "no_candidate"),
       400, "invalid_request_error", "no_candidate", std::nullopt,
       "no model has the required capabilities"},
      {WithReason(Unauthenticated("Incorrect API key provided."), "invalid_api_key"), 401,
       "authentication_error", "invalid_api_key", std::nullopt, "Incorrect API key provided."},
      {WithReason(PermissionDenied("provider denied by policy"), "provider_denied"), 403,
       "permission_error", "provider_denied", std::nullopt, "provider denied by policy"},
      {WithReason(NotFound("The model 'gpt-9' does not exist"), "model_not_found"), 404,
       "not_found_error", "model_not_found", std::nullopt, "The model 'gpt-9' does not exist"},
      {WithReason(ResourceExhausted("Rate limit reached"), "rate_limited"), 429, "rate_limit_error",
       "rate_limited", std::nullopt, "Rate limit reached"},
      {WithReason(Unavailable("All providers failed."), "providers_unavailable"), 503,
       "server_error", "providers_unavailable", std::nullopt, "All providers failed."},
      {Unavailable("failed to connect to all addresses; last error: 10.0.0.3:50051"), 503,
       "server_error", std::nullopt, std::nullopt,
       "The service is temporarily unavailable. Please retry shortly."},
      {DeadlineExceeded("Deadline Exceeded at router.cc:120"), 504, "timeout", std::nullopt,
       std::nullopt, "The request timed out."},
      {WithReason(DeadlineExceeded("The provider did not answer within 30 s."),
                  "deadline_exceeded"),
       504, "timeout", "deadline_exceeded", std::nullopt,
       "The provider did not answer within 30 s."},
      {Internal("null pointer in pg_pool.cc:88, password=hunter2"), 500, "server_error",
       std::nullopt, std::nullopt, kInternal},
      {WithReason(Internal("ledger write failed: secret detail"), "usage_not_recorded"), 500,
       "server_error", "usage_not_recorded", std::nullopt, kInternal},
      {absl::UnknownError("boom"), 500, "server_error", std::nullopt, std::nullopt, kInternal},
      {absl::OkStatus(), 500, "server_error", std::nullopt, std::nullopt, kInternal},
  };
  for (const Row& row : rows) {
    INFO(row.status.ToString());
    HttpError e = HttpErrorFromStatus(row.status);
    CHECK(e.http_status == row.http);
    CHECK(e.type == row.type);
    CHECK(e.code == row.code);
    json::Value body = ParseJson(e.body);
    const json::Value* err = body.Find("error");
    REQUIRE(err != nullptr);
    CHECK(err->GetString("message") == row.message);
    CHECK(err->GetString("type") == row.type);
    if (row.code) {
      CHECK(err->GetString("code") == *row.code);
    } else {
      CHECK(err->Find("code")->is_null());
    }
    if (row.param) {
      CHECK(err->GetString("param") == *row.param);
    } else {
      CHECK(err->Find("param")->is_null());
    }
  }
}

TEST_CASE("decode errors map to 400 bodies with param and code", "[unit]") {
  auto r = DecodeChatRequest(R"({"model":"m","messages":[{"role":"robot","content":"x"}]})");
  REQUIRE_FALSE(r.ok());
  HttpError e = HttpErrorFromStatus(r.status());
  CHECK(e.http_status == 400);
  json::Value body = ParseJson(e.body);
  CHECK(body.Find("error")->GetString("message") ==
        "Invalid value for 'messages[0].role': 'robot' is not one of 'system', 'developer', "
        "'user', 'assistant', 'tool'.");
  CHECK(body.Find("error")->GetString("param") == "messages[0].role");
  CHECK(body.Find("error")->GetString("code") == "invalid_value");
}

TEST_CASE("ParamOf and WithParam", "[unit]") {
  CHECK_FALSE(ParamOf(absl::OkStatus()).has_value());
  CHECK(WithParam(absl::OkStatus(), "x").ok());
  absl::Status s = WithParam(InvalidArgument("m"), "tools[0].function.name");
  CHECK(ParamOf(s) == "tools[0].function.name");
  CHECK_FALSE(ReasonOf(s).has_value());
  absl::Status t = InvalidRequest("m", "", "invalid_json");
  CHECK_FALSE(ParamOf(t).has_value());
  CHECK(ReasonOf(t) == "invalid_json");
}

}  // namespace
}  // namespace p402::openai
