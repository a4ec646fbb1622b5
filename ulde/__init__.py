"""ulde: ECG denoising for the edge (ULde-net, int8 export, torch-free streaming runtime).

``ulde.__version__`` is read from the installed package's metadata on first use, so that importing
the runtime does not load ``importlib.metadata`` (and the email, zipfile and csv modules it brings).
"""


def __getattr__(name: str):
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("ulde")
        except PackageNotFoundError:  # running from a source tree that was never installed
            return "0.0.0+unknown"
    raise AttributeError(f"module 'ulde' has no attribute {name!r}")
