"""The documentation site builds strictly, and the repository stands on its own.

1. ``mkdocs build --strict`` (the ``docs`` extra) succeeds from the repository root into a temporary folder,
   and the key pages, an API reference page and a figure served from ``results/`` are in the output. Strict
   mode turns every warning into an error: a broken link, a page missing from the navigation, a docstring
   that mkdocstrings cannot parse.
2. No tracked text file (``git ls-files``; only binary files, those holding a NUL byte, are skipped) refers to
   documents outside the repository: the parent folder's ``shared`` directory, a design document or
   PyBullet notes file the repository does not contain, or a section of that design document.
3. No tracked text file cites the project's own issues by number. The rule matches the word "issue" or
   "issues", optionally followed by "#", then a number; a "#" directly followed by digits after a space or an
   opening parenthesis (a pull-request or issue shorthand); and "item N of" followed by "issue". A file
   states the fact instead, or links the documentation page that states it. Another project's issue is
   cited by its URL (``https://github.com/<owner>/<repo>/issues/<n>``), which the rule does not match
   because a slash, not a space, follows the word. Colours such as ``#1f77b4`` do not match either: the
   digits must end at a word boundary.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Written so that this file does not match its own patterns.
FORBIDDEN = {
    "a path into the parent folder's shared directory": re.compile(r"\.\./shared"),
    "a design document the repository does not contain": re.compile(r"DESIGN\.md|DESIGN[ ]§"),
    "a PyBullet notes file the repository does not contain": re.compile(r"PYBULLET_NOTE[S]"),
    "an issue number": re.compile(r"\bissues?\s*#?\s*\d+|(?:^|[\s(])#\d+\b|\bitem \d+ of (?:the )?issue",
                                  re.IGNORECASE),
}

KEY_PAGES = ("index.html", "getting-started.html", "tasks-and-scenarios.html", "shifts.html", "cores.html",
             "training.html", "evaluation.html", "diagnostics.html", "multi-agent.html", "benchmark-results.html",
             "speed.html", "architecture.html", "api/models.html", "api/envs.html", "results/world.png")


def test_the_site_builds_strictly(tmp_path):
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    missing = [page for page in KEY_PAGES if not (site / page).is_file()]
    assert not missing, missing
    assert "ltc_drones.models.make_core" in (site / "api" / "models.html").read_text()


def tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    files = []
    for name in names.decode().split("\0"):
        path = REPO / name
        if name and path.is_file() and b"\0" not in path.read_bytes()[:8192]:
            files.append(path)
    return files


def test_no_file_refers_outside_the_repository_or_to_issue_numbers():
    files = tracked_text_files()
    assert len(files) > 100
    found = []
    for path in files:
        text = path.read_text(errors="replace")
        for what, pattern in FORBIDDEN.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(REPO)}:{line}: {what}: {match.group(0)!r}")
    assert not found, "\n".join(found)
