// File: services/policy/core/credentials.h
// Resolution of a caller's credential (p402.v1.Credential) to who it is: a tenant API key or an
// agent session token, looked up by the SHA-256 of the secret only (the secret itself is never
// stored, logged or compared in plain). Shared by Guard::Authorize (which then runs the guard) and
// TenantAdmin::Authenticate (management callers). Whether a found session may still spend
// (revoked, expired, ...) is the caller's decision.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "p402/v1/policy.pb.h"
#include "services/policy/core/ports.h"

namespace p402::policy {

// Longest secret accepted for hashing; anything longer is invalid without a lookup.
inline constexpr size_t kMaxApiKeyLength = 256;

struct ResolvedCredential {
  // True when the secret matched a stored, unrevoked API key or a stored session token.
  bool authenticated = false;
  // When !authenticated: "missing_api_key", "invalid_api_key", "revoked_api_key",
  // "invalid_session_token" or "unsupported_credential" (x402 payments), and a message safe to
  // show to the API caller.
  std::string reason;
  std::string message;
  // The API key (authenticated with a key; also set for a revoked key).
  std::optional<ApiKeyRecord> key;
  // The session (authenticated with a session token, whatever the session's state).
  std::optional<SessionRecord> session;
};

// True when `credential` is a session token: the session_token field, or an api_key starting
// with kSessionTokenPrefix (agents pass their token as the OpenAI SDK's apiKey).
bool IsSessionCredential(const v1::Credential& credential);

// Resolves `credential`. A bad credential is an outcome (authenticated = false), not an error.
// Errors: as PolicyStore::FindApiKeyByHash / FindSessionByTokenHash (Unavailable: store down).
// Thread-safe; blocking as the store.
absl::StatusOr<ResolvedCredential> ResolveCredential(PolicyStore& store,
                                                     const v1::Credential& credential);

}  // namespace p402::policy
