"""ulde: ECG denoising for the edge (ULde-net, int8 export, torch-free streaming runtime)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ulde")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
