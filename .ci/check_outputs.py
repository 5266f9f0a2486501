"""Run every notebook's CPU cells once (as `nbdev_test` does) and check that the stored outputs are true.

    python .ci/check_outputs.py                      # every notebook in nbs/, 2 at a time
    python .ci/check_outputs.py nbs/07_schedule.ipynb --n_workers 1
    python .ci/check_outputs.py old.ipynb --workdir nbs   # a notebook kept elsewhere, run from nbs/

Each notebook runs in a fresh Python process (like `bench/execute_nb.py`, which writes the stored
outputs), from its own folder, skipping the cells flagged `#| gpu` or `#| slow` and the
`nbdev_export()` cell; an exception fails the notebook, as in `nbdev_test`. Then, cell by cell:

- a cell that printed, plotted or showed a value in the fresh run must have a stored output, and a cell
  with a stored output must still produce one (otherwise the stored one is stale);
- the stored text must equal the fresh text (stdout, stderr and each displayed value's text; for plots
  the kinds of image, not their bytes);
- a cell whose output legitimately changes from run to run starts, after its `#|` lines, with
  `# output varies: <reason>`: for it, numbers are masked (and runs of spaces collapsed) before comparing;
- a `#| slow` cell is not run: if it visibly prints or plots (`print(`, `display(`, `plt.`, `.plot(`, a bare
  expression last) it must have a stored output;
- `#| gpu` cells are not checked: their outputs come from a recorded GPU run.

Absolute paths of this checkout and of the Python installation, and memory addresses, are masked everywhere.
Prints nbdev-like lines and closes with `notebooks: N passed, N failed`; exit status 1 if any failed.
"""
import argparse, ast, json, os, re, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from threading import Lock
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRINT_LOCK = Lock()                               # two notebooks at once: whole lines only
SKIP_FLAGS = {"gpu", "slow"}                      # settings.ini tst_flags: what nbdev_test skips too
VARIES = re.compile(r"#\s*output varies\s*:\s*\S")

# ---------------------------------------------------------------- reading cells

def directives(source: str) -> dict:
    "The cell's leading `#| name args` lines as {name: args} (nbdev's syntax, also `# |`)."
    found = {}
    for line in source.splitlines():
        m = re.match(r"\s*#\s?\|\s*([\w-]+:?)\s*(.*)", line)
        if m: found[m.group(1)] = m.group(2).strip(); continue
        if line.strip(): break
    return found

def body_lines(source: str) -> list:
    "The cell's lines after its directive lines."
    lines = source.splitlines()
    i = 0
    while i < len(lines) and (not lines[i].strip() or re.match(r"\s*#\s?\|", lines[i])): i += 1
    return lines[i:]

def output_varies(source: str) -> bool:
    "True if the first line after the directives is `# output varies: <reason>`."
    body = body_lines(source)
    return bool(body) and bool(VARIES.match(body[0].strip()))

def skipped_by_nbdev(cell_source: str) -> bool:
    "The cells `nbdev_test` does not run: flagged gpu/slow, `#| eval: false`, the `nbdev_export()` cell."
    d = directives(cell_source)
    if "nbdev_export" + "(" in cell_source: return True
    if d.get("eval:", "").lower() == "false": return True
    return bool(SKIP_FLAGS & {k.rstrip(":") for k in d})

PRINT_CALLS = {"print", "display", "show_doc", "pprint"}
PLOT_ATTRS = {"plot", "imshow", "hist", "bar", "scatter", "show", "subplots", "figure", "matshow"}

def visibly_prints(source: str) -> bool:
    "A static guess, for cells that are not run: does the cell print, plot or end on a shown value?"
    code = "\n".join(l for l in source.splitlines() if not l.lstrip().startswith(("%", "!")))
    try: tree = ast.parse(code)
    except SyntaxError: return True
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id in PRINT_CALLS: return True
            if isinstance(f, ast.Attribute) and (f.attr in PLOT_ATTRS or
                                                 (isinstance(f.value, ast.Name) and f.value.id == "plt")): return True
    last = tree.body[-1] if tree.body else None
    return (isinstance(last, ast.Expr) and not isinstance(last.value, (ast.Call, ast.Constant, ast.Await))
            and not code.rstrip().endswith(";"))

# ---------------------------------------------------------------- comparing outputs

