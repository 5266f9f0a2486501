#!/usr/bin/env bash
# A shortened compiled run of the speedrun preset on one GPU: the speedrun's shapes, a schedule cut to
# STEPS + EXT steps (default 60 + 6) so that all three batch-size phases run. CORPUS is a folder of shards:
#   python -m speedgpt.data fineweb --shards 8 --out data/fineweb10B        (FineWeb, as the record)
#   python -m speedgpt.data prepare my_texts/ --out data/text --max_doc_tokens 2048   (any text of your own)
#   CORPUS=data/text bash bench/gpu_speedrun.sh [more --flags for speedgpt.train]
set -e
CORPUS=${CORPUS:?set CORPUS to a folder of shards (see the comment above)}
RUN_DIR=${RUN_DIR:-runs/gpu-speedrun}
mkdir -p "$RUN_DIR"
python -m speedgpt.train --preset speedrun --corpus "$CORPUS" \
  --num_scheduled_steps ${STEPS:-60} --num_extension_steps ${EXT:-6} --epochs 20 \
  --val_tokens 262144 --val_batch_tokens 262144 --val_every ${VAL_EVERY:-20} --log_every 5 \
  --out_dir "$RUN_DIR" --run_id gpu-speedrun --save_checkpoint false "$@" 2>&1 | tee "$RUN_DIR/stdout.log"
