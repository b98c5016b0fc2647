// File: services/edge/core/chat_pipeline.h
// One chat completion through P402 (BRIEF "Request lifecycle"): decode and validate the OpenAI
// JSON -> policy Authorize (auth + guard + reservation, one RPC) -> router Route/StreamRoute (one
// RPC; the router calls the provider and fails over) -> OpenAI JSON or SSE with p402_metadata ->
// Commit (or Release) off the response path.
//
// Asynchronous end to end: Handle returns at once; each step continues in the callback of the
// previous one. No thread waits for a provider. The HTTP layer implements ResponseSink.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "libs/common/clock.h"
#include "services/edge/core/catalog_view.h"
#include "services/edge/core/edge_metrics.h"
#include "services/edge/core/ports.h"

namespace p402::edge {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Where the answer goes (implemented over libs/http's ResponseWriter). Thread-safe.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual void SendJson(int status, std::string body, HeaderList headers) = 0;
  // Starts a text/event-stream response with status 200.
  virtual void StartEventStream(HeaderList headers) = 0;
  virtual void WriteEvent(std::string frame) = 0;
  virtual void Finish() = 0;
  // Called once if the client goes away before the response completed.
  virtual void OnClientGone(std::function<void()> callback) = 0;
};

struct ChatCall {
  std::string request_id;
  // Bearer token from Authorization ("" when absent).
  std::string api_key;
  std::string body;
  std::chrono::steady_clock::time_point received;
};

struct PipelineOptions {
  // Let the guard lower max_tokens to fit the budget even when the request did not ask for it
  // (p402.allow_max_tokens_reduction).
  bool allow_max_tokens_reduction_default = false;
};

// Supplies the current catalog snapshot (swapped atomically by the refresher).
using CatalogSnapshot = std::function<std::shared_ptr<const CatalogView>()>;

class ChatPipeline {
 public:
  // All references must outlive the pipeline and every call in flight.
  ChatPipeline(PolicyClient& policy, RouterClient& router, CatalogSnapshot catalog,
               EdgeMetrics& metrics, const Clock& clock, PipelineOptions options = {});

  // Runs one request; the answer goes to `sink`. Never blocks.
  void Handle(ChatCall call, std::shared_ptr<ResponseSink> sink);

 private:
  friend class ChatExchange;
  PolicyClient& policy_;
  RouterClient& router_;
  CatalogSnapshot catalog_;
  EdgeMetrics& metrics_;
  const Clock& clock_;
  PipelineOptions options_;
};

}  // namespace p402::edge
