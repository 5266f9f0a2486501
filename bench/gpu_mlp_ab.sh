#!/usr/bin/env bash
# A/B in the whole compiled speedrun step: the fused ReLU² MLP kernel against torch's compiled MLP
# (model.fused_mlp). Same data, schedule shortened to 45+3 steps. Each side compiles from cold caches
# (4-5 min on a fresh machine: a first try with 280 s per side ran out), so this runs in the
# background: start it, then poll with `bash bench/gpu_poll.sh 550` (also in a second call);
# metrics and reports land in $RUN_DIR (default /tmp/speedgpt-run) and are copied to $OUT by the poll.
# SIDES picks the --fused_mlp values to run (default "true false"); RUN_DIR=$OUT/... keeps logs of a cut-off run.
. bench/gpu_setup.sh
RUN_DIR=${RUN_DIR:-/tmp/speedgpt-run}
mkdir -p $RUN_DIR
setsid nohup env RUN_DIR=$RUN_DIR SIDES="${SIDES:-true false}" bash -c '
for fused in $SIDES; do
  python3 -m speedgpt.train --preset speedrun --corpus .carry/data \
    --num_scheduled_steps 45 --num_extension_steps 3 --epochs 20 --val_tokens 65536 --val_batch_tokens 65536 \
    --val_every 0 --log_every 5 --out_dir $RUN_DIR --run_id mlp-fused-$fused --save_checkpoint false \
    --sample_tokens 0 --fused_mlp $fused
done' > $RUN_DIR/stdout.log 2>&1 < /dev/null &
echo "started pid $!"
