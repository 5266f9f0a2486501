#!/usr/bin/env bash
# Prepare a bare device machine (torch preinstalled, no internet) to run speedgpt: nbdev from carried wheels,
# the package from the working tree. Source it: `. bench/gpu_setup.sh`.
python3 -m pip install -q --no-index --find-links .carry/wheels "nbdev==2.4.14" fastcore execnb ghapi >/dev/null 2>&1 \
  || echo "warning: nbdev wheels did not install (tests need them, training does not)"
export PYTHONPATH=$PWD:${PYTHONPATH:-}
export PYTHONUNBUFFERED=1
export TORCHINDUCTOR_CACHE_DIR=${TORCHINDUCTOR_CACHE_DIR:-/tmp/speedgpt-inductor}
export TRITON_CACHE_DIR=${TRITON_CACHE_DIR:-/tmp/speedgpt-triton}
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__, torch.cuda.get_device_name())"
