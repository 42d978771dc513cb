"""MkDocs hook: serve files kept outside ``docs/`` and let pages link them as they link on GitHub.

The figures (``results/**/*.png``), the videos (``videos/*.mp4``) and the shipped agents' model cards
(``agents/*/README.md``) stay where the scripts write them. This hook adds them to the site under the same
relative paths, and rewrites a page's links ``../results/``, ``../videos/`` and ``../agents/`` (correct on
GitHub, where the pages sit in ``docs/``) to ``results/``, ``videos/`` and ``agents/``.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
PATTERNS = ("results/**/*.png", "videos/*.mp4", "agents/*/README.md")
_LINK = re.compile(r"\]\(\.\./(results|videos|agents)/")


def on_files(files, config):
    for pattern in PATTERNS:
        for path in sorted(ROOT.glob(pattern)):
            src = path.relative_to(ROOT).as_posix()
            if files.get_file_from_path(src) is None:
                files.append(File(src, str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri.count("/") == 0:
        markdown = _LINK.sub(r"](\1/", markdown)
    return markdown
