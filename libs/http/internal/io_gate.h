// File: libs/http/internal/io_gate.h
// Internal to libs/http. Lets objects that may outlive a server or client (response writers, call
// handles held by users) post to its io_contexts only while those exist: the owner flips `alive`
// under the writer lock before destroying them; posters check it under the reader lock.
#pragma once

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace p402::http::internal {

struct IoGate {
  absl::Mutex mu;
  bool alive ABSL_GUARDED_BY(mu) = true;
};

}  // namespace p402::http::internal
