#!/usr/bin/env bash
# First call on a fresh device machine: an eager 3-step smoke run of the speedrun preset (catches shape and
# dtype errors in seconds, before any compile), then every notebook's tests with the `gpu` flag.
. bench/gpu_setup.sh
OUT=${OUT:-/tmp}
timeout 240 python3 -m speedgpt.train --preset speedrun --corpus .carry/data --compile false --max_steps 3 \
  --val_tokens 262144 --val_batch_tokens 262144 --val_every 3 --log_every 1 --epochs 20 \
  --out_dir /tmp/smoke --run_id smoke --save_checkpoint false 2>&1 | tee $OUT/smoke.log | tail -25
nvidia-smi --query-gpu=memory.used --format=csv
timeout ${TEST_LIMIT:-420} bash bench/gpu_tests.sh ${1:-nbs} > /dev/null 2>&1
grep -v "^\s*$" $OUT/gpu_tests.log | tail -60
