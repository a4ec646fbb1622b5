"""Parameter and multiply-accumulate counts of a network per window (3600 samples unless asked) (ptflops)."""

from __future__ import annotations

import torch
from ptflops import get_model_complexity_info

from ulde.model.networks import UNet1d
from ulde.runtime.signal_spec import WINDOW_SAMPLES


def complexity(model: UNet1d, window: int = WINDOW_SAMPLES) -> dict[str, int]:
    """Trainable parameters, parameters after folding BatchNorm into the convs (what ships), MACs and
    FLOPs (= 2 * MACs) for one ``window``-sample window, counted by ptflops' aten backend."""
    params = sum(p.numel() for p in model.parameters())
    batchnorm_channels = sum(m.num_features for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d))
    was_training = model.training
    macs, _ = get_model_complexity_info(
        model.eval(), (1, window), as_strings=False, print_per_layer_stat=False, backend="aten"
    )
    model.train(was_training)
    # Folding BN into its conv turns 2 parameters per channel (scale, shift) into 1 bias.
    return {"params": params, "params_folded": params - batchnorm_channels, "macs": int(macs), "flops": 2 * int(macs)}
