"""The model contract written into an ONNX file's ``metadata_props`` and sealed (onnx only, no torch)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import onnx

from ulde.runtime.contract import CONTRACT_KEY, UNSEALED_DIGEST, ModelContract, digest_span, seal
from ulde.runtime.file_structure import check_onnx


def embed_onnx_contract(path: Path, contract: ModelContract) -> None:
    """Write ``contract`` into the ONNX file's ``metadata_props`` (replacing any) and seal its digest."""
    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if p.key != CONTRACT_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    model.metadata_props.add(key=CONTRACT_KEY, value=replace(contract, digest=UNSEALED_DIGEST).to_json())
    data = model.SerializeToString()
    path.write_bytes(seal(data, digest_span(data, *check_onnx(data))))
