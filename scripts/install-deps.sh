#!/usr/bin/env bash
# Installs the Debian packages Tandem runs containers with: busybox (the busybox image),
# nginx-light (the nginx image), git (git-sync), the CNI plugins and iproute2 (pod networking),
# python3 and python3-grpcio (the end-to-end tests' HTTP client and gRPC health server), logrotate
# (the log sidecar's rotation tests and `tandem bench logs`), nftables and conntrack (the Service proxy's rules,
# and its clean-up of UDP flows to endpoints that are gone), libsqlite3-dev (GRDB, the API server's
# store, links the system SQLite), python3-kubernetes (the official Python client, a second real
# client of `tandem serve` in the tests), zlib1g-dev (SPDY/3 header compression for
# `kubectl port-forward`).
set -euo pipefail
need=()
for pkg in busybox-static nginx-light git containernetworking-plugins iproute2 python3 python3-grpcio logrotate nftables conntrack libsqlite3-dev python3-kubernetes zlib1g-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian starts nginx on install; Tandem runs its own nginx per container.
  (command -v service >/dev/null && service nginx stop) >/dev/null 2>&1 || true
  pkill -x nginx 2>/dev/null || true
fi
export PATH="/opt/swift/usr/bin:$PATH"
command -v swift >/dev/null || { echo "swift not found (expected in /opt/swift/usr/bin)" >&2; exit 1; }
