"""Execute one notebook on the GPU machine, every cell (gpu and slow ones too), and write it with outputs.

    python3 bench/gpu_execute_nb.py nbs/05_kernels.ipynb $OUT/05_kernels.ipynb

Back on the CPU machine, `python bench/merge_gpu_outputs.py` copies the outputs of the `#| gpu` cells into the
committed notebook (the CPU cells are executed there)."""
import os, sys, time
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell

src, dest = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
nb = read_nb(src)
os.chdir(src.parent)                                   # as Jupyter does
shell = CaptureShell(src.parent)
for cell in nb.cells:
    if cell.cell_type != "code": continue
    t0 = time.time()
    shell.cell(cell)
    first = cell.source.splitlines()[:2]
    print(f"{time.time() - t0:7.1f} s  {cell.get('id')}  {' | '.join(first)[:70]}", flush=True)
    if shell.exc:
        print("FAILED:", repr(shell.exc)[:2000]); write_nb(nb, dest); sys.exit(1)
write_nb(nb, dest)
print("all cells ran")
