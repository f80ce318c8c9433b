"""NK and comparison cell products for any target (issue 9 §6): properties of the model.

Truths used: the closed form of first-order growth/decay, a disease state that is not a
target stays exactly as without the product, monotone effects of cytokine support and
lymphodepletion (by construction of the published direction, checked across every
product), and binomial statistics of the per-patient expansion event.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from nksim.dosing import Dose
from nksim.engine import SolverOptions, simulate
from nksim.errors import UserError
from nksim.model import Citation, Component, Parameter, State, compose
from nksim.therapy import (
    PRODUCT_KINDS,
    NKProduct,
    allogeneic_nk,
    autologous_nk,
    car_nk,
    catalogue,
    expansion_events,
    hncd16_nk,
    product_component,
    with_expansion,
)
from nksim.therapy._nk_products import KINETICS, PRODUCT_EXTINCTION, SUPPORTS

TIGHT = SolverOptions(rtol=1e-9, atol=1e-9)
_TEST = Citation("test stand-in", "test-only disease", "assumption")


def _disease(grow: float = 0.0) -> Component:
    """Two target populations T1, T2 and a bystander X, all with the same growth."""
    states = tuple(State(n, "cell/uL", f"test {n}", 10.0) for n in ("T1", "T2", "X"))
    return Component(
        name="test_disease", description="test-only", states=states,
        parameters=(Parameter("tst_g", grow, "1/day", "growth", _TEST),),
        terms={n: f"tst_g*{n}" for n in ("T1", "T2", "X")},
    )


def _antibody() -> Component:
    return Component(name="test_ab", description="test-only antibody",
                     states=(State("AB", "ug/mL", "antibody level", 0.0),),
                     terms={"AB": "0"})


def test_catalogue_has_every_kind_with_sourced_values():
    cat = catalogue()
    assert {p.kind for p in cat.values()} == set(PRODUCT_KINDS)
    for kind, k in KINETICS.items():
        values = [k.delta, k.rho, k.rej, k.rexp, k.kexp, k.kill, k.k_kill, k.adcc_boost,
                  *k.p_expand.values()]
        for v in values:
            assert v.low <= v.value <= v.high and v.unit, kind
            assert v.source.verified in ("V-src", "V-code", "UNVERIFIED", "assumption")
        assert set(k.p_expand) == {(s, ld) for s in SUPPORTS for ld in (True, False)}
    for p in cat.values():
        comp = product_component(p, ["T1"])
        for par in comp.parameters:
            assert par.unit and par.source.verified


def test_car_antigen_is_an_argument_and_kills_only_named_targets():
    prod = car_nk("HER2")
    assert prod.car_antigen == "HER2" and "HER2" in prod.name
    comp = product_component(prod, ["T1", "T2"], prefix="CARNK2")
    assert set(comp.terms) == {"CARNK2", "T1", "T2"}
    model = compose("t_prod", "test", "test", [_disease(0.1), comp])
    base = compose("t_base", "test", "test", [_disease(0.1)])
    times = np.linspace(0, 10, 11)
    dose = [Dose("CARNK2", 50.0, 0.0)]
    with_p = simulate(model, times, doses=dose, options=TIGHT).dataset
    without = simulate(base, times, options=TIGHT).dataset
    assert np.allclose(with_p["X"].values, without["X"].values, rtol=1e-8)  # bystander
    assert with_p["T1"].values[0, -1] < 0.5 * without["T1"].values[0, -1]
    assert with_p["T2"].values[0, -1] < 0.5 * without["T2"].values[0, -1]


@pytest.mark.parametrize("name", ["allogeneic_pb_nk", "nk92", "car_t", "autologous_nk"])
def test_product_without_targets_follows_the_closed_form(name):
    prod = catalogue()[name]
    k = prod.kinetics("il2", lymphodepleted=True)
    comp = product_component(prod, ["T1"], support="il2", lymphodepleted=True)
    dis = _disease()
    dis = Component(name=dis.name, description=dis.description,
                    states=(State("T1", "cell/uL", "no targets", 0.0),),
                    parameters=dis.parameters, terms={"T1": "tst_g*T1"})
    model = compose("t_decay", "test", "test", [dis, comp])
    times = np.linspace(0, 20, 21)
    res = simulate(model, times, doses=[Dose("PROD", 3.0, 0.0)], options=TIGHT)
    net = k["rho"] - k["delta"] - k["rej"]
    closed = 3.0 * np.exp(net * times)
    closed[closed < PRODUCT_EXTINCTION] = 0.0  # gone below the extinction threshold
    assert np.allclose(res.dataset["PROD"].values[0], closed, rtol=1e-6)
    assert prod.persistence_half_life("il2", True) == pytest.approx(
        math.log(2) / -net if net < 0 else math.inf)


def test_support_and_lymphodepletion_lengthen_persistence():
    for name, prod in catalogue().items():
        if prod.kind == "car_t":
            continue
        k = {s: prod.kinetics(s) for s in SUPPORTS}
        assert k["none"]["delta"] >= k["il2"]["delta"] >= k["il15"]["delta"], name
        if not prod.allogeneic:
            h = {s: prod.persistence_half_life(s) for s in SUPPORTS}
            assert h["none"] <= h["il2"] <= h["il15"], name
        else:  # IL-15 also drives host alloresponses (Berrien-Elliott): more rejection
            assert k["il15"]["rej"] > k["il2"]["rej"] == k["none"]["rej"], name
        if prod.allogeneic:
            assert prod.persistence_half_life("il2", True) > prod.persistence_half_life("il2")
        else:
            assert prod.persistence_half_life("il2", True) == prod.persistence_half_life("il2")
    nk92 = allogeneic_nk("nk92")
    assert nk92.kinetics()["rho"] == 0.0
    assert all(nk92.expansion_probability(s, ld) == 0.0 for s in SUPPORTS for ld in (0, 1))
    others = [p.persistence_half_life("none") for n, p in catalogue().items()
              if n not in ("nk92", "car_t", "car_t_allogeneic")]
    assert nk92.persistence_half_life("none") < min(others)


def test_expansion_is_a_minority_per_patient_event():
    prod = allogeneic_nk("peripheral_blood")
    ids = np.arange(20000)
    for support, p in (("il2", 0.10), ("il15", 0.32)):
        ev = expansion_events(prod, 11, ids, support=support, lymphodepleted=True)
        se = math.sqrt(p * (1 - p) / ids.size)
        assert abs(ev.mean() - p) < 4 * se
    assert not expansion_events(prod, 11, ids[:2000], support="il2").any()  # no LD
    full = expansion_events(prod, 5, ids[:500], support="il2", lymphodepleted=True)
    part = expansion_events(prod, 5, ids[100:200][::-1], support="il2", lymphodepleted=True)
    assert np.array_equal(full[100:200], part[::-1])  # same patient, same event
    other = expansion_events(prod, 6, ids[:500], support="il2", lymphodepleted=True)
    assert not np.array_equal(full, other)


def test_expanders_and_non_expanders_separate_in_simulation():
    prod = allogeneic_nk("peripheral_blood")
    comp = product_component(prod, ["T1"], support="il15", lymphodepleted=True)
    model = compose("t_exp", "test", "test", [_disease(), comp])
    ids = np.arange(40)
    events = expansion_events(prod, 2, ids, support="il15", lymphodepleted=True)
    assert 0 < events.sum() < len(ids) / 2  # a minority, but some
    params = with_expansion(np.tile(model.parameter_vector(), (len(ids), 1)),
                            model.parameter_names, "PROD", events)
    dose = prod.doses_for("PROD", 70.0)
    level0 = dose[0].amount
    res = simulate(model, np.linspace(0, 28, 29), parameters=params, doses=dose,
                   options=SolverOptions(rtol=1e-7, atol=1e-9))
    peak = res.dataset["PROD"].values.max(axis=1)
    assert np.all(peak[events] > 10 * level0)
    assert np.all(peak[~events] <= level0 * (1 + 1e-6))


def test_a_product_below_its_extinction_level_is_gone_and_a_smaller_dose_refused():
    # without a threshold an expander grew from any dose (1 cell/kg: about one cell in
    # the blood) to the expansion plateau, as from a therapeutic dose
    import dataclasses

    prod = allogeneic_nk("peripheral_blood")
    comp = product_component(prod, ["T1"], support="none", lymphodepleted=False)
    model = compose("t_gone", "test", "test", [_disease(), comp])
    params = with_expansion(model.parameter_vector()[None, :], model.parameter_names,
                            "PROD", np.array([True]))
    start = 2 * PRODUCT_EXTINCTION  # falls below the threshold before expanding much
    res = simulate(model, np.linspace(0, 60, 61), parameters=params,
                   doses=[Dose("PROD", start, 0.0)], options=SolverOptions(rtol=1e-8,
                                                                            atol=1e-12))
    course = res.dataset["PROD"].values[0]
    assert course.max() <= start and course[-1] == 0.0
    assert res.patients["extinction_time_PROD"].iloc[0] > 0
    tiny = dataclasses.replace(prod, flat_dose=None, dose_per_kg=1.0)
    with pytest.raises(UserError, match="dose: .* below the product's extinction level"):
        tiny.doses_for("PROD", 70.0)


def test_hncd16_kills_more_with_its_antibody():
    prod = hncd16_nk("rituximab")
    comp = product_component(prod, ["T1"], antibody_state="AB", prefix="HN",
                             antibody_unit="ug/mL", antibody_half=10.0)
    model = compose("t_adcc", "test", "test", [_disease(), _antibody(), comp])
    times = np.linspace(0, 3, 4)
    dose = [Dose("HN", 20.0, 0.0)]
    no_ab = simulate(model, times, doses=dose, options=TIGHT).dataset["T1"].values[0, -1]
    with_ab = simulate(model, times, doses=[*dose, Dose("AB", 5.0, 0.0)],
                       options=TIGHT).dataset["T1"].values[0, -1]
    assert with_ab < no_ab


def test_autologous_t1_product_and_dose_accounting():
    prod = autologous_nk()
    assert prod.flat_dose == 5e9 and prod.purity >= 0.95 and prod.infusions == 5
    assert not prod.allogeneic and prod.kinetics()["rej"] == 0.0
    assert prod.cells_per_infusion(70) == pytest.approx(5e9 * 0.95 * 0.9)
    assert prod.kinetics()["delta"] == pytest.approx(0.069)  # Zhang 2007
    (d,) = prod.doses_for("P", 70.0)
    assert d.count == 5 and d.every == 7.0
    assert d.amount == pytest.approx(5e9 * 0.95 * 0.9 * 0.02 / (70 * 70 * 1000))


def test_trafficking_for_uses_the_product_profile_and_loss():
    from nksim.therapy import trafficking_for

    nk = allogeneic_nk("peripheral_blood")
    comp = trafficking_for(nk, "allo", support="il2", lymphodepleted=True)
    values = {p.name: p.value for p in comp.parameters}
    k = nk.kinetics("il2", True)
    assert values["allo_death"] == pytest.approx(k["delta"] + k["rej"] - k["rho"])
    assert values["allo_E_first"] > 0.5  # activated: lungs first (Meller 2004)
    assert "allo_first" in {s.name for s in comp.states}


@pytest.mark.parametrize("make", [
    lambda: car_nk(""),
    lambda: NKProduct("x", "car_t", flat_dose=1e6),
    lambda: NKProduct("x", "nk_magic", flat_dose=1e6),
    lambda: NKProduct("x", "autologous_nk", flat_dose=1e9, purity=1.5),
    lambda: NKProduct("x", "autologous_nk", flat_dose=1e9, dose_per_kg=1e7),
    lambda: NKProduct("x", "autologous_nk", flat_dose=1e9, infusions=3),
    lambda: autologous_nk().kinetics("il7"),
    lambda: product_component(autologous_nk(), []),
    lambda: hncd16_nk(" "),
    lambda: allogeneic_nk("placenta"),
])
def test_bad_input_is_a_user_error(make):
    with pytest.raises(UserError):
        make()


def test_values_the_cited_sources_do_not_give_are_labelled_assumptions():
    """A source that only guides a value (FT596's persistence <= 15 d, Zhang's endogenous
    proliferation, ...) anchors an nksim assumption; it does not make the value V-src."""
    from nksim.disease._lymphoma import lymphoma_model
    from nksim.therapy._car_nk import PARAMETERS
    from nksim.therapy._nk_products import (
        IL15_ARMOUR_RHO,
        IL15_REJECTION_FACTOR,
        LD_REJECTION_FACTOR,
        SUPPORT_LOSS_FACTOR,
    )

    anchored = [KINETICS["ipsc_nk"].delta, KINETICS["hncd16_nk"].delta,
                KINETICS["memory_like_nk"].delta, KINETICS["car_nk"].rho, IL15_ARMOUR_RHO,
                IL15_REJECTION_FACTOR, LD_REJECTION_FACTOR, *SUPPORT_LOSS_FACTOR.values()]
    for value in anchored:
        assert value.source.verified == "assumption", value
    assert KINETICS["ipsc_nk"].rej.source.verified == "assumption"
    assert "anchored on Ghobadi 2025 (FT596)" in KINETICS["ipsc_nk"].delta.source.key
    by_name = {p.name: p for p in PARAMETERS}
    for name in ("carnk_rho", "carnk_il15_rho", "carnk_il15_loss"):
        assert by_name[name].source.verified == "assumption", name
    params = {p.name: p for p in lymphoma_model().parameters}
    assert params["hadcc_kmax"].source.verified == "assumption"
    assert params["hadcc_affinity"].source.verified == "assumption"
    # what the sources do give stays V-src
    assert KINETICS["autologous_nk"].delta.source.verified == "V-src"  # Zhang 6.9 %/d
