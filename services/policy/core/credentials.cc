#include "services/policy/core/credentials.h"

#include <string>
#include <string_view>

#include "libs/common/status_macros.h"
#include "libs/crypto/constant_time.h"
#include "libs/crypto/sha256.h"
#include "services/policy/core/session_rules.h"

namespace p402::policy {
namespace {

ResolvedCredential Refused(std::string_view reason, std::string_view message) {
  ResolvedCredential out;
  out.reason = std::string(reason);
  out.message = std::string(message);
  return out;
}

ResolvedCredential MissingKey() { return Refused("missing_api_key", "no API key was provided"); }

absl::StatusOr<ResolvedCredential> ResolveApiKey(PolicyStore& store, const std::string& secret) {
  if (secret.size() > kMaxApiKeyLength) {
    return Refused("invalid_api_key", "the API key is not valid");
  }
  // Only the hash is ever compared or looked up; the secret goes no further than this line.
  const std::string key_hash = crypto::Sha256Hex(secret);
  P402_ASSIGN_OR_RETURN(std::optional<ApiKeyRecord> key, store.FindApiKeyByHash(key_hash));
  if (!key.has_value() || !crypto::ConstantTimeEquals(key->key_hash, key_hash)) {
    return Refused("invalid_api_key", "the API key is not valid");
  }
  if (key->revoked) {
    ResolvedCredential out = Refused("revoked_api_key", "the API key has been revoked");
    out.key = std::move(key);
    return out;
  }
  ResolvedCredential out;
  out.authenticated = true;
  out.key = std::move(key);
  return out;
}

absl::StatusOr<ResolvedCredential> ResolveSessionToken(PolicyStore& store,
                                                       const std::string& token) {
  if (token.size() > kMaxApiKeyLength) {
    return Refused("invalid_session_token", "the session token is not valid");
  }
  const std::string token_hash = crypto::Sha256Hex(token);
  P402_ASSIGN_OR_RETURN(std::optional<SessionRecord> session,
                        store.FindSessionByTokenHash(token_hash));
  if (!session.has_value() || !crypto::ConstantTimeEquals(session->token_hash, token_hash)) {
    return Refused("invalid_session_token", "the session token is not valid");
  }
  ResolvedCredential out;
  out.authenticated = true;
  out.session = std::move(session);
  return out;
}

}  // namespace

bool IsSessionCredential(const v1::Credential& credential) {
  switch (credential.kind_case()) {
    case v1::Credential::kSessionToken:
      return true;
    case v1::Credential::kApiKey:
      return std::string_view(credential.api_key()).starts_with(kSessionTokenPrefix);
    default:
      return false;
  }
}

absl::StatusOr<ResolvedCredential> ResolveCredential(PolicyStore& store,
                                                     const v1::Credential& credential) {
  switch (credential.kind_case()) {
    case v1::Credential::KIND_NOT_SET:
      return MissingKey();
    case v1::Credential::kPaid:
      // TODO(p402): x402 paid requests (their own issue).
      return Refused("unsupported_credential",
                     "this credential type is not supported yet; use an API key");
    case v1::Credential::kSessionToken:
      if (credential.session_token().empty()) {
        return MissingKey();
      }
      return ResolveSessionToken(store, credential.session_token());
    case v1::Credential::kApiKey:
      break;
  }
  const std::string& secret = credential.api_key();
  if (secret.empty()) {
    return MissingKey();
  }
  if (IsSessionCredential(credential)) {
    return ResolveSessionToken(store, secret);
  }
  return ResolveApiKey(store, secret);
}

}  // namespace p402::policy
