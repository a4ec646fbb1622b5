"""Data-parallel training across processes started by ``torchrun`` (PyTorch DistributedDataParallel).

Every process draws the same global batch (the training rng has the same seed everywhere) and trains
on its own contiguous share of the rows; DDP averages the gradients, so N processes take the step one
process takes on the whole batch. BatchNorm: on GPUs (nccl) the layers become SyncBatchNorm and
normalize over the global batch; on CPUs (gloo) SyncBatchNorm does not exist, so each process
normalizes over its share, which one process reproduces exactly with ``micro_batches = N`` (the same
shares, one forward pass each, gradients averaged). Validation, logs and checkpoints are the first
process's; it broadcasts each epoch's outcome so that every process stops together.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def ranks_from_env() -> Ranks:
    """The process's rank and the world size as torchrun sets them (1 process without torchrun)."""
    return Ranks(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)))


@contextmanager
def process_group(ranks: Ranks):
    """Join the torchrun process group for the duration (nothing to join for one process)."""
    if ranks.world == 1 or dist.is_initialized():
        yield
        return
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    try:
        yield
    finally:
        dist.destroy_process_group()


def wrap(module: nn.Module, ranks: Ranks) -> nn.Module:
    """``module`` under DistributedDataParallel when there are several processes, else itself."""
    if ranks.world == 1:
        return module
    if torch.cuda.is_available():
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
    return nn.parallel.DistributedDataParallel(module)


def shares(batch_size: int, ranks: Ranks, micro_batches: int) -> list[slice]:
    """The rows of the global batch this process trains on, one slice per forward pass."""
    parts = ranks.world * micro_batches
    if batch_size % parts:
        raise ValueError(f"batch size {batch_size} must be a multiple of processes x micro-batches ({parts})")
    size = batch_size // parts
    return [slice((ranks.rank * micro_batches + k) * size, (ranks.rank * micro_batches + k + 1) * size) for k in range(micro_batches)]


def from_main(value, ranks: Ranks):
    """The first process's ``value`` on every process."""
    if ranks.world == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(ranks: Ranks) -> None:
    if ranks.world > 1:
        dist.barrier()
