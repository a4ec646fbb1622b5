"""Session fixtures of the release benchmarks: the artefacts under test, the test windows, the results file.

Every test records its figures into one session-wide ``Results``; at the end of the session they are
written to benchmarks/results/latest.json and latest.md, and, after a complete run on the shipped
models, into README.md's numbers block.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from benchmarks.environment import load_average, pin_threads

pin_threads()  # before numpy / torch / onnxruntime start their thread pools

import pytest  # noqa: E402

from benchmarks.artefacts import MissingArtefactError, find_artefacts, find_checkpoint  # noqa: E402
from benchmarks.collector import Results, failed, write_atomically, write_json  # noqa: E402
from tests.support import private_cache  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPO_ROOT = RESULTS_DIR.parent.parent


def _shown(path: Path) -> str:
    """A path relative to the repository when inside it (results are committed), else absolute."""
    path = Path(path).resolve()
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)
RESULTS_KEY = pytest.StashKey[Results]()
DOCUMENT_KEY = pytest.StashKey[dict]()
PATHS_KEY = pytest.StashKey[list]()


def _or_fail(find):
    try:
        return find()
    except MissingArtefactError as exc:
        message = str(exc)
    pytest.fail(message, pytrace=False)  # outside the except block: one clean line, no chained traceback


@pytest.fixture(scope="session")
def artefacts():
    """The exported models under test (shipped, or $ULDE_BENCH_MODELS); fails the test when absent."""
    return _or_fail(find_artefacts)


@pytest.fixture(scope="session")
def checkpoint() -> Path:
    """The checkpoint the models were exported from (shipped student, or $ULDE_BENCH_CKPT)."""
    return _or_fail(find_checkpoint)


@pytest.fixture(scope="session")
def network(checkpoint):
    """The torch eager reference, on one thread."""
    import torch

    from ulde.model.checkpoint import load_model

    torch.set_num_threads(1)
    return load_model(checkpoint)[0]


@pytest.fixture(scope="session")
def eval_cache(tmp_path_factory):
    """Evaluation-set caches go to a per-session folder, never the user's ~/.cache."""
    with private_cache(tmp_path_factory.mktemp("ulde-cache")):
        yield


@pytest.fixture(scope="session")
def eval_data(eval_cache):
    from benchmarks.datasource import load_eval_data

    return load_eval_data()


@pytest.fixture(scope="session")
def signal(eval_data):
    """Two minutes of real noisy ECG in mV, float32 (a minute plus room for the frames that cover it)."""
    from benchmarks.datasource import real_signal
    from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

    return real_signal(eval_data, 2 * 60 * SAMPLE_RATE_HZ)


def _models_description() -> dict:
    try:
        found = find_artefacts()
        models = {"origin": found.origin, "folder": _shown(found.folder),
                  "commit": found.manifest.get("commit"), "checkpoint_sha256": found.manifest.get("checkpoint", {}).get("sha256")}
    except MissingArtefactError:
        models = {"origin": "missing"}
    try:
        models["torch_checkpoint"] = _shown(find_checkpoint())
    except MissingArtefactError:
        models["torch_checkpoint"] = "missing"
    return models


@pytest.fixture(scope="session")
def results(request):
    """The session's results; written to benchmarks/results/ (and the README block) at the end."""
    from benchmarks import readme_numbers, report_md
    from benchmarks.environment import describe

    started, load_at_start = datetime.now(timezone.utc), load_average()
    collected = Results()
    request.config.stash[RESULTS_KEY] = collected
    yield collected
    if not collected.sections:
        return  # nothing measured (e.g. the artefacts are missing): keep the previous results
    models = _models_description()
    document = collected.document(describe(started, load_at_start, models))
    RESULTS_DIR.mkdir(exist_ok=True)
    write_json(document, RESULTS_DIR / "latest.json")
    write_atomically(RESULTS_DIR / "latest.md", report_md.render(document))
    written = [RESULTS_DIR / "latest.json", RESULTS_DIR / "latest.md"]
    if document["complete"] and models["origin"] == "shipped":
        readme_numbers.update_readme(document)
        written.append(readme_numbers.README)
    request.config.stash[PATHS_KEY] = written
    request.config.stash[DOCUMENT_KEY] = document


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    collected = config.stash.get(RESULTS_KEY, None)
    if collected is None:
        return
    terminalreporter.section("ulde benchmarks")
    document = config.stash.get(DOCUMENT_KEY, None)
    if document is not None:
        env = document["environment"]
        terminalreporter.write_line(f"{env['machine']['cpu']}, load {env['machine']['load_average_start']}; threads: "
                                    + ", ".join(f"{k} {v}" for k, v in env["threads"].items())
                                    + f"; models: {env['models']['origin']} ({env['models'].get('folder')})")
    for gate in collected.gates:
        terminalreporter.write_line(gate.message)
    for path in config.stash.get(PATHS_KEY, []):
        terminalreporter.write_line(f"wrote {path}")
    if not collected.complete:
        terminalreporter.write_line("partial run: README numbers block left unchanged")
    elif document is not None and document["environment"]["models"]["origin"] != "shipped":
        terminalreporter.write_line("models from $ULDE_BENCH_MODELS: README numbers block left unchanged")
    if failed(collected.gates):
        terminalreporter.write_line("failing gates: " + failed(collected.gates))
