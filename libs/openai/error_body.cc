#include "libs/openai/error_body.h"

#include "libs/common/status_util.h"
#include "libs/openai/error_param.h"

namespace p402::openai {
namespace {

constexpr std::string_view kInternalMessage =
    "The server had an error while processing your request. Sorry about that!";
constexpr std::string_view kUnavailableMessage =
    "The service is temporarily unavailable. Please retry shortly.";
constexpr std::string_view kTimeoutMessage = "The request timed out.";

}  // namespace

void WriteErrorObject(json::Writer& w, std::string_view message, std::string_view type,
                      std::optional<std::string_view> param, std::optional<std::string_view> code) {
  w.BeginObject();
  w.Key("message");
  w.String(message);
  w.Key("type");
  w.String(type);
  w.Key("param");
  if (param) {
    w.String(*param);
  } else {
    w.Null();
  }
  w.Key("code");
  if (code) {
    w.String(*code);
  } else {
    w.Null();
  }
  w.EndObject();
}

std::string EncodeError(std::string_view message, std::string_view type,
                        std::optional<std::string_view> param,
                        std::optional<std::string_view> code) {
  std::string out;
  json::Writer w(&out);
  w.BeginObject();
  w.Key("error");
  WriteErrorObject(w, message, type, param, code);
  w.EndObject();
  return out;
}

HttpError HttpErrorFromStatus(const absl::Status& status) {
  HttpError e;
  e.code = ReasonOf(status);
  std::string message = MessageOf(status);
  bool client_error = true;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      e.http_status = 400;
      e.type = "invalid_request_error";
      break;
    case absl::StatusCode::kUnauthenticated:
      e.http_status = 401;
      e.type = "authentication_error";
      break;
    case absl::StatusCode::kPermissionDenied:
      e.http_status = 403;
      e.type = "permission_error";
      break;
    case absl::StatusCode::kNotFound:
      e.http_status = 404;
      e.type = "not_found_error";
      break;
    case absl::StatusCode::kResourceExhausted:
      e.http_status = 429;
      e.type = "rate_limit_error";
      break;
    case absl::StatusCode::kUnavailable:
      e.http_status = 503;
      e.type = "server_error";
      client_error = false;
      if (!e.code) {
        message = kUnavailableMessage;
      }
      break;
    case absl::StatusCode::kDeadlineExceeded:
      e.http_status = 504;
      e.type = "timeout";
      client_error = false;
      if (!e.code) {
        message = kTimeoutMessage;
      }
      break;
    default:
      e.http_status = 500;
      e.type = "server_error";
      client_error = false;
      message = kInternalMessage;
      break;
  }
  std::optional<std::string> param = client_error ? ParamOf(status) : std::nullopt;
  e.body =
      EncodeError(message, e.type, param ? std::optional<std::string_view>(*param) : std::nullopt,
                  e.code ? std::optional<std::string_view>(*e.code) : std::nullopt);
  return e;
}

}  // namespace p402::openai
