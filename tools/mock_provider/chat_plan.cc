#include "tools/mock_provider/chat_plan.h"

#include <algorithm>

#include "libs/common/status_util.h"
#include "tools/mock_provider/synth.h"

namespace p402::mock_provider {

absl::StatusOr<ChatPlan> PlanChat(const ChatInput& input, const Controls& controls, Api api,
                                  std::string_view provider, uint64_t seq, int64_t now_unix) {
  ChatPlan plan;
  plan.id = MockId(api == Api::kOpenAi ? "chatcmpl-" : "msg_", seq);
  plan.created = now_unix;
  plan.model = input.model;
  plan.prompt_tokens = input.prompt_tokens;
  plan.cached_tokens = std::min<int64_t>(controls.cached_tokens.value_or(0), input.prompt_tokens);

  const ToolSpec* tool = nullptr;
  if (!input.tools.empty() && !input.tools_disabled) {
    if (input.forced_tool) {
      for (const ToolSpec& t : input.tools) {
        if (t.name == *input.forced_tool) {
          tool = &t;
        }
      }
      if (tool == nullptr) {
        return InvalidArgument("tool_choice names an unknown tool: " + *input.forced_tool);
      }
    } else {
      tool = &input.tools.front();
    }
  }
  if (tool != nullptr) {
    ToolCall call;
    call.id = MockId(api == Api::kOpenAi ? "call_" : "toolu_", seq);
    call.name = tool->name;
    call.arguments = SynthesizeArguments(&tool->schema);
    plan.completion_tokens = kToolCallBaseTokens + TextTokens(call.arguments);
    plan.pieces = Fragments(call.arguments, kToolArgumentFragment);
    plan.tool_call = std::move(call);
    return plan;
  }

  int64_t wanted = controls.tokens.value_or(kDefaultCompletionTokens);
  int64_t n = wanted;
  if (input.max_tokens && *input.max_tokens < wanted) {
    n = *input.max_tokens;
    plan.truncated = true;
  }
  plan.completion_tokens = n;
  plan.pieces = ReplyPieces(static_cast<int>(n), provider);
  for (const std::string& p : plan.pieces) {
    plan.text += p;
  }
  return plan;
}

}  // namespace p402::mock_provider
