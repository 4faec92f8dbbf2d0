"""Which model backends are usable: checked on the real installed packages, without loading them."""

from __future__ import annotations

from pathlib import Path

import pytest

from lahstats.pipeline.backends import inspect_models, resolve_device
from lahstats.settings import Settings


def test_default_embedded_models_ship_with_the_install() -> None:
    statuses = {s.role: s for s in inspect_models(Settings())}
    assert set(statuses) == {"diarizer", "transcriber", "embedder"}
    for status in statuses.values():
        assert status.state == "ok", status
        assert status.version
        assert status.location is not None
        assert Path(status.location).exists()


def test_the_embedded_transcriber_is_found() -> None:
    status = next(
        s for s in inspect_models(Settings(transcriber="whisper-tiny")) if s.role == "transcriber"
    )
    assert (status.backend, status.state) == ("whisper-tiny", "ok")


def test_a_backend_this_version_does_not_offer_is_refused_by_settings() -> None:
    with pytest.raises(ValueError, match="transcriber"):
        Settings(transcriber="pocketsphinx")  # type: ignore[arg-type]


def test_a_local_model_directory_needs_its_weights(tmp_path: Path) -> None:
    settings = Settings(transcriber="faster-whisper", transcriber_model=str(tmp_path))
    status = next(s for s in inspect_models(settings) if s.role == "transcriber")
    assert status.state == "missing"
    assert "model.bin" in status.detail
    assert status.fix
    assert "models download" in status.fix

    (tmp_path / "model.bin").write_bytes(b"weights")
    status = next(s for s in inspect_models(settings) if s.role == "transcriber")
    assert (status.state, status.location) == ("ok", str(tmp_path))


def test_a_hub_id_is_remote_and_a_bad_path_is_missing() -> None:
    hub = Settings(transcriber="faster-whisper", transcriber_model="org/whisper-small-singlish")
    status = next(s for s in inspect_models(hub) if s.role == "transcriber")
    assert status.state == "remote"
    assert status.fix
    assert "LAHSTATS_HF_TOKEN" in status.fix
    bad = Settings(transcriber="faster-whisper", transcriber_model="/no/such/dir")
    status = next(s for s in inspect_models(bad) if s.role == "transcriber")
    assert (status.state, status.detail) == ("missing", "no such path: /no/such/dir")


def test_an_uninstalled_production_stack_says_which_extra() -> None:
    statuses = {s.role: s for s in inspect_models(Settings(diarizer="pyannote"))}
    pyannote_installed = statuses["diarizer"].version is not None
    if pyannote_installed:
        assert statuses["diarizer"].detail == "LAHSTATS_DIARIZER_MODEL is not set"
    else:
        assert statuses["diarizer"].fix
        assert "lahstats[pyannote]" in statuses["diarizer"].fix
    # The pipeline's own embedding model serves voiceprints when pyannote diarizes.
    assert statuses["embedder"].backend == "pyannote"
    assert statuses["embedder"].state == statuses["diarizer"].state
    embedded = {s.role: s for s in inspect_models(Settings())}
    assert embedded["embedder"].backend == "wespeaker"


def test_device_resolution() -> None:
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in {"cpu", "cuda"}


def test_the_embedded_diarizer_needs_the_library_that_carries_its_models(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import lahstats.pipeline.backends as backends

    real = backends._package_dir
    monkeypatch.setattr(
        backends,
        "_package_dir",
        lambda module: tmp_path if module == "moonshine_voice" else real(module),
    )
    status = next(s for s in inspect_models(Settings()) if s.role == "diarizer")
    assert status.state == "missing"
    assert "libmoonshine.so" in status.detail
    assert status.fix
    assert "moonshine-voice" in status.fix


def test_a_file_missing_from_a_package_is_a_clear_model_error() -> None:
    from lahstats.errors import ModelUnavailable
    from lahstats.pipeline.backends import package_file

    assert package_file("silero-vad", "silero_vad", "data/silero_vad.onnx").is_file()
    with pytest.raises(ModelUnavailable, match=r"nothing\.onnx is missing") as missing:
        package_file("silero-vad", "silero_vad", "data/nothing.onnx")
    assert "force-reinstall 'silero-vad'" in missing.value.hint
    with pytest.raises(ModelUnavailable, match="not installed") as absent:
        package_file("no-such-dist", "no_such_module_here", "x")
    assert "pip install 'no-such-dist'" in absent.value.hint
