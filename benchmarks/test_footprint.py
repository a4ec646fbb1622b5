"""What ships: file sizes, the TFLite Micro arena, parameters and MACs, and that the manifest describes them.

Sizes are the files' own; the arena is the one the exporter measured in TFLite Micro and wrote to
manifest.json (``micro.arena_bytes``); parameters and MACs are counted on the checkpoint (ptflops).
Gates: the MCU graph's file and its arena (benchmarks/bounds.py).
"""

from __future__ import annotations

from benchmarks.bounds import MCU_ARENA_MAX_BYTES, MCU_INT8_FILE_MAX_BYTES
from benchmarks.collector import require
from benchmarks.contenders import exported_models
from ulde.export.tflite_graph import byte_budget
from ulde.model.checkpoint import file_sha256


def test_model_footprint_and_manifest(artefacts, checkpoint, network, results):
    """Record sizes, arena, parameters and MACs; the manifest's hashes and checkpoint must match the files."""
    from ulde.model.complexity import complexity

    manifest = artefacts.manifest
    files = {path.name: path for path in exported_models(artefacts).values()}
    described = manifest.get("artefacts", {})
    stale = [name for name, path in files.items() if described.get(name, {}).get("sha256") != file_sha256(path)]
    exported_from = manifest.get("checkpoint", {}).get("sha256")
    counts = complexity(network)
    arena = manifest.get("micro", {}).get("arena_bytes")
    results.record("footprint", {
        "files": {name: {"bytes": path.stat().st_size} for name, path in files.items()},
        "tflm_arena_bytes": arena, "params": counts["params"], "params_folded": counts["params_folded"],
        "macs_per_window": counts["macs"], "checkpoint": checkpoint.name,
        "checkpoint_is_the_exported_one": exported_from == file_sha256(checkpoint),
        "files_not_matching_manifest": stale,
        "byte_budget": {path.name: byte_budget(path.read_bytes()) for path in (artefacts.mcu_int8_tflite, artefacts.int8_tflite)},
        "tflm_arena": {k: v for k, v in manifest.get("micro", {}).items() if k.startswith("arena_")},
    })
    assert not stale, (f"{', '.join(stale)} in {artefacts.folder} differ from manifest.json's sha256: "
                       "re-export, do not copy files by hand")
    assert exported_from == file_sha256(checkpoint), (
        f"checkpoint {checkpoint} is not the one the models were exported from (manifest checkpoint sha256 "
        f"{exported_from}): the torch reference would measure another network; set ULDE_BENCH_CKPT")
    assert isinstance(arena, int) and arena > 0, "manifest.json lacks micro.arena_bytes (the TFLite Micro arena)"
    require(results.gate(f"{artefacts.mcu_int8_tflite.name} file size (the MCU graph)", artefacts.mcu_int8_tflite.stat().st_size,
                         "<=", MCU_INT8_FILE_MAX_BYTES, "B"),
            results.gate(f"{artefacts.mcu_int8_tflite.name} TFLite Micro arena (export manifest)", arena, "<=", MCU_ARENA_MAX_BYTES, "B"))
