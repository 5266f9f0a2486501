"""Open the built docs site as a reader would, in headless Chromium with no network, and check what it shows.

    python docs/build.py && python .ci/check_docs.py [--screenshots DIR]
For the index and a notebook page (07_schedule): the page's title is there, MathJax turned the page's
math into rendered equations (`mjx-container` elements in the DOM after load), and a plot image is
shown and loads. Screenshots go to docs/_build/screenshots/. Installs nothing: CI's .ci/run installs chromium."""
import re, shutil, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "docs/_build/html"
PAGES = {"index.html": {"title": "speedgpt", "math": False, "plot": False},
         "07_schedule.html": {"title": None, "math": True, "plot": True}}

def browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name): return shutil.which(name)
    sys.exit("error: no chromium found: apt-get install -y chromium")

def chromium(*args) -> str:
    with tempfile.TemporaryDirectory() as profile:
        cmd = [browser(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               f"--user-data-dir={profile}", "--virtual-time-budget=15000", "--allow-file-access-from-files",
               "--proxy-server=127.0.0.1:9", *args]                       # no network: every page is local
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout

def notebook_title(page: str) -> str:
    import json
    nb = json.loads((ROOT / "nbs" / page.replace(".html", ".ipynb")).read_text())
    first = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    return "".join(first["source"]).splitlines()[0].lstrip("# ").strip()

def main():
    shots = ROOT / "docs/_build/screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    failures, passed = [], 0
    for page, want in PAGES.items():
        url = (HTML / page).as_uri()
        if not (HTML / page).exists(): failures.append(f"{page}: not built (python docs/build.py)"); continue
        dom = chromium("--dump-dom", url)
        title = want["title"] or notebook_title(page)
        checks = {"title": title in re.sub(r"<[^>]+>", "", dom),
                  "rendered equation (mjx-container)": (not want["math"]) or dom.count("<mjx-container") > 0,
                  "plot image": (not want["plot"]) or bool(re.search(r'<img[^>]+src="_images/[^"]+\.png"', dom))}
        if want["plot"]:
            for src in re.findall(r'<img[^>]+src="(_images/[^"]+\.png)"', dom):
                if not (HTML / src).exists(): checks["plot image"] = False
        shot = shots / page.replace(".html", ".png")
        chromium(f"--screenshot={shot}", "--window-size=1280,5200", "--hide-scrollbars", url)
        checks["screenshot"] = shot.exists() and shot.stat().st_size > 10_000
        for what, ok in checks.items():
            if ok: passed += 1
            else: failures.append(f"{page}: no {what}" + (f" {title!r}" if what == "title" else ""))
        print(f"{page}: {dom.count('<mjx-container')} rendered equations, "
              f"{len(re.findall(r'<img[^>]+_images/', dom))} images, screenshot {shot.relative_to(ROOT)}")
    for f in failures: print("docs:", f)
    print(f"docs: {passed} passed, {len(failures)} failed")
    return 1 if failures else 0

if __name__ == "__main__": sys.exit(main())
