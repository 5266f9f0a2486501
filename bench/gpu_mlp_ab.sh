#!/usr/bin/env bash
# A/B in the whole compiled speedrun step: the fused ReLU² MLP kernel against the compiled torch MLP
# (model.fused_mlp). Same data, schedule shortened to 45+3 steps; metrics for each side land in $OUT.
. bench/gpu_setup.sh
OUT=${OUT:-/tmp}
for fused in true false; do
  timeout ${AB_LIMIT:-280} python3 -m speedgpt.train --preset speedrun --corpus .carry/data \
    --num_scheduled_steps 45 --num_extension_steps 3 --epochs 20 --val_tokens 65536 --val_batch_tokens 65536 \
    --val_every 0 --log_every 5 --out_dir /tmp/ab --run_id mlp-fused-$fused --save_checkpoint false \
    --sample_tokens 0 --fused_mlp $fused 2>&1 | grep -v "Warning\|^W1\|^  " | tail -3
  cp /tmp/ab/mlp-fused-$fused/metrics.jsonl $OUT/metrics-mlp-fused-$fused.jsonl 2>/dev/null
  cp /tmp/ab/mlp-fused-$fused/report.json $OUT/report-mlp-fused-$fused.json 2>/dev/null
done
