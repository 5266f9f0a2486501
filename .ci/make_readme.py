"""Write README.md from nbs/index.ipynb (nbdev_readme needs quarto, which this project does not install).

Usage: python .ci/make_readme.py [--check]   (--check: exit 1 if README.md is not what index.ipynb gives)
"""
import re, sys, nbformat
from pathlib import Path

def render(nb_path="nbs/index.ipynb") -> str:
    nb = nbformat.read(nb_path, as_version=4)
    parts = []
    for cell in nb.cells:
        src = cell.source.strip()
        if not src or src.startswith("#| hide"): continue
        if cell.cell_type == "markdown": parts.append(src)
        else: parts.append("```python\n" + src + "\n```")
    return "<!-- generated from nbs/index.ipynb by .ci/make_readme.py: edit the notebook, not this file -->\n\n" + "\n\n".join(parts) + "\n"

def missing_cell_ids(root: Path, text: str) -> list[str]:
    "Cell ids the index cites (`04model-043g`) that no notebook has: a merged or renamed cell leaves a stale pointer."
    cited = set(re.findall(r"`([0-9]+[a-z]*-[0-9]+[a-z]?)`", text))
    have = {c.get("id") for p in (root / "nbs").glob("*.ipynb") for c in nbformat.read(p, as_version=4).cells}
    return sorted(cited - have)

if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    text = render(root / "nbs/index.ipynb")
    stale = missing_cell_ids(root, text)
    if stale:
        print(f"nbs/index.ipynb cites cell ids that no notebook has: {', '.join(stale)}; point it at the cells that hold those tests now")
        sys.exit(1)
    readme = root / "README.md"
    if "--check" in sys.argv:
        if not readme.exists() or readme.read_text() != text:
            print("README.md is out of date: run python .ci/make_readme.py"); sys.exit(1)
    else:
        readme.write_text(text)
