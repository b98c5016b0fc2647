// Crash resistance: random byte-level and structural mutations of valid bodies never crash the
// decoder; every rejection is a well-formed InvalidArgument (reason set), and every accepted
// request can be estimated and encoded back. Deterministic seeds, bounded iteration counts.
#include <random>

#include "libs/openai/chat_response.h"
#include "libs/openai/error_body.h"
#include "libs/openai/token_estimate.h"
#include "tests/libs/openai/test_util.h"

namespace p402::openai {
namespace {

constexpr char kSeedBody[] = R"({"model":"gpt-4o-mini","messages":[
  {"role":"system","content":"be brief"},
  {"role":"user","name":"u","content":[{"type":"text","text":"hi"},
    {"type":"image_url","image_url":{"url":"https://x/a.png","detail":"high"}}]},
  {"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function",
    "function":{"name":"f","arguments":"{}"}}]},
  {"role":"tool","tool_call_id":"c","content":"ok"}],
  "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
  "tool_choice":"auto","max_tokens":100,"temperature":0.5,"top_p":0.9,"n":1,"stop":["x"],
  "stream":true,"stream_options":{"include_usage":true},"response_format":{"type":"text"},
  "user":"u1","seed":7,
  "p402":{"mode":{"cost":0.5,"quality":0.5},"provider":"openai","failover":{"max_retries":2,
    "fallback_providers":["groq"]},"rate_limit_strategy":"switch","max_cost_usd":0.25,
    "required_capabilities":["tools"],"task":"chat","cache":true,"cache_scope":"account",
    "session_id":"s1","allowed_providers":["openai"],"denied_providers":["x"]}})";

// Checks the contract for one body: no crash; errors are InvalidArgument with a reason and map to
// a 400; successes can be estimated.
void CheckOne(std::string_view body) {
  auto r = DecodeChatRequest(body);
  if (r.ok()) {
    CHECK(EstimatePromptTokens(r->chat) >= 3);
    return;
  }
  if (r.status().code() != absl::StatusCode::kInvalidArgument || !ReasonOf(r.status())) {
    FAIL_CHECK("bad status " << r.status().ToString() << " for body " << body);
  }
  if (HttpErrorFromStatus(r.status()).http_status != 400) {
    FAIL_CHECK("not a 400 for " << body);
  }
}

TEST_CASE("byte-level mutations never crash", "[unit]") {
  REQUIRE(DecodeChatRequest(kSeedBody).ok());
  std::mt19937 rng(402);
  const std::string seed = kSeedBody;
  const std::string alphabet = "{}[]\",:0123456789.-eE \\ntrufalsenul\x80\xFF";
  for (int iter = 0; iter < 20000; ++iter) {
    std::string body = seed;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !body.empty(); ++e) {
      size_t pos = rng() % body.size();
      switch (rng() % 5) {
        case 0:
          body[pos] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          body.insert(pos, 1, alphabet[rng() % alphabet.size()]);
          break;
        case 2:
          body.erase(pos, 1 + rng() % 8);
          break;
        case 3:
          body.resize(pos);
          break;
        default:
          body[pos] = static_cast<char>(rng() % 256);
          break;
      }
    }
    CheckOne(body);
  }
}

// Every node of a tree, for structural mutation.
void Collect(json::Value& v, std::vector<json::Value*>& out) {
  out.push_back(&v);
  if (v.is_array()) {
    for (json::Value& c : v.MutableArray()) {
      Collect(c, out);
    }
  } else if (v.is_object()) {
    for (auto& [k, c] : v.MutableObject()) {
      Collect(c, out);
    }
  }
}

json::Value RandomValue(std::mt19937& rng) {
  switch (rng() % 14) {
    case 0:
      return json::Value();
    case 1:
      return json::Value(true);
    case 2:
      return json::Value(int64_t{-1});
    case 3:
      return json::Value(int64_t{0});
    case 4:
      return json::Value(static_cast<uint64_t>(18446744073709551615ull));
    case 5:
      return json::Value(1e300);
    case 6:
      return json::Value(-0.5);
    case 7:
      return json::Value("");
    case 8:
      return json::Value(std::string(300, 'a'));
    case 9:
      return json::Value("robot");
    case 10:
      return json::Value::EmptyArray();
    case 11:
      return json::Value::EmptyObject();
    case 12: {
      json::Value o;
      o.Set("type", "image_url");
      o.Set("image_url", "data:x");
      return o;
    }
    default:
      return json::Value(int64_t{1});
  }
}

TEST_CASE("structural mutations never crash", "[unit]") {
  auto parsed = json::Value::Parse(kSeedBody);
  REQUIRE(parsed.ok());
  std::mt19937 rng(8004);
  int accepted = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    json::Value tree = *parsed;
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      std::vector<json::Value*> nodes;
      Collect(tree, nodes);
      json::Value* target = nodes[rng() % nodes.size()];
      if (rng() % 4 == 0 && target->is_object() && !target->AsObject().empty()) {
        // Drop a member (exercises every "required property" path).
        const std::string key = target->AsObject()[rng() % target->AsObject().size()].first;
        target->Erase(key);
      } else {
        *target = RandomValue(rng);
      }
    }
    std::string body = tree.Serialize();
    auto r = DecodeChatRequest(body);
    accepted += r.ok() ? 1 : 0;
    CheckOne(body);
  }
  // Both outcomes occur, so the mutations exercise acceptance and rejection.
  CHECK(accepted > 0);
  CHECK(accepted < 20000);
}

TEST_CASE("encoders accept arbitrary protobuf strings", "[unit]") {
  std::mt19937 rng(77);
  for (int iter = 0; iter < 2000; ++iter) {
    std::string junk;
    for (int i = 0; i < 20; ++i) {
      junk.push_back(static_cast<char>(rng() % 256));
    }
    v1::ChatCompletion c;
    c.set_id(junk);
    c.set_model(junk);
    v1::ChatChoice* choice = c.add_choices();
    choice->mutable_message()->set_content(junk);
    choice->set_finish_reason(junk);
    v1::ToolCall* tc = choice->mutable_message()->add_tool_calls();
    tc->set_name(junk);
    tc->set_arguments(junk);
    P402Metadata m;
    m.request_id = junk;
    m.attempts.push_back({junk, junk, junk, 0, 0});
    std::string out;
    EncodeChatCompletion(c, &m, out);
    REQUIRE(json::Value::Parse(out).ok());
    v1::ChatDelta d;
    d.set_content(junk);
    std::string frame;
    EncodeChunk(ChunkHeader{.id = junk, .created = 1, .model = junk}, &d, nullptr, &m, frame);
    REQUIRE(json::Value::Parse(frame.substr(6)).ok());
  }
}

}  // namespace
}  // namespace p402::openai
