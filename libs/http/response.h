// File: libs/http/response.h
// A complete (non-streaming) HTTP response as a value, and the helpers that shape the error bodies
// the server writes by itself. Content-Length is always computed by the server from `body`; a
// Content-Length or Transfer-Encoding set by the handler is ignored.
#pragma once

#include <string>
#include <string_view>

#include "libs/http/headers.h"

namespace p402::http {

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  // A response with `Content-Type: application/json`.
  static Response Json(int status, std::string body);
  // A response with `Content-Type: text/plain; charset=utf-8`.
  static Response Text(int status, std::string body);
};

// Standard reason phrase ("OK", "Too Many Requests"); "Unknown" for unregistered codes.
std::string_view ReasonPhrase(int status);

// The OpenAI error body the server uses for errors it answers itself:
// {"error":{"message":<message>,"type":<type>,"param":null,"code":<code>}}
// `code` may be empty, which writes "code":null.
std::string OpenAiErrorBody(std::string_view message, std::string_view type,
                            std::string_view code);

}  // namespace p402::http
