#!/usr/bin/env bash
# Run every notebook's tests including the `#| gpu` cells on a CUDA machine; log to $OUT/gpu_tests.log.
. bench/gpu_setup.sh
OUT=${OUT:-/tmp}
python3 -c "from nbdev.test import nbdev_test; nbdev_test(path='${1:-nbs}', flags='gpu', n_workers=1, do_print=True, timing=True)" 2>&1 | tee $OUT/gpu_tests.log
