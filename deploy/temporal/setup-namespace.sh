#!/bin/sh
# One-shot (service `temporal-setup`, image temporalio/admin-tools): once the Temporal server
# answers, create agentrun's namespace and register agentrun's custom search attributes in it,
# with Temporal's own `temporal` CLI. Workers start only after this has exited 0.
#
# Idempotent: a namespace or a search attribute that exists is left as it is, so it runs on
# every `docker compose up`.
#
# Environment:
#   TEMPORAL_ADDRESS      the frontend, host:port
#   TEMPORAL_NAMESPACE    the namespace to create (agentrun's TEMPORAL_NAMESPACE)
#   NAMESPACE_RETENTION   how long closed runs' histories are kept, e.g. 7d
#   SEARCH_ATTRIBUTES     NAME=Type,... (agentrun.contracts.names.SEARCH_ATTRIBUTES)
set -eu

: "${TEMPORAL_ADDRESS:?}" "${TEMPORAL_NAMESPACE:?}" "${SEARCH_ATTRIBUTES:?}"
retention="${NAMESPACE_RETENTION:-7d}"

# As Temporal's own compose scripts: talk to the frontend by its IPv4 address.
host="${TEMPORAL_ADDRESS%:*}"
port="${TEMPORAL_ADDRESS##*:}"
ip="$(getent ahosts "$host" | awk '/STREAM/ && $1 ~ /^[0-9.]+$/ { print $1; exit }')"
address="${ip:-$host}:$port"

# Up to ~2 minutes for each step: the port opens before the cluster serves, and a namespace
# just created takes a few seconds to reach every frontend cache.
retry() {
  tries=0
  until "$@"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
      echo "gave up after $tries tries: $*" >&2
      return 1
    fi
    sleep 2
  done
}

echo "waiting for Temporal at $address"
retry temporal operator cluster health --address "$address" >/dev/null

if temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" \
  --address "$address" >/dev/null 2>&1; then
  echo "namespace $TEMPORAL_NAMESPACE exists"
else
  echo "creating namespace $TEMPORAL_NAMESPACE (retention $retention)"
  retry temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" \
    --retention "$retention" --address "$address"
fi

registered() {
  temporal operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" \
    --address "$address" | grep -qw -- "$1"
}

for entry in $(echo "$SEARCH_ATTRIBUTES" | tr ',' ' '); do
  name="${entry%%=*}"
  type="${entry#*=}"
  if retry temporal operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" \
    --address "$address" >/dev/null && registered "$name"; then
    echo "search attribute $name exists"
  else
    echo "registering search attribute $name ($type)"
    retry temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" \
      --address "$address" --name "$name" --type "$type"
  fi
done
echo "namespace $TEMPORAL_NAMESPACE is ready for agentrun"
