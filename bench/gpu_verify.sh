#!/usr/bin/env bash
# The study (bench/gpu_study.sh) and then the GPU check of every notebook (bench/gpu_session.sh, no A/B) in
# one device call. Limits keep the whole under the tool's 600 s.
SWEEP=${SWEEP:---bwd2} timeout 230 bash bench/gpu_study.sh
AB=0 NB_LIMIT=${NB_LIMIT:-200} TEST_LIMIT=${TEST_LIMIT:-160} bash bench/gpu_session.sh
