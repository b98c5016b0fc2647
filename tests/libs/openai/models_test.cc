// GET /v1/models encoding: OpenAI shape, p402 member, exact USD prices, unique ids.
#include "libs/openai/models.h"

#include "tests/libs/openai/test_util.h"

namespace p402::openai {
namespace {

using testing::ParseJson;

v1::ModelInfo Model(const char* provider, const char* model, int64_t in, int64_t out) {
  v1::ModelInfo m;
  m.mutable_ref()->set_provider(provider);
  m.mutable_ref()->set_model(model);
  m.set_display_name(model);
  m.mutable_prices()->set_input_per_mtok_micro_usd(in);
  m.mutable_prices()->set_output_per_mtok_micro_usd(out);
  m.set_context_window_tokens(128000);
  m.set_max_output_tokens(16384);
  m.set_tier("budget");
  m.set_quality(1272);
  m.set_typical_latency_ms(400);
  m.set_available(true);
  return m;
}

TEST_CASE("model list golden", "[unit]") {
  v1::ListModelsResponse list;
  v1::ModelInfo mini = Model("openai", "gpt-4o-mini", 150000, 600000);
  mini.mutable_prices()->set_cache_read_per_mtok_micro_usd(75000);
  mini.add_capabilities("tools");
  mini.add_capabilities("vision");
  *list.add_models() = mini;
  std::string out;
  EncodeModelList(list, 1720000000, out);
  CHECK(out ==
        R"({"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1720000000,)"
        R"("owned_by":"openai","p402":{"provider":"openai","model":"gpt-4o-mini",)"
        R"("display_name":"gpt-4o-mini","pricing":{"input_per_1m_usd":0.15,)"
        R"("output_per_1m_usd":0.6,"cache_read_per_1m_usd":0.075},"context_window":128000,)"
        R"("max_output_tokens":16384,"capabilities":["tools","vision"],"tier":"budget",)"
        R"("quality":1272,"typical_latency_ms":400,"available":true}}]})");
}

TEST_CASE("model prices are exact decimals and shared ids are qualified", "[unit]") {
  v1::ListModelsResponse list;
  *list.add_models() = Model("groq", "llama-3.3-70b", 590000, 790000);
  *list.add_models() = Model("together", "llama-3.3-70b", 880000, 880000);
  *list.add_models() = Model("anthropic", "claude-opus-4", 15000000, 75000000);
  *list.add_models() = Model("cheap", "tiny", 1, 0);
  std::string out;
  EncodeModelList(list, 0, out);
  json::Value v = ParseJson(out);
  CHECK(v.GetString("object") == "list");
  const json::Array& data = v.Find("data")->AsArray();
  REQUIRE(data.size() == 4);
  CHECK(data[0].GetString("id") == "groq/llama-3.3-70b");
  CHECK(data[1].GetString("id") == "together/llama-3.3-70b");
  CHECK(data[2].GetString("id") == "claude-opus-4");
  CHECK(data[2].GetString("owned_by") == "anthropic");
  CHECK_THAT(out, Catch::Contains(R"("input_per_1m_usd":15,"output_per_1m_usd":75})"));
  CHECK_THAT(out, Catch::Contains(R"("input_per_1m_usd":0.000001,"output_per_1m_usd":0})"));
  CHECK(data[0].Find("p402")->Find("pricing")->GetDouble("input_per_1m_usd") == 0.59);
  CHECK(data[0].Find("p402")->Find("pricing")->Find("cache_read_per_1m_usd") == nullptr);

  std::string one;
  EncodeModel(list.models(0), 5, /*qualified_id=*/true, one);
  json::Value m = ParseJson(one);
  CHECK(m.GetString("id") == "groq/llama-3.3-70b");
  CHECK(m.GetInt("created") == 5);
  CHECK(m.GetString("object") == "model");

  std::string empty;
  EncodeModelList(v1::ListModelsResponse(), 0, empty);
  CHECK(empty == R"({"object":"list","data":[]})");
}

}  // namespace
}  // namespace p402::openai
