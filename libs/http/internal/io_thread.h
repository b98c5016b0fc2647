// File: libs/http/internal/io_thread.h
// Internal to libs/http. Which io_context the current thread runs, recorded by our io threads
// themselves. Unlike io_context::executor_type::running_in_this_thread(), comparing against it
// never dereferences the io_context, so objects that outlive their server (response writers)
// can ask safely.
#pragma once

namespace p402::http::internal {

// Set once by each io thread to the address of the io_context it runs; null elsewhere.
inline thread_local const void* current_io_context = nullptr;

}  // namespace p402::http::internal
