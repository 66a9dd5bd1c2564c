"""The pages agree with what they point at: every link and picture exists, and the README's results quote their pages."""

import re
from pathlib import Path

import pytest

from tests.conftest import repo_root

ROOT = repo_root()
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def targets(page: Path) -> list[str]:
    """Every relative link and image of a markdown page, outside code blocks, without its #anchor."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    found = [m.group(1).split("#")[0] for m in LINK.finditer(text)]
    return [t for t in found if t and not re.match(r"[a-z]+:", t)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_and_picture_of_a_page_exists(page):
    missing = [t for t in targets(page) if not (page.parent / t).exists()]
    assert not missing, f"{page.relative_to(ROOT)} points at missing files: {missing}"


def test_no_page_carries_a_machine_path_or_a_move_banner():
    for page in PAGES:
        text = page.read_text()
        assert not re.search(r"/(?:work|tmp|home|root)/\w", text), f"{page.relative_to(ROOT)} shows a machine path"
        assert "Moved from the README" not in text, page


def test_every_number_the_readmes_results_quote_is_on_a_page_they_link():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Results at a glance", 1)[1].split("\n## ", 1)[0]
    pages = [ROOT / t for t in targets_in(section) if t.startswith("docs/results/") and t.endswith(".md")]
    assert pages, "the results section links no results page"
    quoted = set(re.findall(r"(?<![\w.])[±−+]?\d[\d,]*(?:\.\d+)?", re.sub(r"\([^)]*\.(?:md|png)\)", "", section)))
    text = " ".join(p.read_text() for p in pages)
    unsupported = sorted(n for n in quoted if n.lstrip("±−+") not in text)
    assert not unsupported, f"the README's results quote numbers no linked page holds: {unsupported}"


def targets_in(text: str) -> list[str]:
    return [m.group(1).split("#")[0] for m in LINK.finditer(text)]
