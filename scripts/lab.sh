#!/usr/bin/env bash
# The main job: set-up (idempotent), then the replication lab (`iscsi-sim lab`: embedded Redis, a
# primary and a peer system, a mirror made through CIM) until Ctrl-C. Options go to `iscsi-sim lab`,
# e.g. --base-port 17000 --state-dir /tmp/lab --sync.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/iscsi-sim.js lab "$@"
