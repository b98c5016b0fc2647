// Suite's I/O helpers: the SDK runner, raw HTTP, /metrics and mock stats (split from harness.cc
// to keep files small).
#include <string>
#include <utility>

#include "catch2/catch.hpp"
#include "tests/e2e/harness.h"
#include "tests/e2e/sdk_runner.h"

namespace p402::e2e {

json::Value Suite::RunSdk(std::string_view scenario, std::string_view body_json,
                          const SdkOptions& options) {
  SdkCall call;
  call.base_url = options.base_url.empty() ? EdgeBaseUrl() : options.base_url;
  call.api_key = options.api_key.value_or(api_key_);
  call.scenario = std::string(scenario);
  call.body_json = std::string(body_json);
  call.headers_json = options.headers_json;
  call.timeout = options.timeout;
  call.work_dir = work_dir_;
  auto result = RunSdkClient(call);
  if (!result.ok()) {
    FAIL("RunSdk(" << scenario << "): " << result.status().message());
  }
  return *std::move(result);
}

HttpResult Suite::Http(std::string method, std::string url, std::string body,
                       http::Headers headers) {
  http::ClientRequest req;
  req.method = std::move(method);
  req.url = std::move(url);
  req.body = std::move(body);
  req.headers = std::move(headers);
  req.timeouts.total = std::chrono::seconds(90);
  std::string what = req.method + " " + req.url;
  auto r = http_->FetchBlocking(std::move(req));
  if (!r.ok()) {
    FAIL(what << ": " << r.status().ToString());
  }
  return HttpResult{r->status, std::move(r->headers), std::move(r->body)};
}

HttpResult Suite::HttpGet(std::string url, http::Headers headers) {
  return Http("GET", std::move(url), "", std::move(headers));
}

HttpResult Suite::HttpPost(std::string url, std::string body, http::Headers headers) {
  return Http("POST", std::move(url), std::move(body), std::move(headers));
}

http::Headers Suite::AuthHeaders() const {
  return {{"Authorization", "Bearer " + api_key_}, {"Content-Type", "application/json"}};
}

HttpResult Suite::EdgePost(std::string_view path, std::string body) {
  return HttpPost(EdgeUrl(path), std::move(body), AuthHeaders());
}

std::string Suite::Metrics() {
  HttpResult r = HttpGet(AdminUrl(options_.wiring.edge_metrics_path));
  INFO("edge /metrics: " << r.body.substr(0, 500));
  REQUIRE(r.status == 200);
  return r.body;
}

json::Value Suite::MockStats(std::string_view name) {
  HttpResult r = HttpGet(MockUrl(name, options_.wiring.mock_stats_path));
  INFO("mock " << name << " stats: " << r.body.substr(0, 500));
  REQUIRE(r.status == 200);
  return r.Json();
}

}  // namespace p402::e2e
