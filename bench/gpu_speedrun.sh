#!/usr/bin/env bash
# Start the compiled speedrun preset on the carried text corpus (.carry/data, made with
#   python -m speedgpt.data prepare shakespeare.jsonl.gz python-docs.jsonl.gz --out .carry/data --name text --max_doc_tokens 2048)
# in the background (it outlives the device call), then poll with bench/gpu_poll.sh.
# The schedule is shortened (default 60+6 steps) so all three batch-size phases run; the shapes are the speedrun's.
. bench/gpu_setup.sh
mkdir -p /tmp/speedgpt-run
setsid nohup python3 -m speedgpt.train --preset speedrun --corpus .carry/data \
  --num_scheduled_steps ${STEPS:-60} --num_extension_steps ${EXT:-6} --epochs 20 \
  --val_tokens 262144 --val_batch_tokens 262144 --val_every ${VAL_EVERY:-20} --log_every 5 \
  --out_dir /tmp/speedgpt-run --run_id gpu-speedrun --save_checkpoint false "$@" \
  > /tmp/speedgpt-run/stdout.log 2>&1 < /dev/null &
echo "started pid $!"
