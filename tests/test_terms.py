"""The field-term interface: what System builds from the registry, the one-pass energy,
sub-batch selection, the field-scale bound, and a new term added by registration only."""

import numpy as np
import pytest

from dmilib.simulate import Grid, Material, System
from dmilib.simulate import terms as field_terms
from dmilib.simulate.terms import FieldTerm, QuadraticTerm


def small_disk():
    return Grid.disk(60e-9, 3e-9, 6e-9)  # 20 x 20 cells


def batch_system(demag="newell"):
    grid = small_disk()
    rng = np.random.default_rng(4)
    ku = 0.33e6 * (1 + 0.1 * rng.normal(size=(3, *grid.shape)))
    fields = np.array([[0.1, 0.02, -6e-3], [0.0, 0.0, 0.0], [0.0, -0.05, 0.02]])
    material = Material(D_J_per_m2=[0.0, 0.8e-3, -1.1e-3], Ku_J_per_m3=np.abs(ku))
    return System(grid, material, fields, demag=demag, backend="numpy", dtype="float64")


def random_state(grid, batch, seed=0):
    m = np.random.default_rng(seed).normal(size=(batch, 3, *grid.shape))
    return m / np.linalg.norm(m, axis=1, keepdims=True) * grid.mask


def test_system_builds_the_registered_terms_in_order():
    for demag, last in (("newell", "Demagnetization"), ("thin_film", "ThinFilmDemagnetization"), ("none", None)):
        names = [type(term).__name__ for term in batch_system(demag).terms]
        expected = [cls.__name__ for cls in field_terms.TERMS] + ([last] if last else [])
        assert names == expected
    system = batch_system()
    assert system.term("dmi") is system.dmi and system.term("zeeman") is system.zeeman
    with pytest.raises(ValueError, match="no term 'bulk_dmi'"):
        system.term("bulk_dmi")


@pytest.mark.parametrize("demag", ["newell", "thin_film", "none"])
def test_energy_from_the_total_field_equals_the_sum_of_term_energies(demag):
    # E = -(Ms V/2) sum m.(B + b) + c holds because every term is affine in m; a term whose
    # fixed field or constant were missed would show here (fields of 0.1 T, Ku ~ 0.3 MJ/m^3).
    system = batch_system(demag)
    m = random_state(system.grid, 3)
    one_pass = system.energy_from_field_J(m, system.effective_field_T(m))
    per_term = system.energy_J(m)
    np.testing.assert_allclose(one_pass, per_term, rtol=1e-12, atol=1e-12 * np.abs(per_term).max())


def test_select_gives_the_rows_of_the_full_batch():
    system = batch_system()
    m = random_state(system.grid, 3, seed=1)
    picks = [2, 0]
    sub = system.select(picks)
    assert sub.batch_size == 2
    full = system.energy_terms_J(m)
    for name, energies in sub.energy_terms_J(m[picks]).items():
        np.testing.assert_allclose(energies, full[name][picks], rtol=1e-13, err_msg=name)
    np.testing.assert_allclose(sub.effective_field_T(m[picks]), system.effective_field_T(m)[picks], atol=1e-15)
    # a term without per-system parameters is shared, not copied
    assert sub.exchange is system.exchange


