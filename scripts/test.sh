#!/usr/bin/env bash
# The whole test suite: unit tests of every module, end-to-end tests through the tandem binary,
# then the seed examples as the team lead checks them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="/opt/swift/usr/bin:$PATH"
swift build 2>&1 | tail -1
export TANDEM_BIN="$PWD/.build/debug/tandem"
# Pods reach Services through the host, which must forward IPv4 (a Kubernetes node's
# prerequisite, checked by kubeadm's preflight; Tandem itself leaves the setting alone). On for
# the run, put back after.
forward=$(cat /proc/sys/net/ipv4/ip_forward)
echo 1 > /proc/sys/net/ipv4/ip_forward
trap 'echo "$forward" > /proc/sys/net/ipv4/ip_forward' EXIT
# Bounded: a test that hangs fails the run with its output, well before CI's own limit.
timeout --kill-after=60 3000 swift test --no-parallel 2>&1 | tee /tmp/tandem-test.log | grep -vE '^(\[[0-9]+/[0-9]+\]|Building|Compiling|Write|Linking)' 
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then exit "$status"; fi
../shared/tools/check-seed-examples "$TANDEM_BIN"
