// The `p402` request extension: every field, defaults, and every error path.
#include "libs/openai/p402_extension.h"

#include "tests/libs/openai/test_util.h"

namespace p402::openai {
namespace {

using testing::Body;
using testing::ExpectDecodeError;

P402Extension DecodeExt(std::string_view p402_json) {
  auto r = DecodeChatRequest(Body(std::string("\"p402\":") + std::string(p402_json)));
  INFO(p402_json);
  REQUIRE(r.ok());
  return r->ext;
}

void ExpectExtError(std::string_view p402_json, std::string_view message, std::string_view param,
                    std::string_view reason) {
  ExpectDecodeError(Body(std::string("\"p402\":") + std::string(p402_json)), message, param,
                    reason);
}

TEST_CASE("p402 absent or null gives defaults", "[unit]") {
  for (std::string body : {Body(), Body(R"("p402":null)")}) {
    auto r = DecodeChatRequest(body);
    REQUIRE(r.ok());
    CHECK_FALSE(r->ext.present);
    CHECK_FALSE(r->ext.mode_given);
    CHECK(r->ext.routing.mode() == v1::ROUTING_MODE_UNSPECIFIED);
    CHECK(r->ext.routing.max_cost_micro_usd() == 0);
    CHECK_FALSE(r->ext.cache);
    CHECK(r->ext.cache_scope == v1::CACHE_SCOPE_UNSPECIFIED);
  }
  P402Extension empty = DecodeExt("{}");
  CHECK(empty.present);
  CHECK_FALSE(empty.mode_given);
}

TEST_CASE("p402 modes by name and by weights", "[unit]") {
  CHECK(DecodeExt(R"({"mode":"cost"})").routing.mode() == v1::ROUTING_MODE_COST);
  CHECK(DecodeExt(R"({"mode":"quality"})").routing.mode() == v1::ROUTING_MODE_QUALITY);
  CHECK(DecodeExt(R"({"mode":"speed"})").routing.mode() == v1::ROUTING_MODE_SPEED);
  P402Extension b = DecodeExt(R"({"mode":"balanced"})");
  CHECK(b.routing.mode() == v1::ROUTING_MODE_BALANCED);
  CHECK(b.mode_given);
  CHECK(RoutingModeName(b.routing.mode()) == "balanced");

  P402Extension c = DecodeExt(R"({"mode":{"cost":0.4,"quality":0.4,"speed":0.2}})");
  CHECK(c.mode_given);
  CHECK(c.routing.mode() == v1::ROUTING_MODE_CUSTOM);
  CHECK(c.routing.weights().cost() == 0.4);
  CHECK(c.routing.weights().quality() == 0.4);
  CHECK(c.routing.weights().speed() == 0.2);
  CHECK(RoutingModeName(c.routing.mode()) == "custom");
  // Missing weights are 0; one non-zero weight is enough.
  P402Extension q = DecodeExt(R"({"mode":{"quality":1}})");
  CHECK(q.routing.weights().cost() == 0);
  CHECK(q.routing.weights().quality() == 1);
}

TEST_CASE("model may be omitted only with a mode", "[unit]") {
  auto r =
      DecodeChatRequest(R"({"messages":[{"role":"user","content":"x"}],"p402":{"mode":"cost"}})");
  REQUIRE(r.ok());
  CHECK(r->chat.model().empty());
  auto w = DecodeChatRequest(
      R"({"model":"","messages":[{"role":"user","content":"x"}],"p402":{"mode":{"speed":1}}})");
  REQUIRE(w.ok());
}

TEST_CASE("p402 all fields", "[unit]") {
  P402Extension e = DecodeExt(R"({
      "mode": "quality", "provider": "anthropic",
      "allowed_providers": ["anthropic", "openai", "amazon-bedrock", "together.ai"],
      "denied_providers": ["deepseek"],
      "failover": {"enabled": true, "max_retries": 3, "fallback_providers": ["openai", "groq"]},
      "rate_limit_strategy": "queue", "max_cost_usd": 0.01,
      "required_capabilities": ["vision", "tools", "vision"], "task": "summarization",
      "max_tier": "mid", "cache": true, "cache_scope": "global", "cache_threshold": 0.95,
      "cache_max_age_ms": 3600000, "session_id": "sess_01HZ:agent-7",
      "allow_max_tokens_reduction": true})");
  const v1::RoutingOptions& r = e.routing;
  CHECK(r.mode() == v1::ROUTING_MODE_QUALITY);
  CHECK(r.provider() == "anthropic");
  REQUIRE(r.allowed_providers_size() == 4);
  CHECK(r.allowed_providers(3) == "together.ai");
  REQUIRE(r.denied_providers_size() == 1);
  CHECK(r.denied_providers(0) == "deepseek");
  CHECK(r.failover().enabled());
  CHECK(r.failover().max_retries() == 3);
  REQUIRE(r.failover().fallback_providers_size() == 2);
  CHECK(r.failover().fallback_providers(1) == "groq");
  CHECK(r.rate_limit_strategy() == v1::RATE_LIMIT_STRATEGY_QUEUE);
  CHECK(r.max_cost_micro_usd() == 10000);
  REQUIRE(r.required_capabilities_size() == 2);  // deduplicated
  CHECK(r.required_capabilities(0) == "vision");
  CHECK(r.required_capabilities(1) == "tools");
  CHECK(r.task() == "summarization");
  CHECK(r.max_tier() == "mid");
  CHECK(e.cache);
  CHECK(e.cache_scope == v1::CACHE_SCOPE_GLOBAL);
  CHECK(e.cache_threshold == 0.95);
  CHECK(e.cache_max_age_ms == 3600000);
  CHECK(e.session_id == "sess_01HZ:agent-7");
  CHECK(e.allow_max_tokens_reduction);
}

TEST_CASE("p402 failover shorthand and defaults", "[unit]") {
  CHECK(DecodeExt(R"({"failover":true})").routing.failover().enabled());
  CHECK_FALSE(DecodeExt(R"({"failover":false})").routing.failover().enabled());
  // An object without "enabled" asks for failover.
  v1::FailoverOptions f = DecodeExt(R"({"failover":{"max_retries":2}})").routing.failover();
  CHECK(f.enabled());
  CHECK(f.max_retries() == 2);
  CHECK_FALSE(DecodeExt(R"({"failover":{"enabled":false}})").routing.failover().enabled());
  CHECK(DecodeExt(R"({"rate_limit_strategy":"switch"})").routing.rate_limit_strategy() ==
        v1::RATE_LIMIT_STRATEGY_SWITCH);
  CHECK(DecodeExt(R"({"rate_limit_strategy":"fail"})").routing.rate_limit_strategy() ==
        v1::RATE_LIMIT_STRATEGY_FAIL);
  CHECK(DecodeExt(R"({"cache_scope":"account"})").cache_scope == v1::CACHE_SCOPE_ACCOUNT);
  CHECK(DecodeExt(R"({"cache_scope":"none"})").cache_scope == v1::CACHE_SCOPE_NONE);
  // null members are absent.
  CHECK(DecodeExt(R"({"mode":null,"unknown_but_null":null})").present);
}

TEST_CASE("p402 max_cost_usd is converted exactly", "[unit]") {
  auto micros = [](std::string_view v) {
    return DecodeExt(std::string(R"({"max_cost_usd":)") + std::string(v) + "}")
        .routing.max_cost_micro_usd();
  };
  CHECK(micros("0.01") == 10000);
  CHECK(micros("0.000123") == 123);
  CHECK(micros("0.000001") == 1);
  CHECK(micros("1e-3") == 1000);
  CHECK(micros("2.5E+1") == 25000000);
  CHECK(micros("123.456789") == 123456789);
  CHECK(micros("0.29") == 290000);  // 0.29 is 0.28999999999999998 as a double
  CHECK(micros("50") == 50000000);
  CHECK(micros("1.0000019") == 1000001);  // truncated: a ceiling never grows
  CHECK(micros(R"("0.07")") == 70000);    // decimal strings are accepted
  CHECK(micros(R"("1e-2")") == 10000);
}

TEST_CASE("p402 errors", "[unit]") {
  ExpectExtError(R"("cheap")",
                 "Invalid type for 'p402': expected an object, but got a string instead.", "p402",
                 "invalid_type");
  ExpectExtError(R"({"mode":"cheap"})",
                 "Invalid value for 'p402.mode': 'cheap' is not one of 'cost', 'quality', "
                 "'speed', 'balanced'.",
                 "p402.mode", "invalid_value");
  ExpectExtError(R"({"mode":3})",
                 "Invalid type for 'p402.mode': expected a mode name or an object of weights, but "
                 "got an integer instead.",
                 "p402.mode", "invalid_type");
  ExpectExtError(R"({"mode":{"cost":1.5}})",
                 "Invalid 'p402.mode.cost': decimal above maximum value. Expected a value <= 1, "
                 "but got 1.5 instead.",
                 "p402.mode.cost", "decimal_above_max_value");
  ExpectExtError(R"({"mode":{"speed":-0.5}})",
                 "Invalid 'p402.mode.speed': decimal below minimum value. Expected a value >= 0, "
                 "but got -0.5 instead.",
                 "p402.mode.speed", "decimal_below_min_value");
  ExpectExtError(R"({"mode":{"cost":"high"}})",
                 "Invalid type for 'p402.mode.cost': expected a number, but got a string instead.",
                 "p402.mode.cost", "invalid_type");
  ExpectExtError(R"({"mode":{"cost":0,"quality":0}})",
                 "Invalid value for 'p402.mode': custom weights {\"cost\", \"quality\", "
                 "\"speed\"} must not all be 0.",
                 "p402.mode", "invalid_value");
  ExpectExtError(R"({"mode":{}})",
                 "Invalid value for 'p402.mode': custom weights {\"cost\", \"quality\", "
                 "\"speed\"} must not all be 0.",
                 "p402.mode", "invalid_value");
  ExpectExtError(R"({"mode":{"price":1}})", "Unknown parameter: 'p402.mode.price'.",
                 "p402.mode.price", "unknown_parameter");
  ExpectExtError(R"({"fallback":true})", "Unknown parameter: 'p402.fallback'.", "p402.fallback",
                 "unknown_parameter");
  ExpectExtError(R"({"provider":"bad/id"})",
                 "Invalid value for 'p402.provider': 'bad/id' is not a provider id (1 to 64 of "
                 "A-Z, a-z, 0-9, '.', '_', '-').",
                 "p402.provider", "invalid_value");
  ExpectExtError(R"({"provider":1})",
                 "Invalid type for 'p402.provider': expected a string, but got an integer "
                 "instead.",
                 "p402.provider", "invalid_type");
  ExpectExtError(R"({"failover":"yes"})",
                 "Invalid type for 'p402.failover': expected an object or a boolean, but got a "
                 "string instead.",
                 "p402.failover", "invalid_type");
  ExpectExtError(R"({"failover":{"max_retries":11}})",
                 "Invalid 'p402.failover.max_retries': integer above maximum value. Expected a "
                 "value <= 10, but got 11 instead.",
                 "p402.failover.max_retries", "integer_above_max_value");
  ExpectExtError(R"({"failover":{"max_retries":-1}})",
                 "Invalid 'p402.failover.max_retries': integer below minimum value. Expected a "
                 "value >= 0, but got -1 instead.",
                 "p402.failover.max_retries", "integer_below_min_value");
  ExpectExtError(R"({"failover":{"enabled":"true"}})",
                 "Invalid type for 'p402.failover.enabled': expected a boolean, but got a string "
                 "instead.",
                 "p402.failover.enabled", "invalid_type");
  ExpectExtError(R"({"failover":{"retries":3}})", "Unknown parameter: 'p402.failover.retries'.",
                 "p402.failover.retries", "unknown_parameter");
  ExpectExtError(R"({"failover":{"fallback_providers":["openai","bad id!"]}})",
                 "Invalid value for 'p402.failover.fallback_providers[1]': 'bad id!' is not a "
                 "provider id (1 to 64 of A-Z, a-z, 0-9, '.', '_', '-').",
                 "p402.failover.fallback_providers[1]", "invalid_value");
  ExpectExtError(R"({"allowed_providers":"openai"})",
                 "Invalid type for 'p402.allowed_providers': expected an array of strings, but "
                 "got a string instead.",
                 "p402.allowed_providers", "invalid_type");
  ExpectExtError(R"({"denied_providers":[""]})",
                 "Invalid 'p402.denied_providers[0]': empty string. Expected a string with "
                 "minimum length 1, but got an empty string instead.",
                 "p402.denied_providers[0]", "empty_string");
  std::string many = R"({"allowed_providers":[)";
  for (int i = 0; i < 65; ++i) {
    many += (i ? ",\"p" : "\"p") + std::to_string(i) + "\"";
  }
  ExpectExtError(many + "]}",
                 "Invalid 'p402.allowed_providers': array too long. Expected an array with "
                 "maximum length 64, but got an array with length 65 instead.",
                 "p402.allowed_providers", "array_above_max_length");
  ExpectExtError(R"({"rate_limit_strategy":"retry"})",
                 "Invalid value for 'p402.rate_limit_strategy': 'retry' is not one of 'switch', "
                 "'queue', 'fail'.",
                 "p402.rate_limit_strategy", "invalid_value");
  ExpectExtError(R"({"max_cost_usd":-1})",
                 "Invalid 'p402.max_cost_usd': decimal below minimum value. Expected a value > 0.",
                 "p402.max_cost_usd", "decimal_below_min_value");
  ExpectExtError(R"({"max_cost_usd":"-0.5"})",
                 "Invalid 'p402.max_cost_usd': decimal below minimum value. Expected a value > 0.",
                 "p402.max_cost_usd", "decimal_below_min_value");
  for (const char* zero : {"0", "0.0", "0.0000001", R"("0")"}) {
    ExpectExtError(std::string(R"({"max_cost_usd":)") + zero + "}",
                   "Invalid 'p402.max_cost_usd': decimal below minimum value. Expected a value >= "
                   "0.000001 (omit the field for no limit).",
                   "p402.max_cost_usd", "decimal_below_min_value");
  }
  ExpectExtError(R"({"max_cost_usd":1e30})",
                 "Invalid 'p402.max_cost_usd': decimal above maximum value. Expected a value <= "
                 "9223372036854.775807.",
                 "p402.max_cost_usd", "decimal_above_max_value");
  ExpectExtError(R"({"max_cost_usd":"abc"})",
                 "Invalid value for 'p402.max_cost_usd': 'abc' is not a decimal amount in USD.",
                 "p402.max_cost_usd", "invalid_value");
  ExpectExtError(R"({"max_cost_usd":true})",
                 "Invalid type for 'p402.max_cost_usd': expected a number, but got a boolean "
                 "instead.",
                 "p402.max_cost_usd", "invalid_type");
  ExpectExtError(R"({"required_capabilities":["vision","telepathy"]})",
                 "Invalid value for 'p402.required_capabilities[1]': 'telepathy' is not one of "
                 "'tools', 'vision', 'json_mode', 'reasoning', 'streaming', 'embeddings'.",
                 "p402.required_capabilities[1]", "invalid_value");
  ExpectExtError(R"({"required_capabilities":"vision"})",
                 "Invalid type for 'p402.required_capabilities': expected an array of strings, "
                 "but got a string instead.",
                 "p402.required_capabilities", "invalid_type");
  ExpectExtError(R"({"task":""})",
                 "Invalid 'p402.task': empty string. Expected a string with minimum length 1, but "
                 "got an empty string instead.",
                 "p402.task", "empty_string");
  ExpectExtError(R"({"task":"write code"})",
                 "Invalid value for 'p402.task': 'write code' is not a task label (1 to 64 of "
                 "A-Z, a-z, 0-9, '.', '_', '-').",
                 "p402.task", "invalid_value");
  ExpectExtError(R"({"max_tier":"ultra"})",
                 "Invalid value for 'p402.max_tier': 'ultra' is not one of 'budget', 'mid', "
                 "'premium'.",
                 "p402.max_tier", "invalid_value");
  ExpectExtError(R"({"cache":"yes"})",
                 "Invalid type for 'p402.cache': expected a boolean, but got a string instead.",
                 "p402.cache", "invalid_type");
  ExpectExtError(R"({"cache_scope":"public"})",
                 "Invalid value for 'p402.cache_scope': 'public' is not one of 'account', "
                 "'global', 'none'.",
                 "p402.cache_scope", "invalid_value");
  ExpectExtError(R"({"cache_threshold":0})",
                 "Invalid value for 'p402.cache_threshold': the similarity threshold must be "
                 "greater than 0.",
                 "p402.cache_threshold", "invalid_value");
  ExpectExtError(R"({"cache_threshold":1.2})",
                 "Invalid 'p402.cache_threshold': decimal above maximum value. Expected a value "
                 "<= 1, but got 1.2 instead.",
                 "p402.cache_threshold", "decimal_above_max_value");
  ExpectExtError(R"({"cache_max_age_ms":-1})",
                 "Invalid 'p402.cache_max_age_ms': integer below minimum value. Expected a value "
                 ">= 0, but got -1 instead.",
                 "p402.cache_max_age_ms", "integer_below_min_value");
  ExpectExtError(R"({"session_id":"a b"})",
                 "Invalid value for 'p402.session_id': 'a b' is not a session id (1 to 128 of "
                 "A-Z, a-z, 0-9, '.', '_', ':', '-').",
                 "p402.session_id", "invalid_value");
  ExpectExtError(R"({"session_id":7})",
                 "Invalid type for 'p402.session_id': expected a string, but got an integer "
                 "instead.",
                 "p402.session_id", "invalid_type");
  ExpectExtError(R"({"allow_max_tokens_reduction":1})",
                 "Invalid type for 'p402.allow_max_tokens_reduction': expected a boolean, but got "
                 "an integer instead.",
                 "p402.allow_max_tokens_reduction", "invalid_type");
}

}  // namespace
}  // namespace p402::openai
