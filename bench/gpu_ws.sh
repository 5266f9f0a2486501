#!/usr/bin/env bash
# One device call: the warp-specialized ReLU² backward study (bench/relu2_gluon_ws.py), a same-process ratio
# run of the package kernels (bench/relu2_bwd_ratio.py), then the 05_kernels notebook, every cell. Logs into $OUT.
. bench/gpu_setup.sh
OUT=${OUT:-/tmp}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv | tee $OUT/gpu.txt
timeout 200 python3 bench/relu2_gluon_ws.py ${WS_ARGS:-} > $OUT/relu2_gluon_ws.log 2>&1; echo "ws rc $?" >> $OUT/relu2_gluon_ws.log
tail -20 $OUT/relu2_gluon_ws.log
timeout 120 python3 bench/relu2_bwd_ratio.py > $OUT/relu2_bwd_ratio.log 2>&1; tail -10 $OUT/relu2_bwd_ratio.log
if [ -z "$SKIP_NB" ]; then
  timeout 260 python3 bench/execute_nb.py nbs/05_kernels.ipynb $OUT/05_kernels.ipynb > $OUT/05_kernels_exec.log 2>&1
  echo "notebook rc $?"; tail -15 $OUT/05_kernels_exec.log
fi
