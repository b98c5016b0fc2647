#include "libs/http/handler.h"

namespace p402::http {
namespace {

class FunctionHandler final : public Handler {
 public:
  explicit FunctionHandler(HandlerFunction fn) : fn_(std::move(fn)) {}
  void Handle(Request request, std::shared_ptr<ResponseWriter> writer) override {
    fn_(std::move(request), std::move(writer));
  }

 private:
  HandlerFunction fn_;
};

}  // namespace

std::shared_ptr<Handler> MakeHandler(HandlerFunction fn) {
  return std::make_shared<FunctionHandler>(std::move(fn));
}

}  // namespace p402::http
