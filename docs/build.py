"""Build the docs site from the notebooks' stored outputs (nothing is executed): docs/_build/html/index.html

    pip install -e ".[docs]"
    python docs/build.py

Sphinx + MyST-NB render each notebook in nbs/ as a page (markdown, math, code, text outputs, plots);
MathJax is served from the site itself (sphinx-mathjax-offline), so the pages work without a network.
nbdev's `#|` lines are left out of the code shown and `#| hide` cells are not shown."""
import re, shutil, subprocess, sys
from pathlib import Path
import nbformat

ROOT = Path(__file__).resolve().parent.parent
SRC, OUT = ROOT / "docs/_build/src", ROOT / "docs/_build/html"

CONF = '''
project = "speedgpt"
author = "speedgpt contributors"
extensions = ["myst_nb", "sphinx-mathjax-offline"]
nb_execution_mode = "off"                      # render the stored outputs, never run the notebooks
myst_enable_extensions = ["dollarmath", "amsmath"]
html_theme = "furo"
html_title = "speedgpt"
exclude_patterns = []
suppress_warnings = ["myst.header", "misc.highlighting_failure"]
'''

def page(nb_path: Path):
    "The notebook as a reader sees it: no `#|` lines, no hidden cells."
    nb = nbformat.read(nb_path, as_version=4)
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            lines = cell.source.splitlines()
            if any(re.match(r"\s*#\s?\|\s*hide\b", l) for l in lines[:3]): continue
            cell.source = "\n".join(l for l in lines if not re.match(r"\s*#\s?\|", l)).strip("\n")
            if not cell.source and not cell.outputs: continue
        cells.append(cell)
    nb.cells = cells
    return nb

def main():
    if SRC.exists(): shutil.rmtree(SRC)
    SRC.mkdir(parents=True)
    (SRC / "conf.py").write_text(CONF)
    notebooks = sorted(p for p in (ROOT / "nbs").glob("*.ipynb") if p.name != "index.ipynb")
    index = page(ROOT / "nbs/index.ipynb")
    toc = "```{toctree}\n:maxdepth: 1\n:hidden:\n\n" + "\n".join(p.stem for p in notebooks) + "\n```"
    index.cells.append(nbformat.v4.new_markdown_cell(toc))
    nbformat.write(index, SRC / "index.ipynb")
    for p in notebooks: nbformat.write(page(p), SRC / p.name)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", str(SRC), str(OUT)]
    subprocess.run(cmd, check=True)
    print(f"docs: {OUT / 'index.html'} ({len(notebooks) + 1} pages)")

if __name__ == "__main__": main()
