#!/usr/bin/env bash
# A/B in the whole compiled speedrun step: the fused ReLU² MLP kernel against torch's compiled MLP
# (model.fused_mlp), same data, schedule shortened to 45 + 3 steps. Each side compiles from cold caches
# (4-5 minutes on an H200). CORPUS is a folder of shards (see bench/gpu_speedrun.sh for how to make one).
#   CORPUS=data/text bash bench/gpu_mlp_ab.sh
set -e
CORPUS=${CORPUS:?set CORPUS to a folder of shards}
RUN_DIR=${RUN_DIR:-runs/mlp-ab}
mkdir -p "$RUN_DIR"
for fused in ${SIDES:-true false}; do
  python -m speedgpt.train --preset speedrun --corpus "$CORPUS" \
    --num_scheduled_steps 45 --num_extension_steps 3 --epochs 20 --val_tokens 65536 --val_batch_tokens 65536 \
    --val_every 0 --log_every 5 --out_dir "$RUN_DIR" --run_id mlp-fused-$fused --save_checkpoint false \
    --sample_tokens 0 --fused_mlp $fused 2>&1 | tee -a "$RUN_DIR/stdout.log"
done
