"""Networks for tests that check a rewrite of the network (the Conv2d twin, the fused inference form)."""

from __future__ import annotations

import torch
from torch import nn

from ulde.model.networks import UNetConfig, build


def randomized(config: UNetConfig, seed: int = 7) -> nn.Module:
    """A network with random weights and non-trivial BatchNorm statistics, as after training, in eval mode."""
    torch.manual_seed(seed)
    net = build(config)
    for module in net.modules():
        if isinstance(module, nn.BatchNorm1d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return net.eval()
