"""Per-channel range equalization of the downsampling outputs, applied to the inference form at export.

int8 TFLite stores each activation tensor with one scale for all its channels. The strided depthwise
conv of each level has no activation after it, so its output keeps the signed, lopsided ranges its
folded BatchNorm gives each channel; the narrow channels get a fraction of the int8 levels, and
rounding that one tensor was the largest single int8 error (docs/model.md, "Measurements behind the
export's design", gives the ranges).

Each such output feeds only the next level's grouped conv, through no activation, so scaling output
channel c by a factor s_c (the depthwise kernel and bias of that channel) and the grouped conv's
input channel c by 1 / s_c computes the same function, exactly up to float rounding (as in the
cross-layer equalization of Nagel et al., "Data-free quantization", ICCV 2019, without the
activation in between). s_c is chosen on the calibration windows: its sign turns the channel's wider
side positive, its size stretches that side to the tensor's widest.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ulde.model.networks import UNet1d


def equalize_downsampling(network: UNet1d, calibration: torch.Tensor) -> UNet1d:
    """A copy of ``network`` (eval mode, the inference form) whose depthwise downsampling outputs are
    equalized per channel over ``calibration`` ((n, 1, T) network inputs); the network itself if its
    levels downsample by max-pooling (no weights to scale)."""
    if network.config.downsampling != "depthwise":
        return network
    equalized = copy.deepcopy(network).eval()
    for down in equalized.downs:
        down.conv = fuse_conv_bn_eval(*(m.eval() for m in down.conv))  # one conv whose rows can be scaled
    low, high = _channel_ranges(equalized, [down.conv for down in equalized.downs], calibration)
    with torch.no_grad():
        for i, down in enumerate(equalized.downs):
            scale = channel_factors(low[i], high[i])
            down.conv.weight.mul_(scale[:, None, None])
            down.conv.bias.mul_(scale)
            _divide_input_channels(equalized.encoders[i + 1].grouped[0], scale)
    return equalized


def channel_factors(low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """s_c per channel from its observed [low_c, high_c]: sign(wider side) * widest / wider side_c."""
    wider = torch.maximum(high, -low)
    sign = torch.where(high >= -low, 1.0, -1.0)
    live = wider > 0  # a channel that is zero on every calibration window stays as it is
    factor = torch.where(live, wider.max() / torch.where(live, wider, 1.0), 1.0)
    return sign * factor


def _divide_input_channels(conv: nn.Conv1d, scale: torch.Tensor) -> None:
    """Divide the weights that read input channel c by scale[c] (grouped weights are (out, in/groups, k))."""
    per_group_in, per_group_out = conv.in_channels // conv.groups, conv.out_channels // conv.groups
    for c, s in enumerate(scale):
        group, local = divmod(c, per_group_in)
        conv.weight[group * per_group_out : (group + 1) * per_group_out, local] /= s


@torch.no_grad()
def _channel_ranges(network: UNet1d, modules: list[nn.Module], calibration: torch.Tensor) -> tuple[list, list]:
    """Per module, the per-channel min and max of its output over the calibration windows."""
    low, high = [None] * len(modules), [None] * len(modules)

    def observer(i):
        def record(module, inputs, output):
            lo, hi = output.amin(dim=(0, 2)), output.amax(dim=(0, 2))
            low[i] = lo if low[i] is None else torch.minimum(low[i], lo)
            high[i] = hi if high[i] is None else torch.maximum(high[i], hi)
        return record

    handles = [m.register_forward_hook(observer(i)) for i, m in enumerate(modules)]
    try:
        for batch in calibration.split(64):
            network(batch)
    finally:
        for handle in handles:
            handle.remove()
    return low, high
