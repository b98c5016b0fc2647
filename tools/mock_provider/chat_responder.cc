// HandleChat: the request flow shared by the OpenAI and Anthropic chat endpoints —
// controls -> auth -> parse -> plan -> (delayed) answer, streamed or not.
#include <chrono>

#include "libs/common/clock.h"
#include "libs/common/status_util.h"
#include "libs/json/value.h"
#include "tools/mock_provider/anthropic_api.h"
#include "tools/mock_provider/mock_state.h"
#include "tools/mock_provider/openai_api.h"
#include "tools/mock_provider/synth.h"

namespace p402::mock_provider {
namespace {

using State = MockProvider::State;
using std::chrono::milliseconds;

http::Response ErrorResponse(const State& state, Api api, int status, std::string_view message,
                             std::optional<int> retry_after) {
  http::Response r = api == Api::kOpenAi ? OpenAiError(status, message, retry_after)
                                         : AnthropicError(status, message, retry_after);
  r.headers.Add("x-mock-provider", state.name);
  return r;
}

std::string InjectedMessage(Api api, int status) {
  switch (status) {
    case 429:
      return api == Api::kOpenAi ? "Rate limit reached for requests (mock)"
                                 : "Number of requests has exceeded your rate limit (mock)";
    case 529:
      return "Overloaded (mock)";
    case 500:
      return "The server had an error while processing your request (mock)";
    default:
      return "mock: injected HTTP " + std::to_string(status);
  }
}

// Writes pre-rendered events with the requested pacing; cuts the stream when told to.
class StreamJob : public std::enable_shared_from_this<StreamJob> {
 public:
  StreamJob(std::weak_ptr<State> state, std::shared_ptr<http::ResponseWriter> writer,
            std::vector<StreamItem> items, const Controls& c)
      : state_(std::move(state)),
        writer_(std::move(writer)),
        items_(std::move(items)),
        token_delay_(c.token_delay_ms.value_or(0)),
        cut_after_(c.cut_after) {
    for (size_t i = 0; i < items_.size(); ++i) {
      if (items_[i].content) last_content_ = i;
    }
  }

  void Start(int ttft_ms) {
    if (ttft_ms > 0) {
      Later(ttft_ms);
    } else {
      Step();
    }
  }

 private:
  void Later(int ms) {
    auto state = state_.lock();
    if (!state) {
      return;
    }
    state->scheduler->RunAfter(milliseconds(ms), [self = shared_from_this()] { self->Step(); });
  }

  void Step() {
    while (next_ < items_.size()) {
      if (writer_->closed()) {
        return;
      }
      const StreamItem& item = items_[next_];
      if (cut_after_ && ((item.content && content_written_ >= *cut_after_) ||
                         next_ > last_content_)) {
        writer_->Abort();  // no finish chunk, no usage, no [DONE]
        return;
      }
      if (item.content && content_written_ > 0 && token_delay_ > 0 && !waited_) {
        waited_ = true;
        Later(token_delay_);
        return;
      }
      waited_ = false;
      writer_->Write(item.bytes);
      ++next_;
      if (item.content) {
        ++content_written_;
      }
    }
    writer_->Finish();
  }

