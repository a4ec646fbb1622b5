"""The model contract: everything a program needs to run a ulde model file, carried inside that file.

A ``ModelContract`` states the sample rate, the window, the framing (overlap-add with a recommended
hop, or overlap-save with its hop and kept span, runtime/framing.py) and its latency, the input conditioning
and the span it is taken over (runtime/normalization.py), what the output tensor holds and how it becomes ECG, the int8/float
encoding of the input and output tensors, and a digest of the file. ``ulde-export`` writes it as JSON
into every model file (TFLite: a metadata entry named ``CONTRACT_KEY`` whose buffer holds the JSON;
ONNX: a ``metadata_props`` entry of the same key); the runtime reads it from the file alone
(runtime/model_file.py), never from ``manifest.json``.

The digest is ``sha256:`` and the SHA-256 of the whole file with the digest's 64 hex digits replaced by
``0`` characters (``seal`` writes it, ``file_digest`` recomputes it). It therefore covers every byte of
the file, the contract's own fields included: any byte changed anywhere, or a truncation, is a
mismatch, found before any native interpreter reads the file.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace

from ulde.runtime.errors import ModelFileError

try:  # CPython's own SHA-256: hashlib's would load OpenSSL's libcrypto, 3.5 MiB of resident memory
    from _sha256 import sha256  # Python 3.11
except ImportError:
    try:
        from _sha2 import sha256  # Python 3.12 and later
    except ImportError:
        from hashlib import sha256
from ulde.runtime.framing import FRAMINGS, OVERLAP_ADD, OVERLAP_SAVE, framing_latency
from ulde.runtime.normalization import NORMALIZATION_MODES, NORMALIZATION_RULES, PEAK_FLOOR_MV

CONTRACT_FORMAT = "ulde-model-contract/1"
CONTRACT_KEY = "ulde_contract"
"""Name of the TFLite metadata entry / ONNX metadata_props key that holds the contract JSON."""
DIGEST_PREFIX = "sha256:"
DIGEST_HEX_DIGITS = 64
UNSEALED_DIGEST = DIGEST_PREFIX + "0" * DIGEST_HEX_DIGITS
"""The digest field as it is while the digest is computed (and in a contract not yet sealed)."""

OUTPUT_KINDS = {
    "noise_estimate": "denoised = network input - output, then multiplied by the conditioning scale s",
    "signal": "denoised = output, then multiplied by the conditioning scale s",
}
TENSOR_DTYPES = ("float32", "int8", "uint8")


@dataclass(frozen=True)
class TensorEncoding:
    """How real values (network units) map to one I/O tensor: real = (q - zero_point) * scale for an
    integer tensor; float32 tensors carry real values (scale and zero point None)."""

    dtype: str
    scale: float | None = None
    zero_point: int | None = None

    def __post_init__(self):
        if self.dtype not in TENSOR_DTYPES:
            raise ModelFileError(f"tensor dtype {self.dtype!r} is not one of {TENSOR_DTYPES}")
        if self.dtype == "float32":
            if self.scale is not None or self.zero_point is not None:
                raise ModelFileError("a float32 tensor has no scale or zero point")
            return
        if not (isinstance(self.scale, float) and math.isfinite(self.scale) and self.scale > 0):
            raise ModelFileError(f"{self.dtype} tensor needs a finite positive scale, got {self.scale!r}")
        low, high = (-128, 127) if self.dtype == "int8" else (0, 255)
        if not (isinstance(self.zero_point, int) and low <= self.zero_point <= high):
            raise ModelFileError(f"{self.dtype} tensor needs an integer zero point in [{low}, {high}], got {self.zero_point!r}")


@dataclass(frozen=True)
class ModelContract:
    """What a model file promises and what running it requires (see the module docstring)."""

    sample_rate_hz: float
    window_samples: int
    recommended_hop_samples: int
    input_conditioning: str  # a mode of runtime/normalization.py
    output_kind: str  # a key of OUTPUT_KINDS
    input_tensor: TensorEncoding
    output_tensor: TensorEncoding
    peak_floor_mv: float = PEAK_FLOOR_MV
    framing: str = OVERLAP_ADD  # overlap-save: the hop is fixed and each frame keeps outputs
    kept_start_samples: int = 0  # kept_start .. kept_start + hop - 1 (0 for overlap-add)
    latency_samples: int | None = None  # stated by the exporter: window - 1 - kept_start (checked)
    conditioning_span_samples: int | None = None  # the conditioning's levels (mean, peak) are taken over the
    # stream's last N samples up to each frame's end (runtime/normalization.py); None: the frame itself
    digest: str | None = None  # None: not pinned to a file (a contract passed by hand may omit it)
    format: str = field(default=CONTRACT_FORMAT)

    def __post_init__(self):
        if self.format != CONTRACT_FORMAT:
            raise ModelFileError(f"contract format {self.format!r}; this runtime reads {CONTRACT_FORMAT!r}")
        rate = self.sample_rate_hz
        if isinstance(rate, bool) or not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
            raise ModelFileError(f"contract sample_rate_hz must be a finite positive number, got {rate!r}")
        object.__setattr__(self, "sample_rate_hz", float(rate))  # one type, whether written as 360 or 360.0
        for name in ("window_samples", "recommended_hop_samples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ModelFileError(f"contract {name} must be a positive integer, got {value!r}")
        if self.recommended_hop_samples > self.window_samples:
            raise ModelFileError(f"contract hop {self.recommended_hop_samples} exceeds its window {self.window_samples}")
        self._check_framing()
        if self.input_conditioning not in NORMALIZATION_MODES:
            raise ModelFileError(f"contract input_conditioning {self.input_conditioning!r} is not one this runtime "
                                 f"implements {NORMALIZATION_MODES}")
        self._check_conditioning_span()
        if self.peak_floor_mv != PEAK_FLOOR_MV:
            raise ModelFileError(f"contract peak floor {self.peak_floor_mv} mV; this runtime implements {PEAK_FLOOR_MV} mV")
        if self.output_kind not in OUTPUT_KINDS:
            raise ModelFileError(f"contract output_kind {self.output_kind!r}; expected one of {sorted(OUTPUT_KINDS)}")
        if self.digest is not None and not _is_digest(self.digest):
            raise ModelFileError(f"contract digest {self.digest!r} is not 'sha256:' and 64 lowercase hex digits")

    def _check_framing(self) -> None:
        if self.framing not in FRAMINGS:
            raise ModelFileError(f"contract framing {self.framing!r}; this runtime implements {FRAMINGS}")
        kept = self.kept_start_samples
        if isinstance(kept, bool) or not isinstance(kept, int):
            raise ModelFileError(f"contract kept_start_samples must be an integer, got {kept!r}")
        if self.framing == OVERLAP_ADD and kept != 0:
            raise ModelFileError(f"an overlap-add contract keeps every output (kept_start_samples 0), got {kept}")
        if self.framing == OVERLAP_SAVE and not 1 <= kept <= self.window_samples - self.recommended_hop_samples:
            raise ModelFileError(f"contract kept span {kept} .. {kept + self.recommended_hop_samples - 1} does not lie "
                                 f"inside its {self.window_samples}-sample window after its first sample")
        stated, derived = self.latency_samples, self.framing_latency_samples
        if stated is not None and stated != derived:
            raise ModelFileError(f"contract latency_samples {stated!r} contradicts its framing (window - 1 - kept start = {derived})")

    @property
    def framing_latency_samples(self) -> int:
        """The latency its framing gives (runtime/framing.py), whether or not the contract states it."""
        return framing_latency(self.window_samples, self.kept_start_samples)

    def _check_conditioning_span(self) -> None:
        span = self.conditioning_span_samples
        if span is None:
            return
        if isinstance(span, bool) or not isinstance(span, int) or span < self.window_samples:
            raise ModelFileError(f"contract conditioning_span_samples must be an integer of at least the window "
                                 f"({self.window_samples}), got {span!r}")
        if span != self.window_samples and self.input_conditioning != "mean-peak":
            raise ModelFileError(f"contract conditioning_span_samples {span} applies to the 'mean-peak' conditioning, "
                                 f"not {self.input_conditioning!r}")

    @property
    def conditioning_span(self) -> int:
        """Samples the conditioning's levels are taken over, up to each frame's end (the window, unless stated)."""
        return self.window_samples if self.conditioning_span_samples is None else self.conditioning_span_samples

    @property
    def low_latency(self) -> bool:
        """Whether the file is a low-latency (overlap-save) model."""
        return self.framing == OVERLAP_SAVE

    @property
    def outputs_noise(self) -> bool:
        return self.output_kind == "noise_estimate"

    def rules(self) -> dict[str, str]:
        """The conditioning and output rules in words (for manifests, headers and docs)."""
        return {"input_conditioning": NORMALIZATION_RULES[self.input_conditioning], "output": OUTPUT_KINDS[self.output_kind]}

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces): what is embedded in a model file."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    def unpinned(self) -> ModelContract:
        """The same contract without a digest (to compare two contracts' terms)."""
        return replace(self, digest=None)


def contract_from_json(text: bytes | str) -> ModelContract:
    """Parse an embedded contract; ModelFileError naming what is wrong."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"the model's contract is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ModelFileError("the model's contract is not a JSON object")
    try:
        tensors = {key: TensorEncoding(**data.pop(key)) for key in ("input_tensor", "output_tensor")}
        return ModelContract(**data, **tensors)
    except (TypeError, KeyError, AttributeError) as exc:
        raise ModelFileError(f"the model's contract has missing or unknown fields ({exc})") from exc


def _is_digest(text) -> bool:
    hex_part = text[len(DIGEST_PREFIX):] if isinstance(text, str) and text.startswith(DIGEST_PREFIX) else ""
    return len(hex_part) == DIGEST_HEX_DIGITS and all(c in "0123456789abcdef" for c in hex_part)


def digest_span(data: bytes, contract_start: int, contract_end: int) -> tuple[int, int]:
    """(start, end) in ``data`` of the 64 hex digits of the digest inside the contract JSON that occupies
    data[contract_start:contract_end]; ModelFileError if the contract has no digest field."""
    marker = b'"digest":"' + DIGEST_PREFIX.encode()
    at = data.find(marker, contract_start, contract_end)
    if at < 0:
        raise ModelFileError("the model's contract carries no digest")
    start = at + len(marker)
    return start, start + DIGEST_HEX_DIGITS


def file_digest(data: bytes, span: tuple[int, int]) -> str:
    """The digest of a file whose digest digits lie at ``span`` (see the module docstring)."""
    start, end = span
    hasher = sha256()
    hasher.update(memoryview(data)[:start])
    hasher.update(b"0" * (end - start))
    hasher.update(memoryview(data)[end:])
    return DIGEST_PREFIX + hasher.hexdigest()


def seal(data: bytes, span: tuple[int, int]) -> bytes:
    """``data`` with its digest digits (at ``span``, currently ``UNSEALED_DIGEST``'s) written in."""
    start, end = span
    if data[start:end] != b"0" * DIGEST_HEX_DIGITS:
        raise ValueError("seal expects a contract whose digest is UNSEALED_DIGEST")
    digits = file_digest(data, span)[len(DIGEST_PREFIX):].encode()
    return data[:start] + digits + data[end:]
