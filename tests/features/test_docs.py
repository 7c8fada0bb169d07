"""docs/features.md is generated from the default spec and must match it."""

from __future__ import annotations

from pathlib import Path

from send_early.features import features_markdown, load_pipeline

DOC = Path(__file__).resolve().parents[2] / "docs" / "features.md"


def test_docs_page_matches_the_spec():
    expected = features_markdown("default")
    assert DOC.read_text(encoding="utf-8") == expected, (
        'docs/features.md is stale; regenerate it with: python -c "from send_early.features import '
        "features_markdown; open('docs/features.md', 'w').write(features_markdown())\""
    )


def test_docs_list_every_feature_with_its_label():
    text = features_markdown("default")
    for f in load_pipeline("default").features:
        assert f"| `{f.name}` | {f.label} |" in text
