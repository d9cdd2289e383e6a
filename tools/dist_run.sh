#!/usr/bin/env bash
# Start a tool on NUM_PROCESSES local processes with torchrun; used by
# tools/dist_train.sh and tools/dist_test.sh.
# Usage: tools/dist_run.sh NUM_PROCESSES TOOL [tool arguments]
# Environment: PYTHON (default: python), PORT (master port, default 29500),
# NNODES, NODE_RANK, MASTER_ADDR for several machines.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 NUM_PROCESSES TOOL [tool arguments]" >&2
    exit 2
fi
NPROC=$1
TOOL=$2
shift 2
exec "${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-29500}" --nproc_per_node="$NPROC" \
    "$(dirname "$0")/$TOOL" "$@"
