"""Benchmarks rewrite only their own marked README block, and add it once where it belongs."""

from pathlib import Path

from bench._readme import markers, write_section


def test_a_marked_block_is_replaced_and_the_prose_around_it_kept(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    start, end = markers("x")
    readme.write_text(f"# T\n\nbefore\n{start}\nold\n{end}\nafter\n", encoding="utf-8")
    write_section("x", "new", heading="### X", readme=readme)
    assert readme.read_text(encoding="utf-8") == f"# T\n\nbefore\n{start}\nnew\n{end}\nafter\n"


def test_without_markers_the_block_goes_at_the_end_of_performance(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# T\n\n## Performance\n\nfigures\n\n## Layout\n\ntree\n", encoding="utf-8")
    write_section("x", "one", heading="### X", intro="what it measures\n\n", readme=readme)
    write_section("x", "two", heading="### X", readme=readme)
    start, end = markers("x")
    assert readme.read_text(encoding="utf-8") == (
        "# T\n\n## Performance\n\nfigures\n\n### X\n\nwhat it measures\n\n"
        f"{start}\ntwo\n{end}\n\n## Layout\n\ntree\n"
    )


def test_a_readme_without_performance_gets_the_section(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# T\n", encoding="utf-8")
    write_section("x", "one", readme=readme)
    start, end = markers("x")
    assert readme.read_text(encoding="utf-8") == f"# T\n\n## Performance\n\n{start}\none\n{end}\n"
