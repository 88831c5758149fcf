"""nn.Module: parameter discovery, zero_grad, train/eval, and .npz checkpoints."""

from __future__ import annotations

import os

import numpy as np
import pytest

from autograd import Tensor, Value
from nn import MLP, CheckpointError, Linear, Module, ScalarMLP, Sequential, Tanh


def _model(seed: int = 0) -> MLP:
    return MLP([3, 4, 2], seed=seed)


def _same(a: Module, b: Module) -> bool:
    return all(np.array_equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters()))


# ---- parameters -------------------------------------------------------------------------------

def test_named_parameters_of_an_mlp_are_layer_by_layer_weight_then_bias():
    names = [n for n, _ in _model().named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]


def test_parameters_are_the_layers_tensors_in_order():
    m = _model()
    expected = [m.layers[0].weight, m.layers[0].bias, m.layers[1].weight, m.layers[1].bias]
    assert all(p is q for p, q in zip(m.parameters(), expected, strict=True))


def test_nested_modules_lists_and_private_attributes():
    class Net(Module):
        def __init__(self):
            self.encoder = Sequential(Linear(2, 3, seed=0), Tanh())
            self.heads = [Linear(3, 1, seed=1), Linear(3, 1, seed=2)]
            self.scale = Tensor([2.0], requires_grad=True)
            self.constant = Tensor([1.0])           # no grad: not a parameter
            self._cache = Linear(5, 5, seed=3)      # private: not walked

    names = [n for n, _ in Net().named_parameters()]
    assert names == ["encoder.steps.0.weight", "encoder.steps.0.bias", "heads.0.weight",
                     "heads.0.bias", "heads.1.weight", "heads.1.bias", "scale"]


def test_a_shared_layer_is_listed_once():
    shared = Linear(2, 2, seed=0)
    seq = Sequential(shared, Tanh(), shared)
    assert len(seq.parameters()) == 2


def test_zero_grad_resets_tensors_to_none_and_values_to_zero():
    m = _model()
    m(np.ones((2, 3))).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    s = ScalarMLP([2, 2, 1], seed=0)
    s([1.0, 2.0]).backward()
    assert any(p.grad != 0.0 for p in s.parameters())
    s.zero_grad()
    assert all(p.grad == 0.0 for p in s.parameters())


def test_train_and_eval_reach_every_submodule():
    m = _model()
    assert m.training
    assert m.eval() is m
    assert not any(sub.training for sub in m.modules())
    m.train()
    assert all(sub.training for sub in m.modules())


# ---- save / load ------------------------------------------------------------------------------

def test_save_load_round_trip_restores_every_parameter_exactly(tmp_path):
    a, b = _model(seed=1), _model(seed=2)
    assert not _same(a, b)
    path = a.save(tmp_path / "model.npz")
    assert path == tmp_path / "model.npz"
    assert b.load(path) is b
    assert _same(a, b)


def test_load_copies_into_the_existing_arrays(tmp_path):
    a, b = _model(seed=1), _model(seed=2)
    before = [p.data for p in b.parameters()]
    a.save(tmp_path / "m.npz")
    b.load(tmp_path / "m.npz")
    assert all(p.data is arr for p, arr in zip(b.parameters(), before))


def test_saved_file_is_a_plain_npz_keyed_by_parameter_name(tmp_path):
    m = _model()
    m.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        assert sorted(f.files) == sorted(n for n, _ in m.named_parameters())
        np.testing.assert_array_equal(f["layers.0.weight"], m.layers[0].weight.data)


def test_save_leaves_no_temporary_file_behind(tmp_path):
    _model().save(tmp_path / "m.npz")
    assert os.listdir(tmp_path) == ["m.npz"]


def test_scalar_models_round_trip_too(tmp_path):
    a, b = ScalarMLP([2, 3, 1], seed=0), ScalarMLP([2, 3, 1], seed=1)
    a.save(tmp_path / "s.npz")
    b.load(tmp_path / "s.npz")
    assert [p.data for p in a.parameters()] == [p.data for p in b.parameters()]
    assert all(isinstance(p, Value) for p in b.parameters())


def test_a_crash_mid_save_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    old = _model(seed=1)
    old.save(path)
    original = path.read_bytes()

    def exploding_savez(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")  # some bytes reach the disk, then the crash
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", exploding_savez)
    with pytest.raises(OSError, match="disk full"):
        _model(seed=2).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["m.npz"]
    assert _same(_model(seed=3).load(path), old)


def test_saving_into_a_missing_folder_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        _model().save(tmp_path / "nowhere" / "m.npz")


def test_loading_a_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"absent\.npz"):
        _model().load(tmp_path / "absent.npz")


@pytest.mark.parametrize("content", [b"", b"not a zip file at all", b"PK\x03\x04" + b"\0" * 40])
def test_a_corrupt_file_raises_an_error_naming_it(tmp_path, content):
    path = tmp_path / "broken.npz"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=r"broken\.npz"):
        _model().load(path)


def test_a_truncated_checkpoint_raises_an_error_naming_it(tmp_path):
    path = tmp_path / "cut.npz"
    _model().save(path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match=r"cut\.npz"):
        _model().load(path)


def test_a_single_npy_array_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "w.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(CheckpointError, match=r"w\.npy.*single"):
        _model().load(path)


def test_pickled_object_arrays_are_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, **{"layers.0.weight": np.array([object()], dtype=object)})
    with pytest.raises(CheckpointError, match=r"evil\.npz"):
        _model().load(path)


def test_a_missing_key_is_named(tmp_path):
    path = tmp_path / "m.npz"
    state = _model().state_dict()
    del state["layers.1.bias"]
    np.savez(path, **state)
    with pytest.raises(CheckpointError, match=r"m\.npz.*missing layers\.1\.bias"):
        _model().load(path)


def test_an_unexpected_key_is_named(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, extra=np.zeros(1), **_model().state_dict())
    with pytest.raises(CheckpointError, match="unexpected extra"):
        _model().load(path)


def test_a_shape_mismatch_names_the_parameter_and_both_shapes(tmp_path):
    path = tmp_path / "wide.npz"
    MLP([3, 5, 2], seed=0).save(path)
    with pytest.raises(CheckpointError) as err:
        _model().load(path)
    text = str(err.value)
    assert "wide.npz" in text and "'layers.0.weight'" in text
    assert "(5, 3)" in text and "(4, 3)" in text


def test_a_failed_load_changes_nothing(tmp_path):
    path = tmp_path / "m.npz"
    state = _model(seed=1).state_dict()
    state["layers.1.weight"] = np.zeros((9, 9))  # the last parameter is the bad one
    np.savez(path, **state)
    m = _model(seed=2)
    before = m.state_dict()
    with pytest.raises(CheckpointError):
        m.load(path)
    assert all(np.array_equal(before[n], p.data) for n, p in m.named_parameters())


def test_state_dict_is_a_copy():
    m = _model()
    state = m.state_dict()
    state["layers.0.bias"] += 1.0
    assert not np.array_equal(state["layers.0.bias"], m.layers[0].bias.data)
