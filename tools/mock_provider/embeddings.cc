// RenderOpenAiEmbeddings (declared in openai_api.h): POST /v1/embeddings with deterministic
// bag-of-words vectors (synth.h).
#include <cstring>

#include "libs/common/status_util.h"
#include "tools/mock_provider/openai_api.h"
#include "tools/mock_provider/synth.h"

namespace p402::mock_provider {

absl::StatusOr<std::string> RenderOpenAiEmbeddings(const json::Value& body) {
  if (!body.is_object()) {
    return InvalidArgument("request body must be a JSON object");
  }
  auto model = body.GetString("model");
  if (!model || model->empty()) {
    return InvalidArgument("you must provide a model parameter");
  }
  std::vector<std::string> inputs;
  const json::Value* input = body.Find("input");
  if (input != nullptr && input->is_string()) {
    inputs.push_back(input->AsString());
  } else if (input != nullptr && input->is_array() && !input->AsArray().empty()) {
    for (const json::Value& v : input->AsArray()) {
      if (v.is_string()) {
        inputs.push_back(v.AsString());
      } else if (v.is_integer()) {
        inputs.push_back(std::to_string(v.AsInt()));  // a token id, treated as a word
      } else {
        return InvalidArgument("'input' items must be strings or token ids");
      }
    }
  } else {
    return InvalidArgument("'input' must be a string or a non-empty array");
  }
  int dims = 256;
  if (const json::Value* d = body.Find("dimensions"); d != nullptr && !d->is_null()) {
    if (!d->is_integer() || d->AsInt() < 1 || d->AsInt() > 8192) {
      return InvalidArgument("'dimensions' must be an integer in [1, 8192]");
    }
    dims = static_cast<int>(d->AsInt());
  }
  std::string_view format = body.GetString("encoding_format").value_or("float");
  if (format != "float" && format != "base64") {
    return InvalidArgument("'encoding_format' must be float or base64");
  }
  int64_t tokens = 0;
  json::Writer w;
  w.BeginObject();
  w.Key("object");
  w.String("list");
  w.Key("data");
  w.BeginArray();
  for (size_t i = 0; i < inputs.size(); ++i) {
    tokens += TextTokens(inputs[i]);
    std::vector<float> vec = Embed(inputs[i], dims);
    w.BeginObject();
    w.Key("object");
    w.String("embedding");
    w.Key("index");
    w.Int(static_cast<int64_t>(i));
    w.Key("embedding");
    if (format == "base64") {
      std::string raw(vec.size() * sizeof(float), '\0');
      std::memcpy(raw.data(), vec.data(), raw.size());  // little-endian float32, as OpenAI
      w.String(Base64(raw));
    } else {
      w.BeginArray();
      for (float f : vec) w.Double(static_cast<double>(f));
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndArray();
  w.Key("model");
  w.String(*model);
  w.Key("usage");
  w.BeginObject();
  w.Key("prompt_tokens");
  w.Int(tokens);
  w.Key("total_tokens");
  w.Int(tokens);
  w.EndObject();
  w.EndObject();
  return w.Take();
}

}  // namespace p402::mock_provider
