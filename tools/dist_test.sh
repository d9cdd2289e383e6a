#!/usr/bin/env bash
# Distributed evaluation with torchrun (NCCL on GPUs, gloo without CUDA).
# Usage: tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCESSES [test.py options]
# Environment: see tools/dist_run.sh (PYTHON, PORT, multi-node variables).
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT NUM_PROCESSES [test.py options]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
shift 3
exec bash "$(dirname "$0")/dist_run.sh" "$NPROC" test.py "$CONFIG" \
    "$CHECKPOINT" --launcher pytorch "$@"
