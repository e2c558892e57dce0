#!/usr/bin/env bash
# The main job: set-up, then one simulated system from fixtures/system.yaml until Ctrl-C.
# (The replication lab, `iscsi-sim lab`, takes over this script once it exists.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/iscsi-sim.js serve --config fixtures/system.yaml "$@"
