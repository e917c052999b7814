#pragma once
// libnghttp2, loaded with dlopen() only when a grpc:// URL is probed (as OpenSSL is for
// https://): HTTP probes never map it. Only its header is used at build time, for the types.

#include <nghttp2/nghttp2.h>

namespace vitals::cli::h2 {

/// The entry points the gRPC probe uses, looked up with dlsym().
struct api {
  decltype(&::nghttp2_session_callbacks_new) callbacks_new;
  decltype(&::nghttp2_session_callbacks_del) callbacks_del;
  decltype(&::nghttp2_session_callbacks_set_on_header_callback) set_on_header;
  decltype(&::nghttp2_session_callbacks_set_on_data_chunk_recv_callback) set_on_data_chunk_recv;
  decltype(&::nghttp2_session_callbacks_set_on_frame_recv_callback) set_on_frame_recv;
  decltype(&::nghttp2_session_callbacks_set_on_stream_close_callback) set_on_stream_close;
  decltype(&::nghttp2_session_client_new3) client_new3;
  decltype(&::nghttp2_session_del) session_del;
  decltype(&::nghttp2_submit_settings) submit_settings;
  decltype(&::nghttp2_submit_request) submit_request;
  decltype(&::nghttp2_session_mem_send) mem_send;
  decltype(&::nghttp2_session_mem_recv) mem_recv;
  decltype(&::nghttp2_session_want_read) want_read;
  decltype(&::nghttp2_session_want_write) want_write;
  decltype(&::nghttp2_strerror) strerror;
  decltype(&::nghttp2_http2_strerror) http2_strerror;
};

/// Loads libnghttp2.so.14 once. nullptr (with `error` set to a static message) if it is
/// missing or lacks a symbol.
const api* load(const char*& error) noexcept;

/// An nghttp2 allocator over a static arena: the probe's one HTTP/2 session fits in it, so the
/// process still does not touch the heap on the grpc path (libc malloc only past the arena).
nghttp2_mem* arena_allocator() noexcept;

}  // namespace vitals::cli::h2
