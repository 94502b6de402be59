"""The ONNX Runtime backends of MiniLM against the PyTorch reference, on real ESCO texts.

fp32 ONNX must reproduce PyTorch's vectors (so it may share its indexes); int8 must stay
close but is a different encoder as far as indexes are concerned; the export is made once
and reused.
"""

from __future__ import annotations

import numpy as np
import pytest

from skillpath.engine.index import IndexMismatch, check_manifest, save_bundle
from skillpath.engine.taxonomy_index import build_skill_bundle, skill_description_text
from skillpath.models import onnx_backend
from skillpath.models.encoder import MiniLMEncoder, UnknownEncoder, load_encoder
from skillpath.models.onnx_backend import EQUAL_TOLERANCE, OnnxMiniLMEncoder, export_status


@pytest.fixture(scope="module")
def export_root(settings):
    return settings.model_cache_dir


@pytest.fixture(scope="module")
def torch_encoder():
    return load_encoder("minilm", "torch")


@pytest.fixture(scope="module")
def onnx_encoder(export_root):
    return load_encoder("minilm", "onnx", export_root)


@pytest.fixture(scope="module")
def int8_encoder(export_root):
    return load_encoder("minilm", "onnx-int8", export_root)


@pytest.fixture(scope="module")
def real_texts(esco_taxonomy):
    """Every 40th ESCO skill: labels, alt labels and "label: description" (long) texts."""
    skills = esco_taxonomy.skills[::40]
    texts = [s.preferred_label for s in skills]
    texts += [alt for s in skills[:100] for alt in s.alt_labels[:2]]
    texts += [skill_description_text(s) for s in skills[:150]]
    return texts


def test_onnx_fp32_vectors_equal_torch_on_real_texts(torch_encoder, onnx_encoder, real_texts):
    want = torch_encoder.encode_documents(real_texts)
    got = onnx_encoder.encode_documents(real_texts)
    assert got.shape == want.shape == (len(real_texts), 384)
    assert float(np.abs(got - want).max()) <= EQUAL_TOLERANCE
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    # Proven equal, so it is the same encoder as far as indexes and the cache go.
    assert onnx_encoder.fingerprint == torch_encoder.fingerprint
    assert onnx_encoder.export_meta["proof"]["model.onnx"]["equal_to_torch"] is True


def test_onnx_int8_vectors_close_to_torch_but_their_own_encoder(
    torch_encoder, int8_encoder, real_texts
):
    want = torch_encoder.encode_documents(real_texts)
    got = int8_encoder.encode_documents(real_texts)
    cosines = (got * want).sum(axis=1)
    # Measured mean 0.993, min 0.983 on ESCO texts; floors well below that.
    assert cosines.mean() >= 0.97
    assert cosines.min() >= 0.90
    assert float(np.abs(got - want).max()) > EQUAL_TOLERANCE  # really a different encoder
    assert int8_encoder.fingerprint != torch_encoder.fingerprint
    assert "onnx-int8" in int8_encoder.fingerprint
    # Retrieval survives: nearly every int8 vector's nearest PyTorch vector is its own text's.
    own = (got @ want.T).argmax(axis=1) == (want @ want.T).argmax(axis=1)
    assert own.mean() >= 0.95


def test_index_built_with_one_backend_is_refused_by_another(
    tmp_path, esco_taxonomy, torch_encoder, onnx_encoder, int8_encoder
):
    from skillpath.engine.embeddings import EmbeddingCache

    skills = esco_taxonomy.skills[:60]
    cache = EmbeddingCache(tmp_path / "cache" / "embeddings.sqlite")
    for encoder, folder in ((torch_encoder, "built-torch"), (int8_encoder, "built-int8")):
        bundle = build_skill_bundle(skills, encoder, cache)
        save_bundle(tmp_path / folder, bundle, {"encoder": encoder.fingerprint})

    name = bundle.name
    with pytest.raises(IndexMismatch, match=r"minilm-onnx-int8-.*skillpath index build"):
        check_manifest(tmp_path / "built-torch", name, {"encoder": int8_encoder.fingerprint})
    with pytest.raises(IndexMismatch, match="skillpath index build"):
        check_manifest(tmp_path / "built-int8", name, {"encoder": torch_encoder.fingerprint})
    # fp32 ONNX was proven equal to PyTorch: the torch index serves it, the int8 one does not.
    check_manifest(tmp_path / "built-torch", name, {"encoder": onnx_encoder.fingerprint})
    with pytest.raises(IndexMismatch):
        check_manifest(tmp_path / "built-int8", name, {"encoder": onnx_encoder.fingerprint})


def test_export_cache_is_reused_and_checked(export_root, onnx_encoder, monkeypatch):
    folder = onnx_encoder.export_dir
    stamp = (folder / "model.onnx").stat().st_mtime_ns

    def no_export(*args, **kwargs):
        raise AssertionError("re-exported although a valid export was cached")

    monkeypatch.setattr(onnx_backend, "_export_fp32", no_export)
    monkeypatch.setattr(onnx_backend, "MiniLMEncoder", no_export)
    again = OnnxMiniLMEncoder(quantised=True, export_root=export_root)
    assert again.export_dir == folder
    assert (folder / "model.onnx").stat().st_mtime_ns == stamp
    assert export_status(folder) == onnx_encoder.export_meta
    # The export's folder is named by a fingerprint of weights, versions and recipe.
    assert folder.name.startswith("minilm-onnx-") and folder.parent == export_root


def test_damaged_export_is_detected(tmp_path, onnx_encoder):
    import shutil

    copy = tmp_path / onnx_encoder.export_dir.name
    shutil.copytree(onnx_encoder.export_dir, copy)
    assert export_status(copy) is not None
    with (copy / "model-int8.onnx").open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"\0" * 16)
    assert export_status(copy) is None  # would be re-exported, never loaded damaged
    (copy / "export.json").write_text("{not json")
    assert export_status(copy) is None


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(UnknownEncoder, match="torch, onnx, onnx-int8"):
        load_encoder("minilm", "tensorrt")


@pytest.mark.model  # loads the torch MiniLM weights
def test_the_torch_backend_loads_the_torch_encoder():
    assert isinstance(load_encoder("minilm", "torch"), MiniLMEncoder)


def test_settings_select_the_backend(settings, monkeypatch):
    from pydantic import ValidationError

    from skillpath.engine.config import Settings

    monkeypatch.delenv("SKILLPATH_ENCODER_BACKEND", raising=False)
    assert Settings(home=settings.home).encoder_backend == "onnx"  # the measured default
    monkeypatch.setenv("SKILLPATH_ENCODER_BACKEND", "onnx-int8")
    assert Settings(home=settings.home).encoder_backend == "onnx-int8"
    monkeypatch.setenv("SKILLPATH_ENCODER_BACKEND", "cuda")
    with pytest.raises(ValidationError, match="encoder_backend"):
        Settings(home=settings.home)
