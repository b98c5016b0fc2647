// File: tools/mock_provider/mock_state.h
// Internal to tools/mock_provider: the state shared by the mock's request handlers.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "libs/http/handler.h"
#include "tools/mock_provider/chat_plan.h"
#include "tools/mock_provider/controls.h"
#include "tools/mock_provider/mock_provider.h"
#include "tools/mock_provider/scheduler.h"
#include "tools/mock_provider/stats.h"

namespace p402::mock_provider {

struct MockProvider::State {
  std::string name;
  std::vector<std::string> models;
  Scheduler* scheduler = nullptr;  // owned by MockProvider, outlives every use through State
  ControlQueue queue;
  Stats stats;
  std::atomic<uint64_t> seq{0};
  // Writers of requests told to hang, kept until their client goes away.
  std::mutex hung_mu;
  std::unordered_map<uint64_t, std::shared_ptr<http::ResponseWriter>> hung;
};

// Answers POST /v1/chat/completions (kOpenAi) or POST /v1/messages (kAnthropic).
void HandleChat(const std::shared_ptr<MockProvider::State>& state, Api api,
                http::Request request, std::shared_ptr<http::ResponseWriter> writer);

}  // namespace p402::mock_provider
