"""Execute a notebook's CPU cells in place, keeping the outputs of its `#| gpu` cells (copied in from a GPU run
with `bench/merge_gpu_outputs.py`); `nbdev_clean` it afterwards.

    python bench/execute_cpu_nb.py nbs/05_kernels.ipynb"""
import os, sys, time
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell

path = Path(sys.argv[1]).resolve()
nb = read_nb(path)
os.chdir(path.parent)                                  # as Jupyter does
shell = CaptureShell(path.parent)
for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
    if cell.source.lstrip().startswith("#| gpu"): continue
    t0 = time.time()
    shell.cell(cell)
    cell["execution_count"] = i + 1
    print(f"{time.time() - t0:7.1f} s  {cell.get('id')}  {cell.source.splitlines()[0][:60] if cell.source else ''}", flush=True)
    if shell.exc: print("FAILED:", repr(shell.exc)[:2000]); sys.exit(1)
write_nb(nb, path)
print("all CPU cells ran")
