"""Tests of .ci/check_outputs.py on small notebooks: true outputs pass, every kind of stale output fails.

    python .ci/test_check_outputs.py       (about 15 s; CI runs it before the notebooks)"""
import copy, json, subprocess, sys, tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from check_outputs import visibly_prints, output_varies, mask_numbers, directives

# the static parts
assert directives("#| slow\n#| eval: false\nx = 1") == {"slow": "", "eval:": "false"}
assert output_varies("#| slow\n# output varies: timings\nprint(t)") and not output_varies("print(t)  # output varies: x")
assert mask_numbers("took  12.5 ms for 1,024 tokens") == mask_numbers("took 3.25 ms for 2,048 tokens")
assert visibly_prints("print(1)") and visibly_prints("plt.plot(x)") and visibly_prints("x")
assert not visibly_prints("x = f(1)") and not visibly_prints("x;") and not visibly_prints("assert x == 1")

good = json.loads((HERE / "fixtures/good.ipynb").read_text())
def cell(nb, cid): return next(c for c in nb["cells"] if c["id"] == cid)

with tempfile.TemporaryDirectory() as tmp:
    tmp = Path(tmp)
    many = copy.deepcopy(good)                                  # one defect per cell
    cell(many, "fixture-002")["outputs"] = []                   # prints, nothing stored
    cell(many, "fixture-009")["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["5\n"]}]
    cell(many, "fixture-006")["outputs"][0]["data"].pop("image/png")   # the plot lost its image
    cell(many, "fixture-005")["outputs"][0]["text"] = ["lasted 0.335 ms\n"]   # words changed, not numbers
    cell(many, "fixture-007")["outputs"] = []                   # a slow cell that prints, nothing stored
    cell(many, "fixture-003")["outputs"][0]["data"]["text/plain"] = ["7"]
    (tmp / "many.ipynb").write_text(json.dumps(many))
    raises = copy.deepcopy(good)
    raises["cells"].insert(3, {"cell_type": "code", "id": "fixture-boom", "metadata": {}, "execution_count": None,
                               "outputs": [], "source": ["1 / 0"]})
    (tmp / "raises.ipynb").write_text(json.dumps(raises))
    nbs = [HERE / "fixtures/good.ipynb", HERE / "fixtures/stale.ipynb", tmp / "many.ipynb", tmp / "raises.ipynb"]
    run = subprocess.run([sys.executable, str(HERE / "check_outputs.py"), *map(str, nbs)], capture_output=True, text=True)
    out = run.stdout
    print(out)

expected = {
    "stale.ipynb: cell fixture-001 (code cell 1): stored stdout differs from a fresh run, line 1: "
    "stored 'the schedule runs 60 steps', fresh 'the schedule runs 40 steps'",
    "many.ipynb: cell fixture-002 (code cell 2): prints or plots but has no stored output",
    "many.ipynb: cell fixture-009 (code cell 9): has a stored output that a fresh run does not produce",
    "many.ipynb: cell fixture-006 (code cell 6): stored output has 0 image(s), a fresh run draws 1",
    "many.ipynb: cell fixture-005 (code cell 5): stored stdout differs from a fresh run, line 1: "
    "stored 'lasted # ms', fresh 'took # ms' (output varies: numbers masked)",
    "many.ipynb: cell fixture-007 (code cell 7): a #| slow cell that prints or plots has no stored output",
    "many.ipynb: cell fixture-003 (code cell 3): shown value differs from a fresh run, line 1: stored '7', fresh '6'",
    "raises.ipynb: cell fixture-boom (code cell 3) raised ZeroDivisionError: division by zero",
}
found = [l for l in out.splitlines() if l.startswith("/") or l.startswith(".")]
for e in expected:
    assert any(l.endswith(e) or e in l for l in found), f"missing finding: {e}"
assert not any("good.ipynb:" in l for l in found), "good.ipynb must pass"
assert sum("many.ipynb:" in l for l in found) == 6, "exactly the six defects of many.ipynb"
assert run.returncode == 1 and out.rstrip().endswith("notebooks: 1 passed, 3 failed"), out[-300:]
print("checker: 12 passed, 0 failed")
