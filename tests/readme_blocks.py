"""The README's shell blocks marked runnable: the line `<!-- runnable -->` (or `<!-- runnable: with
the simulator -->`, run with the environment `make demo ARGS=--keep` prints) right before a ```sh fence."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"
BLOCK = re.compile(
    r"^<!-- runnable(?P<sim>: with the simulator)? -->\n```sh\n(?P<script>.*?)^```$", re.MULTILINE | re.DOTALL
)


def blocks(readme: Path = README) -> list[tuple[bool, str]]:
    """(needs the simulator, the script) per marked block, in order."""
    return [(bool(found["sim"]), found["script"]) for found in BLOCK.finditer(readme.read_text(encoding="utf-8"))]
