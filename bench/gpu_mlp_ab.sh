#!/usr/bin/env bash
# A/B in the whole compiled speedrun step: the fused ReLU² MLP kernel against torch's compiled MLP
# (model.fused_mlp). Same data, schedule shortened to 45+3 steps. Each side compiles from cold caches
# (4-5 min on a fresh machine: a first try with 280 s per side ran out), so this runs in the
# background: start it, then poll with `bash bench/gpu_poll.sh 550` (also in a second call);
# metrics and reports land in /tmp/ab and are copied to $OUT by the poll.
. bench/gpu_setup.sh
mkdir -p /tmp/speedgpt-run
setsid nohup bash -c '
for fused in true false; do
  python3 -m speedgpt.train --preset speedrun --corpus .carry/data \
    --num_scheduled_steps 45 --num_extension_steps 3 --epochs 20 --val_tokens 65536 --val_batch_tokens 65536 \
    --val_every 0 --log_every 5 --out_dir /tmp/speedgpt-run --run_id mlp-fused-$fused --save_checkpoint false \
    --sample_tokens 0 --fused_mlp $fused
done' > /tmp/speedgpt-run/stdout.log 2>&1 < /dev/null &
echo "started pid $!"
