#!/usr/bin/env bash
# Distributed training with torchrun (NCCL on GPUs, gloo without CUDA).
# Usage: tools/dist_train.sh CONFIG NUM_PROCESSES [tools/train.py options]
# Environment: see tools/dist_run.sh (PYTHON, PORT, multi-node variables).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG NUM_PROCESSES [train.py options]" >&2
    exit 2
fi
CONFIG=$1
NPROC=$2
shift 2
exec bash "$(dirname "$0")/dist_run.sh" "$NPROC" train.py "$CONFIG" \
    --launcher pytorch "$@"
