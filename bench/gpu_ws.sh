#!/usr/bin/env bash
# One device call for the ReLU² backward: the warp-specialized kernel's knobs (bench/relu2_gluon_ws.py),
# same-process ratios in RATIO_RUNS processes (bench/relu2_bwd_ratio.py), host launch costs
# (bench/host_overhead.py, HOST=1), then the 05_kernels notebook, every cell (unless SKIP_NB). Logs into $OUT.
. bench/gpu_setup.sh
OUT=${OUT:-/tmp}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv | tee $OUT/gpu.txt
timeout 200 python3 bench/relu2_gluon_ws.py ${WS_ARGS:-} > $OUT/relu2_gluon_ws.log 2>&1; echo "ws rc $?" >> $OUT/relu2_gluon_ws.log
tail -20 $OUT/relu2_gluon_ws.log
for i in $(seq ${RATIO_RUNS:-1}); do
  timeout 120 python3 bench/relu2_bwd_ratio.py >> $OUT/relu2_bwd_ratio.log 2>&1; tail -3 $OUT/relu2_bwd_ratio.log
done
if [ -n "$HOST" ]; then
  timeout 150 python3 bench/host_overhead.py > $OUT/host_overhead.log 2>&1; grep "^|" $OUT/host_overhead.log
fi
if [ -z "$SKIP_NB" ]; then
  timeout 260 python3 bench/execute_nb.py nbs/05_kernels.ipynb $OUT/05_kernels.ipynb > $OUT/05_kernels_exec.log 2>&1
  echo "notebook rc $?"; grep -v "^\s*File\|^\s*\^\|KeyError\|Exception ignored\|Traceback\|self\.\|del self\|hook()\|~~~" $OUT/05_kernels_exec.log | tail -8
fi