  std::weak_ptr<State> state_;
  std::shared_ptr<http::ResponseWriter> writer_;
  std::vector<StreamItem> items_;
  int token_delay_;
  std::optional<int> cut_after_;
  size_t last_content_ = 0;
  size_t next_ = 0;
  int content_written_ = 0;
  bool waited_ = false;
};

void Hang(const std::shared_ptr<State>& state, uint64_t seq,
          std::shared_ptr<http::ResponseWriter> writer) {
  {
    std::lock_guard<std::mutex> lock(state->hung_mu);
    state->hung[seq] = writer;
  }
  writer->OnClose([weak = std::weak_ptr<State>(state), seq] {
    auto s = weak.lock();
    if (!s) return;
    std::shared_ptr<http::ResponseWriter> released;
    std::lock_guard<std::mutex> lock(s->hung_mu);
    auto it = s->hung.find(seq);
    if (it != s->hung.end()) {
      released = std::move(it->second);
      s->hung.erase(it);
    }
  });
}

void Answer(const std::shared_ptr<State>& state, Api api, const ChatInput& input,
            const Controls& c, uint64_t seq, const std::shared_ptr<http::ResponseWriter>& w) {
  if (w->closed()) {
    return;
  }
  if (c.status && *c.status >= 400) {
    state->stats.RecordStatus(*c.status, false);
    w->Send(ErrorResponse(*state, api, *c.status, InjectedMessage(api, *c.status), c.retry_after));
    return;
  }
  int64_t now = UnixMillis(SystemClock::Get().Now()) / 1000;
  auto plan = PlanChat(input, c, api, state->name, seq, now);
  if (!plan.ok()) {
    state->stats.RecordStatus(400, false);
    w->Send(ErrorResponse(*state, api, 400, MessageOf(plan.status()), std::nullopt));
    return;
  }
  const int status = c.status.value_or(200);
  http::Headers headers;
  headers.Add("x-mock-provider", state->name);
  headers.Add(api == Api::kOpenAi ? "x-request-id" : "request-id", MockId("req_", seq));
  state->stats.RecordStatus(status, input.stream);
  if (!input.stream) {
    http::Response r;
    r.status = status;
    r.headers = std::move(headers);
    r.headers.Add("Content-Type", "application/json");
    r.body = api == Api::kOpenAi ? RenderOpenAiCompletion(*plan, state->name)
                                 : RenderAnthropicMessage(*plan);
    w->Send(std::move(r));
    return;
  }
  headers.Add("Content-Type", "text/event-stream; charset=utf-8");
  headers.Add("Cache-Control", "no-cache");
  std::vector<StreamItem> items = api == Api::kOpenAi
                                      ? RenderOpenAiStream(*plan, input.include_usage, state->name)
                                      : RenderAnthropicStream(*plan);
  w->StartStream(status, std::move(headers));
  auto job = std::make_shared<StreamJob>(state, w, std::move(items), c);
  job->Start(c.ttft_ms.value_or(0));
}

}  // namespace

void HandleChat(const std::shared_ptr<State>& state, Api api, http::Request request,
                std::shared_ptr<http::ResponseWriter> writer) {
  state->stats.RecordRequest(request);
  auto fail = [&](int status, std::string_view message) {
    state->stats.RecordStatus(status, false);
    writer->Send(ErrorResponse(*state, api, status, message, std::nullopt));
  };
  auto header_controls = ControlsFromHeaders(request.headers);
  if (!header_controls.ok()) {
    return fail(400, MessageOf(header_controls.status()));
  }
  if (api == Api::kOpenAi) {
    auto auth = request.Header("authorization");
    if (!auth || auth->size() <= 7 || !http::EqualsIgnoreCase(auth->substr(0, 7), "Bearer ")) {
      return fail(401, "You didn't provide an API key. You need to provide your API key in an "
                       "Authorization header using Bearer auth (i.e. Authorization: Bearer "
                       "YOUR_KEY).");
    }
  } else {
    auto key = request.Header("x-api-key");
    if (!key || key->empty()) {
      return fail(401, "x-api-key header is required");
    }
    if (!request.Header("anthropic-version")) {
      return fail(400, "anthropic-version: header is required");
    }
  }
  auto body = json::Value::Parse(request.body);
  if (!body.ok()) {
    return fail(400, "We could not parse the JSON body of your request: " +
                         MessageOf(body.status()));
  }
  auto input = api == Api::kOpenAi ? ParseOpenAiChat(*body) : ParseAnthropicMessages(*body);
  if (!input.ok()) {
    return fail(400, MessageOf(input.status()));
  }
  auto directives = ControlsFromDirectives(input->last_user_text, state->name);
  if (!directives.ok()) {
    return fail(400, MessageOf(directives.status()));
  }
  Controls c = *header_controls;
  c.FillFrom(*directives);
  c.FillFrom(state->queue.Pop());
  const uint64_t seq = state->seq.fetch_add(1) + 1;
  if (c.hang.value_or(false)) {
    Hang(state, seq, std::move(writer));
    return;
  }
  int latency = c.latency_ms.value_or(0);
  if (latency <= 0) {
    Answer(state, api, *input, c, seq, writer);
    return;
  }
  state->scheduler->RunAfter(
      milliseconds(latency),
      [weak = std::weak_ptr<State>(state), api, in = std::move(*input), c, seq, writer] {
        if (auto s = weak.lock()) {
          Answer(s, api, in, c, seq, writer);
        }
      });
}

}  // namespace p402::mock_provider
