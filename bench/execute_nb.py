"""Execute a notebook's code cells with execnb and write it back with their outputs.

On a CUDA machine, every cell (gpu and slow ones too), into a new file:
    python3 bench/execute_nb.py nbs/05_kernels.ipynb 05_kernels_gpu.ipynb
Then copy the `#| gpu` cells' outputs into the committed notebook (`bench/merge_gpu_outputs.py`), run the
other cells in place, keeping those outputs, and `nbdev_clean`:
    python bench/execute_nb.py nbs/05_kernels.ipynb --skip-gpu"""
import os, sys, time
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell

args = [a for a in sys.argv[1:] if a != "--skip-gpu"]
skip_gpu = len(args) < len(sys.argv) - 1
src = Path(args[0]).resolve()
dest = Path(args[1]).resolve() if len(args) > 1 else src
nb = read_nb(src)
os.chdir(src.parent)                                   # as Jupyter does
shell = CaptureShell(src.parent)
for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
    if skip_gpu and cell.source.lstrip().startswith("#| gpu"): continue
    t0 = time.time()
    cell.outputs = []                                  # execnb keeps a cell's old outputs when it prints nothing
    source = cell.source
    if source.rstrip().endswith(";"):                  # execnb then drops the cell's printed text, Jupyter only
        cell.source = source + "\npass"                # hides the value: keep the text, the value stays hidden
    shell.cell(cell)
    cell.source = source
    cell["execution_count"] = i + 1
    first = cell.source.splitlines()[:2]
    print(f"{time.time() - t0:7.1f} s  {cell.get('id')}  {' | '.join(first)[:70]}", flush=True)
    if shell.exc:
        print("FAILED:", repr(shell.exc)[:2000]); write_nb(nb, dest); sys.exit(1)
write_nb(nb, dest)
print("all cells ran" + (" (gpu cells skipped)" if skip_gpu else ""))
