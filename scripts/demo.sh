#!/usr/bin/env bash
# Installs what is missing, builds Tandem and runs the seed's Job with a native sidecar.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release 2>&1 | tail -1
exec .build/release/tandem run "${@:-../shared/examples/seeds/job-sidecar-job-demo.yaml}"
