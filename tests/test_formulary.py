"""The formulary's examples (hand-worked values of the study's film) and its refusals."""

import doctest

import pytest

from dmilib import cropping, formulary


@pytest.mark.parametrize("module", [formulary, cropping], ids=lambda m: m.__name__)
def test_doctests(module):
    result = doctest.testmod(module, verbose=False)
    assert result.attempted > 0 and result.failed == 0


def test_material_and_formulary_agree_on_the_studys_film():
    from dmilib.simulate.material import Material

    material = Material()
    # hand values: sqrt(2e-11 / (4 pi 1e-7 * 0.3025e12)) and 4 sqrt(1e-11 * 139934) / pi
    assert material.exchange_length_m == pytest.approx(7.2535e-9, rel=1e-4)
    assert material.critical_dmi_J_per_m2() == pytest.approx(1.50615e-3, rel=1e-4)


def test_wall_energy_vanishes_at_the_critical_dmi():
    k_eff = 139934.0
    d_c = formulary.critical_dmi_J_per_m2(10e-12, k_eff)
    assert formulary.wall_energy_J_per_m2(10e-12, k_eff, d_c) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("call", [
    lambda: formulary.exchange_length_m(0.0, 0.55e6),
    lambda: formulary.wall_width_m(10e-12, -1.0),
    lambda: formulary.anisotropy_field_T(1.0, float("nan")),
])
def test_refuses_non_positive_inputs(call):
    with pytest.raises(ValueError, match="must be positive"):
        call()
