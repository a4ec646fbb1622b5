"""Find a model file, check it in Python and read its contract: the only way a file reaches an interpreter.

``open_model_file`` reads the file once, checks its structure (runtime/file_structure.py), reads the
contract embedded in it and checks the contract's digest over the bytes read (runtime/contract.py).
The interpreter is then given those same bytes, never the path, so what runs is what was checked.
The kind of file (TFLite or ONNX) is read from its content, not its name: a renamed copy, a symlink or
a file copied on its own runs exactly as the shipped folder does. ``manifest.json`` is never read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ulde.runtime.contract import DIGEST_PREFIX, ModelContract, contract_from_json, digest_span, file_digest, sha256
from ulde.runtime.errors import ModelFileError
from ulde.runtime.file_structure import check_onnx, check_tflite, is_tflite
from ulde.runtime.probe import probe

SHIPPED_FOLDER = "models"
DEFAULT_MODEL = "ulde_int8_host.tflite"
"""The default model: fully-int8 TFLite, int8 input/output, in the host graph form that XNNPACK runs
fastest; ``ulde_int8.tflite`` beside it is the same model in the form for TFLite Micro (identical outputs)."""
LOW_LATENCY_MODEL = "ulde_int8_host_low_latency.tflite"
"""The shipped low-latency (overlap-save) int8 model, run by ``low_latency=True`` (host graph form)."""
MAX_MODEL_BYTES = 64 << 20
"""Larger files are refused before they are read (ulde's models are tens of kB)."""


@dataclass(frozen=True)
class ModelFile:
    """A checked model file: its bytes, its format ("tflite" or "onnx") and the contract it runs under."""

    path: Path
    data: bytes
    format: str
    contract: ModelContract
    embedded: bool  # the contract came from the file (else the caller passed it)


def shipped_model(name: str = DEFAULT_MODEL) -> Path:
    """Path of a model shipped in ``ulde.runtime``'s package data (it may not exist)."""
    return Path(__file__).resolve().parent / SHIPPED_FOLDER / name  # package data beside this module


def resolve_model(model: str | os.PathLike | None) -> Path:
    """The model path for ``model`` (None = the shipped int8 TFLite); FileNotFoundError if absent."""
    path = shipped_model() if model is None else Path(model).expanduser()
    if not path.is_file():
        hint = (f"the shipped model is missing from this install: pass model=PATH, or run `ulde-export` "
                f"and copy its files into {path.parent}") if model is None else "check the path"
        raise FileNotFoundError(f"model file {path} does not exist; {hint}")
    return path


def read_checked(path: Path) -> tuple[bytes, str, tuple[int, int] | None]:
    """(bytes, format, span of the embedded contract JSON or None) of a structurally sound model file."""
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise ModelFileError(f"model {path} is {size} bytes; ulde refuses model files over {MAX_MODEL_BYTES} bytes")
    data = path.read_bytes()
    suffix = path.suffix.lower()
    kind = "TFLite" if is_tflite(data) or suffix == ".tflite" else "ONNX" if suffix == ".onnx" else "TFLite or ONNX"
    try:
        if is_tflite(data):
            return data, "tflite", check_tflite(data)
        if suffix == ".tflite":
            raise ModelFileError("no 'TFL3' identifier at byte 4")
        return data, "onnx", check_onnx(data)
    except ModelFileError as exc:
        raise ModelFileError(f"model {path} is not a valid {kind} file: {exc}") from None


def embedded_contract(data: bytes, span: tuple[int, int] | None, where: str) -> ModelContract | None:
    """The contract in ``data`` (None if it carries none), its digest checked against the bytes."""
    if span is None:
        return None
    try:
        contract = contract_from_json(data[span[0] : span[1]])
    except ModelFileError as exc:
        raise ModelFileError(f"model {where}: {exc}") from None
    if contract.digest is None:
        raise ModelFileError(f"model {where}: its contract carries no digest (not sealed by ulde-export)")
    found = file_digest(data, digest_span(data, *span))
    if found != contract.digest:
        raise ModelFileError(f"model {where} was changed after export: its content digest is {found}, its contract "
                             f"says {contract.digest}; re-export it or restore the original file")
    return contract


def open_model_file(model: str | os.PathLike | None, contract: ModelContract | None = None) -> ModelFile:
    """Read and check a model file (see the module docstring).

    ``contract`` is for a model without an embedded one (a foreign or hand-built file): it is used as
    given. Its digest, if set, must be the file's SHA-256; if not, the file is first loaded and run
    once in a child process (runtime/probe.py). For a file that carries a contract it may be omitted;
    if given, its terms must equal the embedded ones.
    """
    path = resolve_model(model)
    data, kind, span = read_checked(path)
    found = embedded_contract(data, span, str(path))
    if found is not None:
        if contract is not None and contract.unpinned() != found.unpinned():
            raise ModelFileError(f"model {path} carries its own contract, which differs from the one passed: "
                                 f"file {found.to_json()} vs given {contract.to_json()}")
        return ModelFile(path, data, kind, found, embedded=True)
    if contract is None:
        raise ModelFileError(
            f"model {path} carries no ulde model contract (sample rate, window, input conditioning, output rule), "
            "so it cannot be run safely: export it with ulde-export, or pass contract=ModelContract(...) "
            "stating them (ulde.runtime.ModelContract)")
    if contract.digest is not None and contract.digest != DIGEST_PREFIX + sha256(data).hexdigest():
        raise ModelFileError(f"model {path}: its SHA-256 is not the digest of the contract passed ({contract.digest})")
    if contract.digest is None:
        probe(path, kind)  # nothing vouches for these bytes: try them in a child process first
    return ModelFile(path, data, kind, contract, embedded=False)


def read_contract(model: str | os.PathLike | None = None) -> ModelContract:
    """The contract embedded in a model file (checked); ModelFileError if it has none."""
    return open_model_file(model).contract