def _text(x) -> str: return "".join(x) if isinstance(x, list) else (x or "")

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
def mask_environment(text: str, workdir: Path) -> str:
    "Mask what differs between machines: this checkout's path, the Python install, memory addresses."
    text = ANSI.sub("", text)
    places = {str(ROOT): "<repo>", str(ROOT.resolve()): "<repo>"}
    if not workdir.resolve().is_relative_to(ROOT.resolve()): places.update({str(workdir): "<workdir>", str(workdir.resolve()): "<workdir>"})
    for p in sorted(places, key=len, reverse=True): text = text.replace(p, places[p])
    text = re.sub(r"/tmp/tmp[\w-]{6,}", "/tmp/tmp…", text)
    text = re.sub(r"(?:/[^\s'\"():]+)*/(?:site|dist)-packages/", "<python>/", text)
    text = re.sub(r"(?:/[^\s'\"():]+)*/lib/python3\.\d+/", "<python>/", text)
    text = re.sub(r"\bat 0x[0-9a-fA-F]+", "at 0x…", text)
    return text

NUMBER = re.compile(r"[-+]?(?:\d[\d,_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
def mask_numbers(text: str) -> str:
    "For `# output varies` cells: every number becomes `#`, runs of spaces one space (aligned columns move)."
    return re.sub(r"[ \t]+", " ", NUMBER.sub("#", text))

def summarize(outputs: list, workdir: Path, varies: bool) -> dict:
    "What a reader sees of a cell's outputs: its stdout, its stderr, and each shown value (kind and text)."
    stdout, stderr, shown, errors = [], [], [], []
    for o in outputs:
        kind = o.get("output_type")
        if kind == "stream": (stdout if o.get("name") == "stdout" else stderr).append(_text(o.get("text")))
        elif kind == "error": errors.append(f"{o.get('ename')}: {o.get('evalue')}")
        elif kind in ("display_data", "execute_result"):
            data = o.get("data", {})
            images = sorted(k for k in data if k.startswith("image/"))
            texts = [k for k in ("text/markdown", "text/html", "text/latex", "text/plain") if k in data]
            shown.append({"images": images, "text": _text(data[texts[0]]) if texts else ""})
    norm = lambda s: mask_numbers(mask_environment(s, workdir)) if varies else mask_environment(s, workdir)
    return {"stdout": norm("".join(stdout)), "stderr": norm("".join(stderr)),
            "shown": [{"images": s["images"], "text": norm(s["text"])} for s in shown], "errors": errors}

def is_empty(summary: dict) -> bool:
    return not (summary["stdout"] or summary["stderr"] or summary["shown"] or summary["errors"])

def _first_difference(a: str, b: str) -> str:
    al, bl = a.splitlines(), b.splitlines()
    for i in range(max(len(al), len(bl))):
        x = al[i] if i < len(al) else "<no line>"
        y = bl[i] if i < len(bl) else "<no line>"
        if x != y: return f"line {i + 1}: stored {x.strip()[:90]!r}, fresh {y.strip()[:90]!r}"
    return "whitespace at the end"

def compare(stored: dict, fresh: dict) -> str | None:
    "None if a reader would see the same; otherwise one line saying where the stored output is stale."
    if is_empty(fresh) and is_empty(stored): return None
    if is_empty(stored): return "prints or plots but has no stored output"
    if is_empty(fresh): return "has a stored output that a fresh run does not produce"
    if stored["errors"]: return f"its stored output is an error ({stored['errors'][0][:100]})"
    for stream in ("stdout", "stderr"):
        if stored[stream] != fresh[stream]:
            if not stored[stream]: return f"a fresh run prints to {stream}, the stored output has no {stream}"
            if not fresh[stream]: return f"stored {stream} that a fresh run does not print"
            return f"stored {stream} differs from a fresh run, {_first_difference(stored[stream], fresh[stream])}"
    s_img = [x["images"] for x in stored["shown"]]; f_img = [x["images"] for x in fresh["shown"]]
    if s_img != f_img:
        ns, nf = sum(map(bool, s_img)), sum(map(bool, f_img))
        if ns != nf: return f"stored output has {ns} image(s), a fresh run draws {nf}"
        return f"shown values differ: stored {s_img}, fresh {f_img}"
    for a, b in zip(stored["shown"], fresh["shown"]):
        if a["text"] != b["text"]: return f"shown value differs from a fresh run, {_first_difference(a['text'], b['text'])}"
    return None

# ---------------------------------------------------------------- running one notebook (in its own process)

def run_notebook(path: Path, workdir: Path) -> dict:
    "Execute the notebook's CPU cells in order; return the cells' findings, or the failure."
    from execnb.nbio import read_nb
    from execnb.shell import CaptureShell
    nb = read_nb(path)
    os.chdir(workdir)
    sys.path.insert(0, str(ROOT))
    shell = CaptureShell(workdir)
    findings, ran, compared = [], 0, 0
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for n, cell in enumerate(code_cells, 1):
        where = f"cell {cell.get('id', '?')} (code cell {n})"
        source = cell.source
        varies = output_varies(source)
        stored = summarize(cell.get("outputs", []), workdir, varies)
        flags = {k.rstrip(":") for k in directives(source)}
        if "gpu" in flags: continue
        if skipped_by_nbdev(source):
            if "slow" in flags and visibly_prints(source) and is_empty(stored):
                findings.append(f"{where}: a #| slow cell that prints or plots has no stored output "
                                "(run it with bench/execute_nb.py)")
            continue
        # As bench/execute_nb.py: execnb drops the printed text of a cell ending in `;`, Jupyter only hides the value.
        run_source = source + "\npass" if source.rstrip().endswith(";") else source
        shell._cell_idx = n                                      # for execnb's traceback header
        outputs = shell.run(run_source)
        ran += 1
        if shell.exc:
            return {"ok": False, "ran": ran, "compared": compared, "findings": findings,
                    "error": f"{where} raised {type(shell.exc).__name__}: {shell.exc}",
                    "traceback": shell.prettytb(fname=path)}
        fresh = summarize([dict(o) for o in outputs], workdir, varies)
        compared += 1
        problem = compare(stored, fresh)
        if problem: findings.append(f"{where}: {problem}" + (" (output varies: numbers masked)" if varies else ""))
    return {"ok": not findings, "ran": ran, "compared": compared, "findings": findings}

def child_main(path: str, workdir: str, result_file: str):
    try: res = run_notebook(Path(path).resolve(), Path(workdir).resolve())
    except Exception as e:                                      # a notebook that cannot be read, etc.
        import traceback
        res = {"ok": False, "ran": 0, "compared": 0, "findings": [], "error": f"{type(e).__name__}: {e}",
               "traceback": traceback.format_exc()}
    Path(result_file).write_text(json.dumps(res))

# ---------------------------------------------------------------- the parent: every notebook, n at a time

def check(path: Path, workdir: Path | None, timeout: int) -> tuple:
    workdir = (workdir or path.parent).resolve()
    t0 = time.time()
    with PRINT_LOCK: print(f"Starting {path}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        result_file = Path(tmp) / "result.json"
        cmd = [sys.executable, __file__, "--child", str(path.resolve()), str(workdir), str(result_file)]
        try:
            proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout)
            res = json.loads(result_file.read_text()) if result_file.exists() else {
                "ok": False, "ran": 0, "compared": 0, "findings": [],
                "error": f"the notebook's process died (exit {proc.returncode})", "traceback": proc.stderr[-3000:]}
        except subprocess.TimeoutExpired:
            res = {"ok": False, "ran": 0, "compared": 0, "findings": [], "error": f"timed out after {timeout} s"}
    res["seconds"] = time.time() - t0
    lines = [f"{path}: {f}" for f in res["findings"]]
    if res.get("error"):
        lines.append(f"{path}: {res['error']}")
        if res.get("traceback"): lines.append(res["traceback"].rstrip())
    with PRINT_LOCK: print("\n".join(lines + [f"- Completed {path} ({res['ran']} cells run, {len(res['findings'])} stale outputs) "
                             f"in {res['seconds']:.0f} s"]), flush=True)
    return res["ok"] and not res.get("error"), res

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", help="notebooks (default: nbs/*.ipynb)")
    ap.add_argument("--n_workers", type=int, default=2, help="notebooks run at once (default 2)")
    ap.add_argument("--workdir", type=Path, help="run the notebooks from this folder (default: each one's own)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds one notebook may take (default 900)")
    args = ap.parse_args(argv)
    paths = [Path(p) for p in args.paths] or sorted((ROOT / "nbs").glob("*.ipynb"))
    paths = [p if p.is_absolute() else Path(os.path.relpath(p.resolve(), Path.cwd())) for p in paths]
    for p in paths:
        if not p.exists(): sys.exit(f"error: {p} does not exist")
    with ThreadPoolExecutor(max(1, args.n_workers)) as pool:
        results = list(pool.map(lambda p: check(p, args.workdir, args.timeout), paths))
    failed = [p for p, (ok, _) in zip(paths, results) if not ok]
    if failed:
        print("\nnbdev Tests Failed On The Following Notebooks:\n" + "=" * 50 + "\n\t" + "\n\t".join(p.name for p in failed))
    else: print("Success.")
    for p, (_, res) in sorted(zip(paths, results), key=lambda x: -x[1][1]["seconds"]):
        print(f"{p.name}: {int(res['seconds'])} secs")
    print(f"notebooks: {len(paths) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0

if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child": child_main(*sys.argv[2:])
    else: sys.exit(main())
