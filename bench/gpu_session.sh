#!/usr/bin/env bash
# One device call that refreshes every GPU result: execute 05_kernels with all its cells (gpu tests and the
# benchmark table) into $OUT, run the other notebooks' `#| gpu` tests, then start the in-step MLP A/B in the
# background (poll it with `bash bench/gpu_poll.sh 550`). Benchmarks run first, on an otherwise idle GPU.
. bench/gpu_setup.sh
OUT=${OUT:-/tmp}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv | tee $OUT/gpu.txt
timeout ${NB_LIMIT:-260} python3 bench/execute_nb.py nbs/05_kernels.ipynb $OUT/05_kernels.ipynb 2>&1 | tee $OUT/05_exec.log
timeout ${TEST_LIMIT:-280} python3 -c "from nbdev.test import nbdev_test; nbdev_test(path='nbs', flags='gpu', n_workers=1, do_print=True, timing=True, skip_file_re='^(05_kernels|[_.])')" > $OUT/gpu_tests.log 2>&1
grep -v "^\s*$" $OUT/gpu_tests.log | tail -20
[ "${AB:-1}" = 1 ] && bash bench/gpu_mlp_ab.sh
