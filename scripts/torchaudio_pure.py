"""Makes torchaudio importable when its native extension was built for another torch.

pyannote.audio 4 imports torchaudio, and uses only its pure-Python parts: Kaldi fbank features,
MFCC, resampling (lahstats hands it waveforms, so nothing is decoded by torchaudio or torchcodec).
The registry's torchaudio 2.11 wheel is a CUDA build against torch 2.11: on a CPU-only torch
its ``_torchaudio`` library fails to load (``libc10_cuda.so: cannot open shared object file``),
and that failure stops ``import torchaudio`` itself. torchaudio supports running without the
library (it skips loading when no file is there), so when, and only when, the import fails on a
native library this moves the ``.so`` files aside to ``lib/native-disabled/`` and checks again.
Where a matching torchaudio is installed (a GPU server installing torch and torchaudio from the
same PyTorch index) the import works and nothing is touched. Idempotent; run by ``make install``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

CHECK = "import torchaudio, torchaudio.compliance.kaldi"


def _imports() -> tuple[bool, str]:
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed snippet
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=False
    )
    return done.returncode == 0, done.stderr.strip().splitlines()[-1] if done.stderr else ""


def main() -> int:
    spec = importlib.util.find_spec("torchaudio")
    if spec is None or not spec.submodule_search_locations:
        print("torchaudio: not installed, nothing to do")
        return 0
    lib = Path(next(iter(spec.submodule_search_locations))) / "lib"
    ok, error = _imports()
    if ok:
        pure = (lib / "native-disabled").is_dir() and not any(lib.glob("*.so"))
        print(f"torchaudio: imports{' (pure Python)' if pure else ' with its native extension'}")
        return 0
    native = sorted(lib.glob("*.so"))
    if not native or ("load" not in error and ".so" not in error):
        print(f"torchaudio: import fails, and not on its native library: {error}", file=sys.stderr)
        return 1
    aside = lib / "native-disabled"
    aside.mkdir(exist_ok=True)
    for path in native:
        path.rename(aside / path.name)
    ok, still = _imports()
    if not ok:
        print(f"torchaudio: still fails without its native library: {still}", file=sys.stderr)
        return 1
    print(
        f"torchaudio: its native extension does not match this torch ({error}); moved "
        f"{len(native)} libraries to {aside}, pure-Python torchaudio imports (all pyannote uses)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
