#!/usr/bin/env bash
# Track 2 side by side on one GPU: `--preset medium` and modded-nanogpt's train_gpt_medium.py on the same shards.
#   REF=path/to/train_gpt_medium.py   (modded-nanogpt at commit 5d2365f9)
#   CORPUS=folder holding fineweb_train_*.bin and fineweb_val_*.bin (e.g. python -m speedgpt.data fineweb --out ...)
#   STEPS=300 VAL=524288 CORPUS=... REF=... bash bench/gpu_medium_vs_reference.sh
# The reference is patched only to run without FlashAttention-3 (torch's varlen_attn, the call speedgpt's varlen
# backend makes), to read VAL tokens of validation, and to stop after STEPS steps (bench/patch_medium_reference.py).
set -e
CORPUS=${CORPUS:?set CORPUS}; REF=${REF:?set REF}; STEPS=${STEPS:-300}; VAL=${VAL:-524288}
OUT=${RUN_DIR:-runs/medium-vs-reference}; mkdir -p "$OUT/ref/data"
ln -sfn "$(realpath "$CORPUS")" "$OUT/ref/data/fineweb10B"
python bench/patch_medium_reference.py "$REF" "$OUT/ref/train_gpt_medium_patched.py"
python -m speedgpt.train --preset medium --corpus "$CORPUS" --max_steps "$STEPS" --val_every 50 \
  --val_tokens "$VAL" --val_batch_tokens "$VAL" --save_checkpoint false --sample_tokens 0 --warmup false \
  --out_dir "$OUT" --run_id speedgpt 2>&1 | tee "$OUT/speedgpt_medium.log"
(cd "$OUT/ref" && DATA_PATH=. VAL_TOKENS="$VAL" VAL_EVERY=50 STOP_STEPS="$STEPS" \
  torchrun --standalone --nproc_per_node=1 train_gpt_medium_patched.py 2>&1 | tee ../train_gpt_medium.log)
