"""Copy the outputs of `#| gpu` cells from a notebook executed on a CUDA machine into the committed one, by cell id.

    python bench/merge_gpu_outputs.py EXECUTED.ipynb nbs/05_kernels.ipynb

Then `python bench/execute_nb.py nbs/05_kernels.ipynb --skip-gpu` runs the CPU cells around them."""
import sys, nbformat

done, target = (nbformat.read(p, as_version=4) for p in sys.argv[1:3])
by_id = {c.get("id"): c for c in done.cells}
n = 0
for c in target.cells:
    if c.cell_type == "code" and c.source.lstrip().startswith("#| gpu") and c.get("id") in by_id:
        ran = by_id[c.id]
        if ran.source != c.source: raise SystemExit(f"cell {c.id} differs from the executed one: execute again")
        c.outputs = ran.get("outputs", []); n += 1
nbformat.write(target, sys.argv[2])
print(f"copied the outputs of {n} gpu cells")