def test_field_scale_bounds_every_terms_field():
    system = batch_system()
    for seed in range(3):
        m = random_state(system.grid, 3, seed=seed)
        # a domain pattern too: +-z stripes drive the demag field towards mu0 Ms
        if seed == 2:
            m = np.zeros_like(m)
            m[:, 2] = np.where((np.arange(system.grid.nx) // 5) % 2, 1.0, -1.0) * system.grid.mask
        for term in system.terms:
            largest = np.sqrt((term.field_T(m) ** 2).sum(axis=1)).max(axis=(1, 2))
            bound = np.broadcast_to(np.asarray(term.field_scale_T(), dtype=float).reshape(-1), (3,))
            assert np.all(largest <= bound * (1 + 1e-12)), term.name


class HardAxis(QuadraticTerm):
    """A test-only term: hard axis along x with one constant per system.

    ``E = V sum_i K_b m_x,i^2``, ``B_i = -(2 K_b / Ms) m_x,i x_hat``.
    """

    name = "hard_axis"
    per_system = ("coefficient",)

    def __init__(self, grid, K_J_per_m3, Ms_A_per_m, backend, dtype):
        super().__init__(grid, Ms_A_per_m, backend, dtype)
        k = np.atleast_1d(np.asarray(K_J_per_m3, dtype=float))
        self.coefficient = self.xp.asarray((2 * k / Ms_A_per_m)[:, None, None], dtype=dtype)

    @classmethod
    def build(cls, grid, material, applied_field_T, backend, dtype):
        return cls(grid, [1e5, 2e5, 3e5], material.Ms_A_per_m, backend, dtype)

    def add_field_T(self, m, out):
        out[:, 0] -= self.coefficient * m[:, 0]

    def field_scale_T(self):
        return self.coefficient.max(axis=(1, 2))


def test_a_registered_term_needs_no_other_code(monkeypatch):
    plain = batch_system()
    monkeypatch.setattr(field_terms, "TERMS", field_terms.TERMS + (HardAxis,))
    system = batch_system()
    m = random_state(system.grid, 3, seed=2)
    k = np.array([1e5, 2e5, 3e5])
    V, Ms = system.grid.cell_volume_m3, system.material.Ms_A_per_m
    expected = V * k * (m[:, 0] ** 2).sum(axis=(1, 2))
    energies = system.energy_terms_J(m)
    np.testing.assert_allclose(energies["hard_axis"], expected, rtol=1e-12)
    field = system.effective_field_T(m) - plain.effective_field_T(m)
    np.testing.assert_allclose(field[:, 0], -(2 * k / Ms)[:, None, None] * m[:, 0], atol=1e-12)
    np.testing.assert_allclose(system.energy_from_field_J(m, system.effective_field_T(m)),
                               plain.energy_J(m) + expected, rtol=1e-12)
    np.testing.assert_allclose(system.select([2]).energy_terms_J(m[[2]])["hard_axis"], expected[[2]], rtol=1e-12)
    extra = system.energy_round_off_scale_J() - plain.energy_round_off_scale_J()
    np.testing.assert_allclose(extra, Ms * V * system.grid.cell_count * 2 * k / Ms, rtol=1e-9)


def test_a_term_without_build_says_so():
    class Bare(FieldTerm):
        name = "bare"

    with pytest.raises(NotImplementedError, match="Bare"):
        Bare.build(None, None, None, None, None)


def test_with_applied_field_replaces_only_zeeman():
    system = batch_system()
    other = system.with_applied_field((0.0, 0.0, 0.05))
    assert other.exchange is system.exchange and other.term("demag") is system.term("demag")
    m = random_state(system.grid, 3, seed=3)
    V, Ms = system.grid.cell_volume_m3, system.material.Ms_A_per_m
    np.testing.assert_allclose(other.energy_terms_J(m)["zeeman"], -Ms * V * 0.05 * m[:, 2].sum(axis=(1, 2)),
                               rtol=1e-12)
    with pytest.raises(ValueError, match="applied_field_T has 2 rows"):
        system.with_applied_field(np.zeros((2, 3)))


def test_dmi_edge_gives_a_saturated_state_torque():
    # The DMI bonds end at the edge, so +z there feels an in-plane D/(Ms h) per missing
    # neighbour (sqrt(2) of it at a corner of the staircase); inside, and without DMI, none.
    grid = small_disk()
    D, Ms = 1e-3, 0.55e6
    for d_value in (D, 0.0):
        system = System(grid, Material(D_J_per_m2=d_value), (0, 0, -6e-3), backend="numpy", dtype="float64")
        m = system.uniform((0, 0, 1))
        torque = np.linalg.norm(np.cross(m, system.effective_field_T(m), axis=1), axis=1)[0]
        unit = d_value / (Ms * grid.dx)
        assert torque.max() == pytest.approx(unit * np.sqrt(2), rel=1e-9) if d_value else torque.max() == 0
        interior = grid.mask.copy()
        interior[1:-1, 1:-1] &= grid.mask[:-2, 1:-1] & grid.mask[2:, 1:-1] & grid.mask[1:-1, :-2] & grid.mask[1:-1, 2:]
        interior[[0, -1], :] = interior[:, [0, -1]] = False
        assert np.abs(torque[interior]).max() < 1e-12
