// File: tools/mock_provider/stats.h
// Counters behind GET /__mock/stats: requests in total, per path and per answered status,
// streams, and the last API request (method, path, body, headers minus secrets) so tests can
// assert which provider was hit and with what. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "libs/http/request.h"

namespace p402::mock_provider {

class Stats {
 public:
  // Records an API request as it arrives.
  void RecordRequest(const http::Request& request);
  // Records the status an API request was answered with (and whether it streamed).
  void RecordStatus(int status, bool stream);
  void Reset();
  // {"name":..,"requests_total":..,"streams_total":..,"by_path":{..},"by_status":{"200":..},
  //  "last_request":{"method","path","body","headers":{lower-case name: value}}|null}
  std::string ToJson(std::string_view name, size_t queued_behaviors) const;

 private:
  mutable std::mutex mu_;
  uint64_t total_ = 0;
  uint64_t streams_ = 0;
  std::map<std::string, uint64_t> by_path_;
  std::map<int, uint64_t> by_status_;
  bool has_last_ = false;
  std::string last_method_;
  std::string last_path_;
  std::string last_body_;
  std::map<std::string, std::string> last_headers_;
};

}  // namespace p402::mock_provider
