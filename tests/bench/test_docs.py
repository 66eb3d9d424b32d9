"""Benchmarks rewrite only their own marked block of docs/performance.md, and add it once."""

import argparse
import re
from pathlib import Path

import pytest
from bench._docs import PERFORMANCE, ROOT, add_write_docs_flag, markers, write_section

# The benchmarks that publish a block, each from bench/<name>.py.
BENCHMARKS = ("governance", "long_run", "overhead", "record", "redaction", "steps")


def test_a_marked_block_is_replaced_and_the_prose_around_it_kept(tmp_path: Path) -> None:
    page = tmp_path / "performance.md"
    start, end = markers("x")
    page.write_text(f"# T\n\nbefore\n{start}\nold\n{end}\nafter\n", encoding="utf-8")
    write_section("x", "new", heading="## X", page=page)
    assert page.read_text(encoding="utf-8") == f"# T\n\nbefore\n{start}\nnew\n{end}\nafter\n"


def test_without_markers_the_block_goes_at_the_end_once(tmp_path: Path) -> None:
    page = tmp_path / "performance.md"
    page.write_text("# Performance\n\nfigures\n", encoding="utf-8")
    write_section("x", "one", heading="## X", intro="what it measures\n\n", page=page)
    write_section("x", "two", heading="## X", page=page)
    start, end = markers("x")
    assert page.read_text(encoding="utf-8") == (
        f"# Performance\n\nfigures\n\n## X\n\nwhat it measures\n\n{start}\ntwo\n{end}\n"
    )


def test_a_missing_page_is_made_with_its_title(tmp_path: Path) -> None:
    page = tmp_path / "performance.md"
    write_section("x", "one", page=page)
    start, end = markers("x")
    assert page.read_text(encoding="utf-8") == f"# Performance\n\n{start}\none\n{end}\n"


@pytest.mark.parametrize("name", BENCHMARKS)
def test_the_published_page_has_each_benchmark_block_once(name: str) -> None:
    text = PERFORMANCE.read_text(encoding="utf-8")
    start, end = markers(name)
    assert text.count(start) == 1
    assert text.count(end) == 1
    assert text.index(start) < text.index(end)


def test_the_published_page_names_no_old_flag() -> None:
    assert "--write-readme" not in PERFORMANCE.read_text(encoding="utf-8")


@pytest.mark.parametrize("argv", [["--write-docs"], ["--write-readme"]])
def test_both_names_of_the_flag_publish(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    add_write_docs_flag(parser)
    assert parser.parse_args(argv).write_docs is True
    assert parser.parse_args([]).write_docs is False


def test_help_shows_only_the_new_flag() -> None:
    parser = argparse.ArgumentParser()
    add_write_docs_flag(parser)
    shown = parser.format_help()
    assert "--write-docs" in shown
    assert "--write-readme" not in shown


@pytest.mark.parametrize("name", BENCHMARKS)
def test_every_benchmark_takes_the_flag_and_names_no_readme(name: str) -> None:
    source = (ROOT / "bench" / f"{name}.py").read_text(encoding="utf-8")
    assert "add_write_docs_flag(parser)" in source
    assert not re.search(r"write.readme|README", source)


@pytest.mark.parametrize("name", BENCHMARKS)
def test_rewriting_the_published_page_changes_only_that_block(name: str, tmp_path: Path) -> None:
    page = tmp_path / "performance.md"
    before = PERFORMANCE.read_text(encoding="utf-8")
    page.write_text(before, encoding="utf-8")
    write_section(name, "new figures", heading="## Ignored", page=page)
    start, end = markers(name)
    head, rest = before.split(start, 1)
    expected = f"{head}{start}\nnew figures\n{end}{rest.split(end, 1)[1]}"
    assert page.read_text(encoding="utf-8") == expected
