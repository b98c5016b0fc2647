// File: libs/openai/message_decode.h
// Internal to libs/openai: the parts of DecodeChatRequest that walk `messages` (roles, content
// parts, assistant tool calls) and `tools` / `tool_choice`. Errors are the OpenAI-style statuses of
// decode_util.h. Not part of the public API.
#pragma once

#include "absl/status/status.h"
#include "libs/json/value.h"
#include "p402/v1/chat.pb.h"

namespace p402::openai::internal {

// Decodes `messages` (present, not null) into chat.messages.
absl::Status DecodeMessages(const json::Value& v, v1::ChatRequest& chat);

// Decodes `tools` (present, not null) into chat.tools.
absl::Status DecodeTools(const json::Value& v, v1::ChatRequest& chat);

// Validates `tool_choice` (present, not null) and stores it verbatim in chat.tool_choice_json.
// Call after DecodeTools: a tool choice other than "none" needs tools.
absl::Status DecodeToolChoice(const json::Value& v, v1::ChatRequest& chat);

// Validates `response_format` (present, not null) and stores it in chat.response_format_json.
absl::Status DecodeResponseFormat(const json::Value& v, v1::ChatRequest& chat);

}  // namespace p402::openai::internal
