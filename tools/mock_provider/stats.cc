#include "tools/mock_provider/stats.h"

#include "libs/json/value.h"

namespace p402::mock_provider {
namespace {

bool IsSecretHeader(std::string_view lower) {
  return lower == "authorization" || lower == "x-api-key" || lower == "api-key" ||
         lower == "cookie" || lower == "proxy-authorization" || lower == "x-goog-api-key";
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

}  // namespace

void Stats::RecordRequest(const http::Request& request) {
  std::string path(request.path());
  std::lock_guard<std::mutex> lock(mu_);
  ++total_;
  ++by_path_[path];
  has_last_ = true;
  last_method_ = request.method;
  last_path_ = std::move(path);
  last_body_ = request.body;
  last_headers_.clear();
  for (const auto& [name, value] : request.headers) {
    std::string lower = Lower(name);
    if (!IsSecretHeader(lower)) {
      last_headers_[lower] = value;
    }
  }
}

void Stats::RecordStatus(int status, bool stream) {
  std::lock_guard<std::mutex> lock(mu_);
  ++by_status_[status];
  if (stream) {
    ++streams_;
  }
}

void Stats::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  total_ = 0;
  streams_ = 0;
  by_path_.clear();
  by_status_.clear();
  has_last_ = false;
  last_method_.clear();
  last_path_.clear();
  last_body_.clear();
  last_headers_.clear();
}

std::string Stats::ToJson(std::string_view name, size_t queued_behaviors) const {
  std::lock_guard<std::mutex> lock(mu_);
  json::Writer w;
  w.BeginObject();
  w.Key("name");
  w.String(name);
  w.Key("requests_total");
  w.Int(static_cast<int64_t>(total_));
  w.Key("streams_total");
  w.Int(static_cast<int64_t>(streams_));
  w.Key("by_path");
  w.BeginObject();
  for (const auto& [path, n] : by_path_) {
    w.Key(path);
    w.Int(static_cast<int64_t>(n));
  }
  w.EndObject();
  w.Key("by_status");
  w.BeginObject();
  for (const auto& [status, n] : by_status_) {
    w.Key(std::to_string(status));
    w.Int(static_cast<int64_t>(n));
  }
  w.EndObject();
  w.Key("queued_behaviors");
  w.Int(static_cast<int64_t>(queued_behaviors));
  w.Key("last_request");
  if (!has_last_) {
    w.Null();
  } else {
    w.BeginObject();
    w.Key("method");
    w.String(last_method_);
    w.Key("path");
    w.String(last_path_);
    w.Key("body");
    w.String(last_body_);
    w.Key("headers");
    w.BeginObject();
    for (const auto& [k, v] : last_headers_) {
      w.Key(k);
      w.String(v);
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndObject();
  return w.Take();
}

}  // namespace p402::mock_provider
