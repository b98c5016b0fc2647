#!/usr/bin/env bash
# Enforces the one-owner-per-library rule (HOUSE_STYLE 3.1 / 3.14): each third-party header may
# be included only under its owner's folders, cores never include adapters, and no service
# includes another service. Prints every violation; exit 1 when there is any.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
fail=0

# check <regex of included header> <allowed path regex> <what>
check() {
  local header="$1" allowed="$2" what="$3"
  while IFS= read -r hit; do
    file="${hit%%:*}"
    if ! [[ "$file" =~ $allowed ]]; then
      echo "include rule: $what may not be included in $hit"
      fail=1
    fi
  done < <(grep -rnE "^#include [<\"]($header)" libs services tools tests --include='*.h' --include='*.cc' || true)
}

check 'simdjson' '^libs/json/' 'simdjson'
check 'boost/(beast|asio)' '^(libs/http/|tools/mock_provider/)' 'Beast/Asio'
check 'libpq-fe\.h' '^libs/store/' 'libpq'
check 'openssl/' '^(libs/crypto/|libs/http/|tests/)' 'OpenSSL'
check 'grpcpp/|.*\.grpc\.pb\.h' \
  '^(libs/rpc/|services/[a-z_]+/(rpc|clients)/|services/[a-z_]+/[a-z_]+_server\.cc|tests/|tools/p402/)' \
  'grpc++'

# Cores are pure: no adapters, rpc or clients of any service.
while IFS= read -r hit; do
  echo "include rule: a core includes an adapter: $hit"
  fail=1
done < <(grep -rnE '^#include "services/[a-z_]+/(rpc|clients|adapters)/' services/*/core || true)

# Services meet only through proto/: no service includes another service.
for dir in services/*/; do
  svc="$(basename "$dir")"
  while IFS= read -r hit; do
    echo "include rule: $svc includes another service: $hit"
    fail=1
  done < <(grep -rnE '^#include "services/' "$dir" | grep -vE "\"services/$svc/" || true)
done

if [ "$fail" -eq 0 ]; then
  echo "check_includes: ok"
fi
exit "$fail"
