#!/usr/bin/env bash
# Wait (at most $1 seconds, default 500) for the background speedrun to finish; copy its logs into $OUT.
limit=${1:-500}; t=0
while [ $t -lt $limit ]; do
  if ! pgrep -f "speedgpt.train" >/dev/null; then echo "finished"; break; fi
  sleep 10; t=$((t+10))
done
tail -5 ${RUN_DIR:-/tmp/speedgpt-run}/stdout.log
cp ${RUN_DIR:-/tmp/speedgpt-run}/stdout.log $OUT/ 2>/dev/null
for d in ${RUN_DIR:-/tmp/speedgpt-run}/*/; do n=$(basename $d); for f in metrics.jsonl report.json loss.png log.txt; do cp $d/$f $OUT/$n-$f 2>/dev/null; done; done
nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv
