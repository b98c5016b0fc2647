// File: services/edge/core/chat_pipeline.h
// One chat completion through P402 (BRIEF "Request lifecycle"): decode and validate the OpenAI
// JSON -> policy Authorize (auth + guard + reservation, one RPC) -> router Route/StreamRoute (one
// RPC; the router calls the provider and fails over) -> OpenAI JSON or SSE with p402_metadata ->
// Commit (or Release) off the response path, retried while policy cannot answer (settler.h).
//
// Asynchronous end to end: Handle returns at once; each step continues in the callback of the
// previous one. No thread waits for a provider. The HTTP layer implements ResponseSink.
//
// Billing guard (issue 3), see chat_guard.cc:
// - HOLD_FOR_APPROVAL: the request stays open while the edge polls GetApproval (a stream starts
//   at once and gets ": awaiting approval apr_..." comment lines); approved -> Authorize again
//   with approval_id and go on; denied / expired / waited too long -> 403 "approval_denied" /
//   "approval_timeout" (an SSE error event once the stream started).
// - A stream spending from an agent session is watched: CheckReservation every
//   reservation_check_interval and a timer at the session's expiry. When policy says stop, the
//   edge cancels the router stream, ends the SSE with an error event whose code is the reason,
//   and commits an ESTIMATE of what it delivered (the router's StreamEnd never comes after a
//   cancel): prompt estimate + libs/openai token estimate of the forwarded text and tool-call
//   deltas, at the catalog prices of the chosen model, capped at the reservation, marked
//   cost_estimated. The same estimate bills a stream the client abandoned or the router lost
//   mid-way.
//
// Prepaid balances (issue 4, keyed requests with PipelineOptions.settlement): after policy
// allowed the request with reservation R (amount W), the edge holds W on the caller's prepaid
// account (Settlement.HoldBalance, hold id = R) before dispatch. No prepaid account -> billed as
// before (postpaid); insufficient balance -> R released, 402 insufficient_quota /
// insufficient_balance (top up via POST /v2/topup); HoldBalance failed -> R released, 503
// payment_unavailable (fail closed). Where the request commits it also captures the hold
// (CaptureHold, the actual cost); where it releases, it releases the hold (ReleaseHold). Both are
// fire and forget with 3 retries 0.5 s apart; when they all fail the hold stays in the ledger
// (counted in p402_edge_prepaid_total and logged at warn for reconciliation; documented gap).
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
#include "services/edge/core/settler.h"

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
  // The request carried an Authorization header at all (a non-Bearer one means a caller that
  // meant to authenticate: 401, never an x402 offer).
  bool has_authorization = false;
  std::string body;
  std::chrono::steady_clock::time_point received;
  // x402 payment headers as received ("" when absent): X-PAYMENT (v1) and PAYMENT-SIGNATURE (v2).
  std::string payment_v1;
  std::string payment_v2;
  // The URL the client called ("http://<Host><path>"): the `resource` of x402 offers.
  std::string resource_url;
};

struct PipelineOptions {
  // Let the guard lower max_tokens to fit the budget even when the request did not ask for it
  // (p402.allow_max_tokens_reduction).
  bool allow_max_tokens_reduction_default = false;
  // How often a request held for approval asks policy whether it was decided (and, for a stream,
  // writes an ": awaiting approval" comment line).
  std::chrono::milliseconds approval_poll_interval{500};
  // Longest wait for an approval, whatever its expires_unix_ms says (an approval without an
  // expiry waits this long).
  std::chrono::milliseconds approval_max_wait{std::chrono::minutes(15)};
  // How often a stream spending from an agent session asks policy (CheckReservation) whether it
  // may keep spending.
  std::chrono::milliseconds reservation_check_interval{1000};
  // Retries of a Commit or Release that policy could not answer (settler.h): 0.5 s, doubling up
  // to 30 s, for 10 minutes.
  SettleRetryOptions settle_retry;
  // x402 pay-per-call (issue 4): with a settlement client, a chat request without an API key is
  // answered 402 with one offer per routing mode, and a request carrying a payment header is
  // verified, routed in the paid mode and settled after the provider succeeded. Keyed requests
  // spend the caller's prepaid balance, if any (HoldBalance / CaptureHold / ReleaseHold, above).
  // nullptr = x402 and prepaid off (401 missing_api_key, as before). Must outlive the pipeline.
  SettlementClient* settlement = nullptr;
};

// Supplies the current catalog snapshot (swapped atomically by the refresher).
using CatalogSnapshot = std::function<std::shared_ptr<const CatalogView>()>;

class ChatPipeline {
 public:
  // All references must outlive the pipeline and every call in flight; `scheduler` must stop
  // (dropping its pending callbacks) before the pipeline is destroyed, and StopSettleRetries must
  // be called before the scheduler is destroyed. `clock` gives the wall time compared with
  // approval and session expiries (and the monotonic time of the settle retry budget).
  ChatPipeline(PolicyClient& policy, RouterClient& router, CatalogSnapshot catalog,
               EdgeMetrics& metrics, const Clock& clock, Scheduler& scheduler,
               PipelineOptions options = {});

  // StopSettleRetries()s.
  ~ChatPipeline();

  // Runs one request; the answer goes to `sink`. Never blocks.
  void Handle(ChatCall call, std::shared_ptr<ResponseSink> sink);

  // Stops retrying Commit/Release calls (Settler::Stop): waiting retries are dropped, counted in
  // p402_edge_settle_failed_total and logged with their ids; the scheduler is not used for them
  // any more. The same for CaptureHold/ReleaseHold retries (answers arriving later are only
  // logged). Idempotent; the destructor calls it too. Not from a scheduler callback.
  void StopSettleRetries();

  // Shared state of the fire-and-forget CaptureHold/ReleaseHold retries (chat_prepaid.cc); held by
  // their callbacks, never by an exchange.
  struct PrepaidRetries;

 private:
  friend class ChatExchange;
  PolicyClient& policy_;
  RouterClient& router_;
  CatalogSnapshot catalog_;
  EdgeMetrics& metrics_;
  const Clock& clock_;
  Scheduler& scheduler_;
  PipelineOptions options_;
  Settler settler_;
  std::shared_ptr<PrepaidRetries> prepaid_;
};

}  // namespace p402::edge
