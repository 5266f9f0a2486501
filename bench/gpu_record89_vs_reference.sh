#!/usr/bin/env bash
# Record #89 side by side on one GPU: `--preset record89`, `--preset speedrun` (record #64) and modded-nanogpt's own
# train_gpt.py at record #89, on the same shards for the same number of steps, one after the other.
#   REF=folder holding train_gpt.py, triton_kernels.py and dc_triton_kernels.py of modded-nanogpt at record #89
#   CORPUS=folder holding *_train_*.bin (at least two shards: #89's loader opens the second one at the start)
#          and *_val_*.bin (e.g. python -m speedgpt.data prepare ... --out data/text)
#   STEPS=300 VAL=524288 CORPUS=... REF=... bash bench/gpu_record89_vs_reference.sh
# The reference is patched only to run on one GPU without downloads (torch's varlen_attn where it calls
# FlashAttention-3 from the kernels hub, speedgpt's offline GPT-2 BPE for its prefix table), to read the shards of
# CORPUS, to validate on VAL tokens every 50 steps and to stop after STEPS steps (bench/patch_record89_reference.py).
# VAL must be a multiple of 128 and at least 393,216 (the reference sizes RoPE from its validation batch). The
# reference's loader has a fixed number of document slots per micro-batch (64 in 16,384 tokens): documents must
# average at least ~256 tokens, as FineWeb's do.
# WARMUP=true also runs speedgpt's untimed compile warm-up (the reference always runs its own).
set -e
CORPUS=${CORPUS:?set CORPUS}; REF=${REF:?set REF}; STEPS=${STEPS:-300}; VAL=${VAL:-524288}; WARMUP=${WARMUP:-false}
OUT=${RUN_DIR:-runs/record89-vs-reference}; mkdir -p "$OUT/ref"
CORPUS=$(realpath "$CORPUS")
shards=$(ls "$CORPUS"/*_train_*.bin 2>/dev/null | wc -l)
[ "$shards" -ge 2 ] || { echo "error: $CORPUS holds $shards *_train_*.bin shard(s); #89's loader needs at least 2" >&2; exit 2; }
for f in train_gpt.py triton_kernels.py dc_triton_kernels.py; do
  [ -f "$REF/$f" ] || { echo "error: $REF/$f is missing (modded-nanogpt at record #89)" >&2; exit 2; }
done
python bench/patch_record89_reference.py "$REF/train_gpt.py" "$OUT/ref/train_gpt.py"
cp "$REF/triton_kernels.py" "$REF/dc_triton_kernels.py" "$OUT/ref/"
python -m py_compile "$OUT/ref/train_gpt.py"
COMMON=(--corpus "$CORPUS" --max_steps "$STEPS" --val_every 50 --val_tokens "$VAL" --val_batch_tokens "$VAL"
        --save_checkpoint false --sample_tokens 0 --warmup "$WARMUP" --out_dir "$OUT")
for name in record89 speedrun; do
  python -m speedgpt.train --preset "$name" "${COMMON[@]}" --run_id "$name" 2>&1 | tee "$OUT/speedgpt_$name.log"
done
(cd "$OUT/ref" && PYTHONPATH="$(realpath "$OLDPWD")${PYTHONPATH:+:$PYTHONPATH}" \
  TRAIN_FILES="$CORPUS/*_train_*.bin" VAL_FILES="$CORPUS/*_val_*.bin" VAL_TOKENS="$VAL" VAL_EVERY=50 STOP_STEPS="$STEPS" \
  torchrun --standalone --nproc_per_node=1 train_gpt.py 2>&1 | tee ../reference_record89.log)
python - "$OUT" <<'EOF'
import json, re, sys
from pathlib import Path
out = Path(sys.argv[1])
def ours(run):
    rows = [json.loads(l) for l in (out / run / "metrics.jsonl").read_text().splitlines() if l.strip()]
    return {r["step"]: r["val_loss"] for r in rows if r["kind"] == "val"}
ref = {int(m[1]): float(m[2]) for m in re.finditer(r"step:(\d+)/\d+ val_loss:([\d.]+)", (out / "reference_record89.log").read_text())}
a, b = ours("record89"), ours("speedrun")
print(f"{'step':>5} {'record89':>9} {'speedrun':>9} {'#89 reference':>14} {'record89 - ref':>15}")
for step in sorted(set(a) | set(b) | set(ref)):
    get = lambda d: f"{d[step]:.4f}" if step in d else "-"
    diff = f"{a[step] - ref[step]:+.4f}" if step in a and step in ref else "-"
    print(f"{step:>5} {get(a):>9} {get(b):>9} {get(ref):>14} {diff:>15}")
EOF
