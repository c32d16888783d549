"""Run every benchmark in this folder and gather their reports into docs/benchmarks.md.

Usage: python benchmarks/run.py [--collect] [NAME ...]  (NAME: after bench_, e.g. kde; default all)
--collect only stitches the existing section files without running anything.

Each ``bench_<name>.py`` measures hotspots beside the library a user would otherwise pick, in one
run, and writes ``docs/benchmarks_<name>.md``; this script runs them in turn and stitches those
sections into ``docs/benchmarks.md`` so the figures always come from a recorded command.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent / "docs"
HEADER = """# Benchmarks

Speed and accuracy targets live here, not in timed unit tests. Each section was produced by the
command it names, on the machine it names, with the baseline measured in the same run.
Regenerate everything with `python benchmarks/run.py` (needs `pip install -e ".[bench]"`).
"""


def _demote(text: str) -> str:
    """Make a section whose title is a level-1 heading sit under the page's title."""
    if not text.startswith("# "):
        return text
    return "\n".join("#" + line if line.startswith("#") else line for line in text.splitlines())


def main(argv: list[str]) -> int:
    collect = "--collect" in argv
    names = [a for a in argv if a != "--collect"]
    scripts = sorted(HERE.glob("bench_*.py"))
    chosen = [] if collect else [s for s in scripts
                                 if not names or s.stem.removeprefix("bench_") in names]
    for script in chosen:
        print(f"== {script.name}", flush=True)
        rc = subprocess.call([sys.executable, str(script)])
        if rc:
            print(f"{script.name} failed with exit code {rc}", file=sys.stderr)
            return rc
    sections = [_demote(p.read_text("utf-8").strip())
                for p in sorted(DOCS.glob("benchmarks_*.md"))]
    (DOCS / "benchmarks.md").write_text(HEADER + "\n" + "\n\n".join(sections) + "\n", "utf-8")
    print(f"wrote {DOCS / 'benchmarks.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
