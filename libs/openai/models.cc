#include "libs/openai/models.h"

#include <string_view>
#include <unordered_map>

#include "libs/json/value.h"
#include "libs/openai/usd_json.h"

namespace p402::openai {
namespace {

void WritePrice(json::Writer& w, std::string_view key, int64_t micros) {
  w.Key(key);
  w.Raw(UsdTrimmed(micros));
}

void WriteModel(json::Writer& w, const v1::ModelInfo& m, int64_t created, bool qualified_id) {
  const std::string& provider = m.ref().provider();
  const std::string& model = m.ref().model();
  w.BeginObject();
  w.Key("id");
  if (qualified_id) {
    std::string id;
    id.reserve(provider.size() + 1 + model.size());
    id.append(provider).append("/").append(model);
    w.String(id);
  } else {
    w.String(model);
  }
  w.Key("object");
  w.String("model");
  w.Key("created");
  w.Int(created);
  w.Key("owned_by");
  w.String(provider);
  w.Key("p402");
  w.BeginObject();
  w.Key("provider");
  w.String(provider);
  w.Key("model");
  w.String(model);
  w.Key("display_name");
  w.String(m.display_name());
  w.Key("pricing");
  w.BeginObject();
  const v1::ModelPrices& p = m.prices();
  WritePrice(w, "input_per_1m_usd", p.input_per_mtok_micro_usd());
  WritePrice(w, "output_per_1m_usd", p.output_per_mtok_micro_usd());
  if (p.cache_read_per_mtok_micro_usd() > 0) {
    WritePrice(w, "cache_read_per_1m_usd", p.cache_read_per_mtok_micro_usd());
  }
  if (p.cache_write_per_mtok_micro_usd() > 0) {
    WritePrice(w, "cache_write_per_1m_usd", p.cache_write_per_mtok_micro_usd());
  }
  w.EndObject();
  w.Key("context_window");
  w.Int(m.context_window_tokens());
  w.Key("max_output_tokens");
  w.Int(m.max_output_tokens());
  w.Key("capabilities");
  w.BeginArray();
  for (const std::string& c : m.capabilities()) {
    w.String(c);
  }
  w.EndArray();
  w.Key("tier");
  w.String(m.tier());
  w.Key("quality");
  w.Int(m.quality());
  w.Key("typical_latency_ms");
  w.Int(m.typical_latency_ms());
  w.Key("available");
  w.Bool(m.available());
  w.EndObject();
  w.EndObject();
}

}  // namespace

void EncodeModelList(const v1::ListModelsResponse& models, int64_t created_unix_s,
                     std::string& out) {
  std::unordered_map<std::string_view, int> providers_per_id;
  for (const v1::ModelInfo& m : models.models()) {
    ++providers_per_id[m.ref().model()];
  }
  json::Writer w(&out);
  w.BeginObject();
  w.Key("object");
  w.String("list");
  w.Key("data");
  w.BeginArray();
  for (const v1::ModelInfo& m : models.models()) {
    WriteModel(w, m, created_unix_s, providers_per_id[m.ref().model()] > 1);
  }
  w.EndArray();
  w.EndObject();
}

void EncodeModel(const v1::ModelInfo& model, int64_t created_unix_s, bool qualified_id,
                 std::string& out) {
  json::Writer w(&out);
  WriteModel(w, model, created_unix_s, qualified_id);
}

}  // namespace p402::openai
