#include "tools/mock_provider/scheduler.h"

#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "libs/common/log.h"

namespace p402::mock_provider {

namespace asio = boost::asio;

struct Scheduler::Impl {
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard{ioc.get_executor()};
  std::thread thread;
};

Scheduler::Scheduler() : impl_(std::make_unique<Impl>()) {
  asio::io_context* ioc = &impl_->ioc;
  impl_->thread = std::thread([ioc] {
    for (;;) {
      try {
        ioc->run();
        return;
      } catch (const std::exception& e) {
        P402_LOG(kError, "mock scheduler callback threw").Field("error", e.what());
      }
    }
  });
}

Scheduler::~Scheduler() {
  impl_->guard.reset();
  impl_->ioc.stop();
  impl_->thread.join();
}

void Scheduler::RunAfter(std::chrono::milliseconds delay, std::function<void()> fn) {
  auto timer = std::make_shared<asio::steady_timer>(impl_->ioc, delay);
  timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (!ec) {
      fn();
    }
  });
}

}  // namespace p402::mock_provider
