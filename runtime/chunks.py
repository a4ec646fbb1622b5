"""Check and convert one input chunk before any state changes (the boundary of the runtime).

A chunk is (n,) for one lead or (n, leads) with time first, float32 or float64, in mV, finite and
within float32's range. It is kept in its own dtype until the input conditioning has removed each
frame's offset, in float64 (runtime/normalization.py), so a DC offset of hundreds of mV costs a float64
input no precision.
Every failure raises TypeError/ValueError with what was expected, what was got and a hint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FLOAT32_MAX = float(np.finfo(np.float32).max)
"""Samples beyond this would become inf in the float32 network input: refused like NaN."""
LIKELY_TRANSPOSED_LEADS = 16
"""More 'leads' than this in a (n, leads) chunk probably means a (leads, n) array was passed."""


@dataclass(frozen=True)
class Layout:
    """The shape convention of a stream: ``ndim`` 1 ((n,) chunks) or 2 ((n, leads)), and the lead count."""

    ndim: int
    leads: int

    def describe(self) -> str:
        return "(n,) one lead" if self.ndim == 1 else f"(n, {self.leads}) {self.leads} lead(s)"


def as_samples(chunk, expected: Layout | None) -> tuple[np.ndarray, Layout]:
    """(leads, n) C-contiguous samples of ``chunk`` in its dtype (a view where the layout allows, so
    only read it) and its layout; raises without side effects if invalid."""
    array = _float_array(chunk)
    if array.ndim not in (1, 2):
        raise ValueError(
            f"expected a chunk of shape (n,) for one lead or (n, leads) with time first, got shape {array.shape}"
        )
    layout = Layout(array.ndim, 1 if array.ndim == 1 else array.shape[1])
    if layout.leads < 1:
        raise ValueError(f"a (n, leads) chunk needs at least one lead, got shape {array.shape}")
    if expected is not None and layout != expected:
        raise ValueError(
            f"this stream has {expected.describe()}, got a chunk of shape {array.shape}; the lead count cannot "
            "change mid-stream: call flush() (or reset()) first, or use one StreamingDenoiser per layout"
        )
    if expected is None and layout.ndim == 2 and layout.leads > LIKELY_TRANSPOSED_LEADS >= array.shape[0]:
        raise ValueError(
            f"got shape {array.shape}: {layout.leads} leads of {array.shape[0]} samples; chunks are (n, leads) "
            "with time first: did you mean to pass array.T?"
        )
    samples = np.ascontiguousarray(array.reshape(array.shape[0], layout.leads).T)  # (leads, n)
    bad = _unrepresentable(samples)
    if bad is not None:
        lead, index = np.argwhere(bad)[0]
        raise ValueError(
            f"chunk holds {int(bad.sum())} non-finite value(s) (NaN/inf, or beyond float32 range); the first at "
            f"sample {index} of this chunk, lead {lead}; interpolate or zero gaps before denoising"
        )
    return samples, layout


def as_windows(windows, window: int) -> np.ndarray:
    """(n, T) float64 copy of ``windows`` checked as a chunk is: float32/float64, finite, T = ``window``."""
    array = _float_array(windows)
    if array.ndim != 2 or array.shape[1] != window:
        raise ValueError(f"expected windows of shape (n, {window}) (n windows of the model's {window} samples), "
                         f"got shape {array.shape}")
    samples = array.astype(np.float64)
    bad = _unrepresentable(samples)
    if bad is not None:
        row, index = np.argwhere(bad)[0]
        raise ValueError(f"windows hold {int(bad.sum())} non-finite value(s) (NaN/inf, or beyond float32 range); "
                         f"the first at sample {index} of window {row}; interpolate or zero gaps before denoising")
    return samples


def as_levels(values, count: int, name: str) -> np.ndarray:
    """(count, 1) float64 copy of one part of a window's conditioning levels, checked as windows are."""
    array = _float_array(values)
    if array.shape != (count, 1):
        raise ValueError(f"expected {name} of shape ({count}, 1), one per window, got shape {array.shape}")
    samples = array.astype(np.float64)
    if _unrepresentable(samples) is not None:
        raise ValueError(f"{name} hold non-finite values (NaN/inf, or beyond float32 range)")
    return samples


def _float_array(values) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype not in (np.float32, np.float64):
        raise TypeError(
            f"expected float32 or float64 samples in mV, got dtype {array.dtype}; convert first, e.g. "
            "wfdb's p_signal (physical units) or (adc - baseline) / gain, as float32"
        )
    return array


def _unrepresentable(samples: np.ndarray) -> np.ndarray | None:
    """Mask of the samples the float32 network input cannot hold (NaN/inf, or beyond float32's range),
    or None if there are none. Valid samples are confirmed without a mask: a sum is finite only if
    every term is (NaN and inf propagate); an overflowing sum only sends them to the exact check."""
    with np.errstate(over="ignore", invalid="ignore"):
        finite_sum = bool(np.isfinite(np.add.reduce(samples, axis=None)))
    if finite_sum and (samples.dtype == np.float32 or not samples.size or max(samples.max(), -samples.min()) <= FLOAT32_MAX):
        return None
    bad = ~np.isfinite(samples)
    if not bad.any():
        bad = np.abs(samples) > FLOAT32_MAX
    return bad if bad.any() else None
