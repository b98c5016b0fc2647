#include "libs/openai/chat_response.h"

#include "libs/json/value.h"
#include "libs/openai/error_body.h"

namespace p402::openai {
namespace {

void StringOrNull(json::Writer& w, std::string_view s) {
  if (s.empty()) {
    w.Null();
  } else {
    w.String(s);
  }
}

void WriteUsage(json::Writer& w, const v1::TokenUsage& u) {
  w.BeginObject();
  w.Key("prompt_tokens");
  w.Int(u.input_tokens());
  w.Key("completion_tokens");
  w.Int(u.output_tokens());
  w.Key("total_tokens");
  w.Int(u.input_tokens() + u.output_tokens());
  w.Key("prompt_tokens_details");
  w.BeginObject();
  w.Key("cached_tokens");
  w.Int(u.cached_input_tokens());
  w.EndObject();
  w.Key("completion_tokens_details");
  w.BeginObject();
  w.Key("reasoning_tokens");
  w.Int(u.reasoning_tokens());
  w.EndObject();
  w.EndObject();
}

void WritePart(json::Writer& w, const v1::ContentPart& p) {
  if (!p.raw_json().empty()) {
    w.Raw(p.raw_json());
    return;
  }
  w.BeginObject();
  w.Key("type");
  w.String(p.type());
  if (p.type() == "image_url") {
    w.Key("image_url");
    w.BeginObject();
    w.Key("url");
    w.String(p.image_url());
    if (!p.image_detail().empty()) {
      w.Key("detail");
      w.String(p.image_detail());
    }
    w.EndObject();
  } else {
    w.Key("text");
    w.String(p.text());
  }
  w.EndObject();
}

// A tool call of a complete message, or (stream) a fragment of one.
void WriteToolCall(json::Writer& w, const v1::ToolCall& c, bool fragment) {
  w.BeginObject();
  if (fragment) {
    w.Key("index");
    w.Int(c.index());
  }
  if (!fragment || !c.id().empty()) {
    w.Key("id");
    w.String(c.id());
    w.Key("type");
    w.String("function");
  }
  w.Key("function");
  w.BeginObject();
  if (!fragment || !c.name().empty()) {
    w.Key("name");
    w.String(c.name());
  }
  w.Key("arguments");
  w.String(c.arguments());
  w.EndObject();
  w.EndObject();
}

void WriteMessage(json::Writer& w, const v1::ChatMessage& m) {
  w.BeginObject();
  w.Key("role");
  w.String(m.role().empty() ? std::string_view("assistant") : m.role());
  w.Key("content");
  if (m.parts_size() > 0) {
    w.BeginArray();
    for (const v1::ContentPart& p : m.parts()) {
      WritePart(w, p);
    }
    w.EndArray();
  } else if (m.content_is_null() ||
             (m.content().empty() && (m.tool_calls_size() > 0 || !m.refusal().empty()))) {
    w.Null();
  } else {
    w.String(m.content());
  }
  w.Key("refusal");
  StringOrNull(w, m.refusal());
  if (m.tool_calls_size() > 0) {
    w.Key("tool_calls");
    w.BeginArray();
    for (const v1::ToolCall& c : m.tool_calls()) {
      WriteToolCall(w, c, /*fragment=*/false);
    }
    w.EndArray();
  }
  w.EndObject();
}

void WriteDelta(json::Writer& w, const v1::ChatDelta& d) {
  w.BeginObject();
  w.Key("index");
  w.Int(d.index());
  w.Key("delta");
  w.BeginObject();
  if (!d.role().empty()) {
    w.Key("role");
    w.String(d.role());
  }
  if (!d.content().empty()) {
    w.Key("content");
    w.String(d.content());
  } else if (!d.role().empty()) {
    // OpenAI's first chunk always carries content: "" (or null when the answer is tool calls).
    w.Key("content");
    if (d.tool_calls_size() > 0) {
      w.Null();
    } else {
      w.String("");
    }
  }
  if (!d.refusal().empty()) {
    w.Key("refusal");
    w.String(d.refusal());
  }
  if (d.tool_calls_size() > 0) {
    w.Key("tool_calls");
    w.BeginArray();
    for (const v1::ToolCall& c : d.tool_calls()) {
      WriteToolCall(w, c, /*fragment=*/true);
    }
    w.EndArray();
  }
  w.EndObject();
  w.Key("logprobs");
  w.Null();
  w.Key("finish_reason");
  StringOrNull(w, d.finish_reason());
  w.EndObject();
}

}  // namespace

void EncodeChatCompletion(const v1::ChatCompletion& c, const P402Metadata* metadata,
                          std::string& out) {
  json::Writer w(&out);
  w.BeginObject();
  w.Key("id");
  w.String(c.id());
  w.Key("object");
  w.String("chat.completion");
  w.Key("created");
  w.Int(c.created());
  w.Key("model");
  w.String(c.model());
  w.Key("choices");
  w.BeginArray();
  for (const v1::ChatChoice& choice : c.choices()) {
    w.BeginObject();
    w.Key("index");
    w.Int(choice.index());
    w.Key("message");
    WriteMessage(w, choice.message());
    w.Key("logprobs");
    w.Null();
    w.Key("finish_reason");
    StringOrNull(w, choice.finish_reason());
    w.EndObject();
  }
  w.EndArray();
  w.Key("usage");
  WriteUsage(w, c.usage());
  w.Key("system_fingerprint");
  StringOrNull(w, c.system_fingerprint());
  if (metadata != nullptr) {
    w.Key("p402_metadata");
    WriteP402Metadata(*metadata, w);
  }
  w.EndObject();
}

void EncodeChunk(const ChunkHeader& header, const v1::ChatDelta* delta, const v1::TokenUsage* usage,
                 const P402Metadata* metadata, std::string& out) {
  out.append("data: ");
  json::Writer w(&out);
  w.BeginObject();
  w.Key("id");
  w.String(header.id);
  w.Key("object");
  w.String("chat.completion.chunk");
  w.Key("created");
  w.Int(header.created);
  w.Key("model");
  w.String(header.model);
  if (!header.system_fingerprint.empty()) {
    w.Key("system_fingerprint");
    w.String(header.system_fingerprint);
  }
  w.Key("choices");
  w.BeginArray();
  if (delta != nullptr) {
    WriteDelta(w, *delta);
  }
  w.EndArray();
  if (usage != nullptr) {
    w.Key("usage");
    WriteUsage(w, *usage);
  }
  if (metadata != nullptr) {
    w.Key("p402_metadata");
    WriteP402Metadata(*metadata, w);
  }
  w.EndObject();
  out.append("\n\n");
}

void EncodeDone(std::string& out) { out.append("data: [DONE]\n\n"); }

void EncodeStreamError(std::string_view message, std::string_view type, std::string_view code,
                       const P402Metadata* metadata, std::string& out) {
  out.append("data: ");
  json::Writer w(&out);
  w.BeginObject();
  w.Key("error");
  WriteErrorObject(w, message, type.empty() ? std::string_view("server_error") : type, std::nullopt,
                   code.empty() ? std::nullopt : std::optional(code));
  if (metadata != nullptr) {
    w.Key("p402_metadata");
    WriteP402Metadata(*metadata, w);
  }
  w.EndObject();
  out.append("\n\n");
}

}  // namespace p402::openai
