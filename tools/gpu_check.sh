#!/usr/bin/env bash
# GPU check of the paper model's training strategies (docs/distributed.md).
# On a CUDA machine, in about 10 minutes: trains CONFIG (default the paper
# model, random weights, synthetic data resized to 1024 px) for a few
# iterations with DDP, DeepSpeed ZeRO-2 and FSDP at batch 1 and 2 per GPU on
# every visible GPU, and prints per run the mean step time (iterations 3 on),
# the peak torch.cuda.max_memory_allocated (mmengine's `memory`, rank 0) and whether
# every loss was finite; then runs tools/benchmark.py on CONFIG.
# Usage: tools/gpu_check.sh [CONFIG]
# Environment: PYTHON (default: python), NGPU (default: all visible), ITERS
# (training iterations per run, default 6), OUT (work folder, default
# work_dirs/gpu_check), PORT (first torchrun port, default 29600), SPM (the
# BEiT-3 sentencepiece model; default the tests' tiny one: the weights are
# random anyway).
set -uo pipefail
CONFIG=${1:-configs/rs2sam2_rrsisd.py}
PYTHON=${PYTHON:-python}
OUT=${OUT:-work_dirs/gpu_check}
ITERS=${ITERS:-6}
PORT=${PORT:-29600}
SPM=${SPM:-tests/test_models/fixtures/tiny_spm.model}
cd "$(dirname "$0")/.."
if ! "$PYTHON" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'
then
    echo "error: tools/gpu_check.sh needs CUDA (torch.cuda.is_available() is False)" >&2
    exit 1
fi
NGPU=${NGPU:-$("$PYTHON" -c 'import torch; print(torch.cuda.device_count())')}
DATA=$OUT/data
mkdir -p "$OUT"
"$PYTHON" tools/make_synthetic.py --out-dir "$DATA" --num-train 128 \
    --num-val 2 --num-test 2 --image-size 256 >/dev/null || exit 1
BASE=${CONFIG%.py}
declare -A CONFIGS=([ddp]=$CONFIG [zero2]=${BASE}_zero2.py [fsdp]=${BASE}_fsdp.py)

run() {  # run STRATEGY BATCH: one training run, prints one table row
    local strategy=$1 batch=$2 config=${CONFIGS[$1]}
    local work=$OUT/${strategy}_b${batch} log
    log=$work/train.log
    mkdir -p "$work"
    if [ ! -f "$config" ]; then
        printf '%-6s %5s  %s\n' "$strategy" "$batch" "skipped: no $config"
        return
    fi
    PORT=$((PORT + 1))
    PORT=$PORT PYTHON=$PYTHON bash tools/dist_train.sh "$config" \
        "$NGPU" --work-dir "$work" --cfg-options \
        "train_dataloader.dataset.data_root=$DATA" \
        "val_dataloader.dataset.data_root=$DATA" \
        "test_dataloader.dataset.data_root=$DATA" \
        "train_dataloader.batch_size=$batch" \
        "model.union_encoder.spm_file=$SPM" \
        train_dataloader.num_workers=2 train_cfg.max_epochs=1 \
        train_cfg.val_interval=2 default_hooks.logger.interval=1 \
        default_hooks.checkpoint.interval=2 \
        default_hooks.checkpoint.save_last=False >"$log" 2>&1 &
    local pid=$!
    # stop after ITERS logged iterations (the epoch of 128 images is longer)
    while kill -0 "$pid" 2>/dev/null; do
        [ "$(grep -c 'Epoch(train)' "$log")" -ge "$ITERS" ] && kill -- "$pid"
        sleep 2
    done
    wait "$pid" 2>/dev/null
    awk -v s="$strategy" -v b="$batch" -v want="$ITERS" '
        /Epoch\(train\)/ {
            n++
            for (i = 1; i <= NF; i++) {
                if ($i == "time:" && n > 2) { sum += $(i + 1); k++ }
                if ($i == "memory:" && $(i + 1) + 0 > mem) mem = $(i + 1)
                if ($i == "loss:" && $(i + 1) !~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/)
                    bad = 1
            }
        }
        /^error:|Error:|non-finite/ && !n && !err { err = $0 }
        END {
            if (n == 0) {
                printf "%-6s %5s  failed: %s\n", s, b,
                    (err ? substr(err, 1, 100) : "no iteration logged")
                exit
            }
            step = k ? sprintf("%.3f", sum / k) : "n/a"
            printf "%-6s %5s %8s %13s %8s %6d\n", s, b, step, mem,
                (bad || n < want ? "no" : "yes"), n
        }' "$log"
}

echo "GPUs: $NGPU x $("$PYTHON" -c 'import torch; p = torch.cuda.get_device_properties(0); print(f"{p.name} ({p.total_memory / 2**30:.0f} GiB)")')"
echo "config: $CONFIG, $ITERS iterations per run, logs in $OUT/*/train.log"
printf '%-6s %5s %8s %13s %8s %6s\n' strategy batch step_s peak_mem_MiB finite iters
for strategy in ddp zero2 fsdp; do
    for batch in 1 2; do
        run "$strategy" "$batch"
    done
done
echo "--- tools/benchmark.py $CONFIG (1 GPU, bf16 autocast)"
"$PYTHON" tools/benchmark.py "$CONFIG" --device cuda --amp --iters 3 \
    --json "$OUT/benchmark.json" \
    --cfg-options "model.union_encoder.spm_file=$SPM" 2>&1 |
    grep -v '^running:'
