"""Time speedgpt's kernels on your own GPU (CUDA and Triton needed).

    python bench/kernels.py                  # every kernel against its torch reference, speedrun shapes
    python bench/kernels.py --study 3        # also the ReLU² backward ratio study, in 3 fresh processes

The table is `speedgpt.kernels.benchmark_kernels()` (05_kernels). The study times the ReLU² backward
kernels against their compiled reference in one process (`bench/relu2_bwd_ratio.py`); the reference's
time moves between processes more than the kernels' do, so compare ratios, each from one process.
"""
import argparse, subprocess, sys
from pathlib import Path

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", type=int, default=0, metavar="PROCESSES",
                        help="run the ReLU² backward ratio study in this many fresh processes (default 0: skip)")
    parser.add_argument("--no-table", action="store_true", help="skip the kernel table")
    args = parser.parse_args()
    if not args.no_table:
        from speedgpt.kernels import benchmark_kernels
        benchmark_kernels()
    study = Path(__file__).with_name("relu2_bwd_ratio.py")
    for i in range(args.study):
        print(f"\nratio study, process {i + 1} of {args.study}", flush=True)
        subprocess.run([sys.executable, str(study)], check=True)

if __name__ == "__main__":
    main()
