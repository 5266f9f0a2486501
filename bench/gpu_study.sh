#!/usr/bin/env bash
# One device call for the ReLU² study: host launch cost layer by layer (bench/host_overhead.py), then the
# kernel variant sweeps (bench/mlp_variants.py --bwd / --bwd2, chosen by SWEEP). Logs into $OUT.
. bench/gpu_setup.sh
OUT=${OUT:-/tmp}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv | tee $OUT/gpu.txt
timeout 200 python3 bench/host_overhead.py 2>&1 | tee $OUT/host_overhead.log | grep "^|"
timeout 300 python3 bench/mlp_variants.py ${SWEEP:---bwd} 2>&1 | tee $OUT/sweep.log | grep "^|\|cuBLAS\|##"
