#include "libs/http/client.h"

#include <algorithm>
#include <future>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "libs/common/log.h"
#include "libs/common/status_util.h"
#include "libs/http/internal/client_call.h"
#include "libs/http/internal/tls.h"

namespace p402::http {

namespace asio = internal::asio;

class HttpClient::Impl {
 public:
  ~Impl();
  absl::Status Init(ClientOptions options);
  std::shared_ptr<ClientCall> Send(ClientRequest request, ClientCallbacks callbacks);
  bool OnIoThread() const;

  // `shared` outlives the workers (calls and pooled connections reference it).
  internal::ClientShared shared;
  std::vector<std::unique_ptr<internal::ClientWorker>> workers;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  std::atomic<size_t> next_worker{0};
};

absl::Status HttpClient::Impl::Init(ClientOptions options) {
  options.io_threads = std::clamp(options.io_threads, 1, 16);
  auto tls = internal::MakeClientTlsContext(options.verify_peer, options.ca_files);
  if (!tls.ok()) {
    return tls.status();
  }
  shared.tls = std::move(*tls);
  shared.options = std::move(options);
  for (int i = 0; i < shared.options.io_threads; ++i) {
    workers.push_back(std::make_unique<internal::ClientWorker>(shared.options));
    guards.push_back(asio::make_work_guard(workers.back()->ioc));
  }
  for (auto& w : workers) {
    asio::io_context* ioc = &w->ioc;
    threads.emplace_back([ioc] {
      for (;;) {
        try {
          ioc->run();
          return;
        } catch (const std::exception& e) {
          P402_LOG(kError, "http client io thread caught an exception").Field("error", e.what());
        } catch (...) {
          P402_LOG(kError, "http client io thread caught a non-exception");
        }
      }
    });
  }
  return absl::OkStatus();
}

HttpClient::Impl::~Impl() {
  // Cancel what is still running so every on_complete fires, then stop the threads.
  std::vector<std::shared_ptr<internal::ClientCallImpl>> live;
  {
    absl::MutexLock lock(&shared.mu);
    for (internal::ClientCallImpl* c : shared.calls) {
      if (auto sp = c->weak_from_this().lock()) {
        live.push_back(std::move(sp));
      }
    }
  }
  for (auto& c : live) {
    c->Cancel();
  }
  live.clear();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      absl::MutexLock lock(&shared.mu);
      if (shared.calls.empty()) {
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Pooled connections are io objects: close them on their own threads.
  std::vector<std::future<void>> cleared;
  for (auto& w : workers) {
    auto done = std::make_shared<std::promise<void>>();
    cleared.push_back(done->get_future());
    internal::ClientWorker* raw = w.get();
    asio::post(w->ioc, [raw, done] {
      raw->pool.Clear();
      done->set_value();
    });
  }
  for (auto& f : cleared) {
    f.wait_for(std::chrono::seconds(2));
  }
  {
    absl::WriterMutexLock lock(&shared.gate->mu);
    shared.gate->alive = false;
  }
  for (auto& g : guards) {
    g.reset();
  }
  for (auto& w : workers) {
    w->ioc.stop();
  }
  for (auto& t : threads) {
    if (t.joinable()) {
      t.join();
    }
  }
}

bool HttpClient::Impl::OnIoThread() const {
  for (const auto& w : workers) {
    if (w->ioc.get_executor().running_in_this_thread()) {
      return true;
    }
  }
  return false;
}

std::shared_ptr<ClientCall> HttpClient::Impl::Send(ClientRequest request,
                                                   ClientCallbacks callbacks) {
  internal::ClientWorker& worker = *workers[next_worker.fetch_add(1) % workers.size()];
  auto call = std::make_shared<internal::ClientCallImpl>(shared, worker, std::move(request),
                                                         std::move(callbacks));
  {
    absl::MutexLock lock(&shared.mu);
    shared.calls.insert(call.get());
  }
  asio::post(worker.ioc, [call] {
    try {
      call->Start();
    } catch (const std::exception& e) {
      call->Fail(Internal(std::string("http client: ") + e.what()));
    }
  });
  return call;
}

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

absl::StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(ClientOptions options) {
  auto impl = std::make_unique<Impl>();
  try {
    absl::Status status = impl->Init(std::move(options));
    if (!status.ok()) {
      return status;
    }
  } catch (const std::exception& e) {
    return Internal(std::string("http client: create failed: ") + e.what());
  }
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

std::shared_ptr<ClientCall> HttpClient::Send(ClientRequest request, ClientCallbacks callbacks) {
  return impl_->Send(std::move(request), std::move(callbacks));
}

std::shared_ptr<ClientCall> HttpClient::Fetch(
    ClientRequest request, std::function<void(absl::StatusOr<ClientResponse>)> done) {
  auto response = std::make_shared<ClientResponse>();
  ClientCallbacks callbacks;
  callbacks.on_headers = [response](int status, Headers headers) {
    response->status = status;
    response->headers = std::move(headers);
  };
  callbacks.on_body = [response](std::string_view chunk) { response->body.append(chunk); };
  callbacks.on_complete = [response, done = std::move(done)](absl::Status status) {
    if (status.ok()) {
      done(std::move(*response));
    } else {
      done(std::move(status));
    }
  };
  return Send(std::move(request), std::move(callbacks));
}

absl::StatusOr<ClientResponse> HttpClient::FetchBlocking(ClientRequest request) {
  if (impl_->OnIoThread()) {
    return FailedPrecondition("HttpClient::FetchBlocking called on the client's io thread");
  }
  std::promise<absl::StatusOr<ClientResponse>> promise;
  auto future = promise.get_future();
  Fetch(std::move(request), [&promise](absl::StatusOr<ClientResponse> r) {
    promise.set_value(std::move(r));
  });
  return future.get();
}

ClientStats HttpClient::stats() const {
  ClientStats s;
  s.requests = impl_->shared.requests.load(std::memory_order_relaxed);
  s.connections_opened = impl_->shared.connections_opened.load(std::memory_order_relaxed);
  s.connections_reused = impl_->shared.connections_reused.load(std::memory_order_relaxed);
  return s;
}

}  // namespace p402::http
