"""The Python blocks of docs/python.md and of the README are valid Python, and each quick start
stays within 15 lines (the issue's promise to the reader)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

SOURCE = Path(os.environ.get("VITALS_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BLOCKS = [(doc, i, code) for doc in ("docs/python.md", "README.md")
          for i, code in enumerate(re.findall(r"```python\n(.*?)```",
                                              (SOURCE / doc).read_text(), re.S))]


@pytest.mark.parametrize("doc,i,code", BLOCKS, ids=[f"{d}#{i}" for d, i, _ in BLOCKS])
def test_block_compiles(doc, i, code):
    compile(code, f"{doc} block {i}", "exec")


def test_quick_starts_are_short():
    text = (SOURCE / "docs/python.md").read_text()
    section = text.split("## Quick starts", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) >= 4  # Flask, Django, FastAPI, aiohttp
    for code in blocks:
        assert len(code.strip().splitlines()) <= 15, code
