"""Explanations: exact reasons, no protected or unrecorded reasons, suppression in global tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from send_early import RiskModel
from send_early.explain import explain_context, explain_global, explain_local, plot_shape

from ..conftest import TRAIN_DATES, fast_spec_text

AS_OF = "2023-09-01"


@pytest.fixture(scope="module")
def feats(fitted_model, small_cohort):
    return fitted_model.build_features(small_cohort, AS_OF)


def test_reasons_are_the_largest_positive_contributions(fitted_model, feats):
    long = explain_local(fitted_model, feats, top=3)
    c = fitted_model.contributions(feats)
    assert long["contribution"].min() >= fitted_model.spec.min_contribution
    got = long.set_index(["child_id", "term"])["contribution"]
    exact = c.stack()
    exact.index.names = ["child_id", "term"]
    np.testing.assert_allclose(got.to_numpy(), exact.loc[got.index].to_numpy())
    # positions are ordered by contribution within a child
    assert (long.groupby("child_id")["contribution"].diff().dropna() <= 0).all()


def test_no_reason_for_unrecorded_values_or_protected(fitted_model, feats):
    long = explain_local(fitted_model, feats, top=3)
    for term, child in zip(long["term"], long["child_id"], strict=True):
        for f in term.split(" x "):
            assert f not in ("sex", "ethnicity")
            if not f.endswith("_status"):
                assert pd.notna(feats.at[child, f]), (child, f)
    assert not long["reason"].str.contains("not yet due").any()


def test_wide_reasons_match_long(fitted_model, feats):
    wide = explain_local(fitted_model, feats, top=3, wide=True)
    long = explain_local(fitted_model, feats, top=3)
    assert list(wide.columns) == ["reason_1", "reason_2", "reason_3"]
    first = long[long["position"] == 1].set_index("child_id")["reason"]
    assert (wide.loc[first.index, "reason_1"] == first).all()
    no_reason = wide.index.difference(first.index)
    assert (wide.loc[no_reason, "reason_1"] == "").all()


def test_min_contribution_hides_small_reasons(fitted_model, feats):
    n_all = len(explain_local(fitted_model, feats, top=3, min_contribution=0.0))
    n_big = len(explain_local(fitted_model, feats, top=3, min_contribution=0.3))
    assert n_big < n_all


def test_positions_no_child_reaches_are_empty(fitted_model, feats):
    """More positions than any child has reasons for: those columns are empty, not an error."""
    m = fitted_model.contributions(feats).shape[1]
    wide = explain_local(fitted_model, feats, top=m + 2, wide=True)
    assert (wide[f"reason_{m + 2}"].astype(str) == "").all()
    long = explain_local(fitted_model, feats, top=m + 2, min_contribution=0.3)
    assert long["position"].max() <= m and set(long["child_id"]) <= set(feats.index)


def test_global_table_suppresses_small_cells(fitted_model):
    g = explain_global(fitted_model)
    assert {"term", "label", "bin", "contribution", "importance", "share", "suppressed"} <= set(
        g.columns
    )
    shown = g["count"].dropna()
    assert ((shown == 0) | (shown >= 10)).all()  # an empty bin recovers no child
    # an event rate is shown only when neither the identified nor the others are 1 to 9
    rated = g.dropna(subset=["count", "event_rate"])
    events = (rated["event_rate"] * rated["count"]).round()
    for k in (events, rated["count"] - events):
        assert not k.between(1, 9).any()
    assert g.loc[g["suppressed"], ["count", "share", "event_rate"]].isna().any(axis=1).all()
    # sorted by importance
    imp = g.drop_duplicates("term")["importance"].to_numpy()
    assert (np.diff(imp) <= 1e-12).all()


def test_plot_shape_returns_axes(fitted_model):
    g = explain_global(fitted_model)
    ax = plot_shape(fitted_model, g["term"].iloc[0])
    assert ax.get_ylabel() == "contribution (log-odds)"
    # long labels are wrapped so the title stays inside the figure
    single = g[~g["term"].str.contains(" x ")]
    longest = single.loc[single["label"].str.len().idxmax(), "term"]
    assert single["label"].str.len().max() > 60
    fig = plot_shape(fitted_model, longest).figure
    fig.canvas.draw()
    box = fig.axes[0].title.get_window_extent(fig.canvas.get_renderer())
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width + 1e-6
    with pytest.raises(ValueError, match="must be one of the model's terms"):
        plot_shape(fitted_model, "no_such_term")


def test_flags_read_yes_no_and_counts_stay_numbers(fitted_model, feats):
    long = explain_local(fitted_model, feats, top=3, min_contribution=0.0)
    flags = {f.name for f in fitted_model.pipeline.features if f.dtype == "flag"}
    single = long[~long["term"].str.contains(" x ")]
    value = single["reason"].str.rsplit(": ", n=1).str[-1]
    is_flag = single["term"].isin(flags)
    assert value[is_flag].isin(["yes", "no"]).all()
    assert not value[~is_flag].isin(["yes", "no"]).any()


@pytest.fixture(scope="module")
def paired_model(small_cohort, tmp_path_factory):
    spec = tmp_path_factory.mktemp("paired") / "paired.toml"
    text = fast_spec_text().replace(
        "n_interactions = 0", 'interactions = [["asq_communication", "eyfsp_gld_standing"]]'
    )
    spec.write_text(text)
    return RiskModel.from_spec(spec).fit(small_cohort, TRAIN_DATES)


def test_pair_term_is_plotted_as_a_two_way_table(paired_model):
    term = "asq_communication x eyfsp_gld_standing"
    assert paired_model.estimator_.term_names_[-1] == term
    ax = plot_shape(paired_model, term)
    assert len(ax.images) == 1
    grid = ax.images[0].get_array()
    g = explain_global(paired_model)
    cells = g[g["term"] == term]
    assert grid.shape == (cells["bin"].nunique(), cells["bin_2"].nunique())
    # cells whose count is hidden (1 to 9 children, or complemented) are blank
    assert int(np.ma.count_masked(grid)) == int(cells["count"].isna().sum())
    shown = cells[cells["count"].notna()]
    np.testing.assert_allclose(
        np.sort(grid.compressed()), np.sort(shown["contribution"].to_numpy())
    )


def test_pair_reasons_name_both_features(paired_model, feats):
    long = explain_local(paired_model, feats, top=3, min_contribution=0.0)
    pair = long[long["term"] == "asq_communication x eyfsp_gld_standing"]
    assert len(pair)
    labels = paired_model.pipeline.labels()
    assert pair["reason"].str.contains("; together with ", regex=False).all()
    assert pair["reason"].str.startswith(labels["asq_communication"]).all()
    # a pair is offered only when both of its features are recorded for the child
    ids = pair["child_id"].to_numpy()
    assert feats.loc[ids, ["asq_communication", "eyfsp_gld_standing"]].notna().all().all()


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(1, 40),
    m=st.integers(1, 8),
    k=st.integers(1, 4),
)
def test_top_k_matches_a_full_sort(seed, n, m, k):
    # the one-pass top-k agrees with sorting every row (ties to the lower column), on
    # values with many ties and with entries and whole columns not eligible
    from send_early.explain._explain import _top_k

    rng = np.random.default_rng(seed)
    k = min(k, m)
    A = np.asfortranarray(rng.integers(-2, 4, size=(n, m)) / 2.0)
    mask = rng.random((n, m)) < 0.7
    dropped = rng.random(m) < 0.2

    def eligible(t):
        return None if dropped[t] else mask[:, t]

    idx, vals = _top_k(A, eligible, k)
    ok = mask & ~dropped
    for i in range(n):
        cols = [t for t in range(m) if ok[i, t]]
        best = sorted(cols, key=lambda t: (-A[i, t], t))[:k]
        got = [int(idx[i, j]) for j in range(k) if np.isfinite(vals[i, j])]
        assert got == best
        np.testing.assert_array_equal(vals[i, : len(best)], A[i, best])


def test_context_is_never_a_reason_but_a_context_line(fitted_model, feats):
    roles = fitted_model.pipeline.roles()
    long = explain_local(fitted_model, feats, top=3)
    for term in long["term"].unique():  # every reason has a feature that measures need
        assert any(roles[f] == "need" for f in term.split(" x ")), term
    ctx = explain_context(fitted_model, feats, top=2)
    assert len(ctx), "the fixture model has context terms that raise some children's risk"
    for term in ctx["term"].unique():
        fs = term.split(" x ")
        assert all(roles[f] != "need" for f in fs) and "context" in {roles[f] for f in fs}
        assert not set(fs) & {"sex", "ethnicity"}
    assert ctx["contribution"].min() >= fitted_model.spec.min_contribution
    wide = explain_context(fitted_model, feats, top=2, wide=True)
    assert list(wide.columns) == ["context_1", "context_2"]
    first = ctx[ctx["position"] == 1].set_index("child_id")["reason"]
    assert (wide.loc[first.index, "context_1"] == first).all()


def test_lowering_factors_are_need_terms_that_lower_risk(fitted_model, feats):
    low = explain_local(fitted_model, feats, top=1, lowers=True)
    assert len(low) and (low["contribution"] <= -fitted_model.spec.min_contribution).all()
    c = fitted_model.contributions(feats)
    for child, term, value in (
        low[["child_id", "term", "contribution"]].head(50).itertuples(index=False)
    ):
        assert c.at[child, term] == value
    roles = fitted_model.pipeline.roles()
    assert all(any(roles[f] == "need" for f in t.split(" x ")) for t in low["term"].unique())
    wide = explain_local(fitted_model, feats, top=1, lowers=True, wide=True)
    assert list(wide.columns) == ["lowers_1"]


def test_reasons_name_the_record_its_date_and_the_cut_off(fitted_model, feats, small_cohort):
    from send_early.features import feature_records

    records = feature_records(small_cohort, AS_OF, fitted_model.pipeline)
    plain = explain_local(fitted_model, feats, top=3)
    named = explain_local(fitted_model, feats, top=3, records=records)
    # the same reasons in the same order, each now naming its record
    assert named[["child_id", "term"]].equals(plain[["child_id", "term"]])
    text = named["reason"].astype(str)
    assert (text.str.len() > plain["reason"].astype(str).str.len()).all()
    dates = pd.to_datetime(text.str.findall(r"(?:on|at birth,) (\d{4}-\d{2}-\d{2})").map(max))
    assert (dates <= pd.Timestamp(AS_OF)).all()
    # an ASQ-3 score names its review's interval and the cut-off for that interval
    asq = named[named["term"] == "asq_communication"]
    assert len(asq), "the fixture model gives ASQ-3 communication reasons"
    rec = records["asq_communication"].reindex(asq["child_id"].astype(str))
    m = asq["reason"].astype(str).str.extract(r"\((\d+)-month review on [\d-]+; cut-off ([\d.]+)")
    has = rec["cutoff"].notna().to_numpy()
    assert has.any()
    assert (m[0].to_numpy()[has].astype(float) == rec["interval_months"].to_numpy()[has]).all()
    assert np.allclose(m[1].to_numpy()[has].astype(float), rec["cutoff"].to_numpy()[has])
