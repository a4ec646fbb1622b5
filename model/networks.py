"""ULde-net (the student) and its teacher: 1-D U-nets of one family, built from a frozen config.

Shapes are (batch, channels, time); time must be a multiple of TOTAL_STRIDE and is preserved.
Every op converts to fully-int8 TFLite with TFLite-Micro builtin kernels: ReLU or ReLU6 (fuse into convs),
grouped / depthwise-strided Conv1d, ConvTranspose1d, MaxPool1d, Add, Concat; the local minimum is
written as ``maxpool(x * -1) * -1`` because a ``Neg`` op stays float in the int8 converter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch
from torch import nn

from ulde.runtime.signal_spec import NETWORK_LEVELS, TOTAL_STRIDE


ACTIVATIONS = {"relu": nn.ReLU, "relu6": nn.ReLU6}
"""Both fuse into the int8 convolutions and adds (TFLite's RELU / RELU6 fused activations)."""


DOWNSAMPLING = ("depthwise", "maxpool")
"""How each level halves time: a depthwise stride-2 conv (the paper's choice) or a max-pool (ablation)."""
SKIP_MERGES = ("add", "concat")
"""How the decoder merges an encoder skip: added (one tensor per level) or concatenated (ablation)."""


@dataclass(frozen=True)
class UNetConfig:
    """Everything needed to rebuild a network; saved as plain data inside every checkpoint."""

    name: str
    channels: tuple[int, ...]  # per resolution level, full resolution first (NETWORK_LEVELS + 1 entries)
    kernels: tuple[int, ...]  # grouped-conv kernel per level
    groups: tuple[int, ...]  # groups of that conv per level (1 = conventional)
    mix_kernel: int = 3  # kernel of the conventional conv that follows each grouped conv
    extrema_kernel: int = 5  # window of the local max/min module at full resolution (0 = off)
    extrema_bias: bool = True  # False: its mix has no bias, so the exported head absorbs the module exactly (model/fusion.py)
    input_normalization: str = "none"  # "peak": windows are divided by their peak |x| (runtime/normalization.py)
    activation: str = "relu"  # "relu6" bounds every activation: narrower int8 ranges (docs/model.md)
    identity_connections: bool = True  # the identity around each ConvBlock's second conv (ablation: False)
    downsampling: str = "depthwise"  # "depthwise" strided conv, or "maxpool" (ablation), see DOWNSAMPLING
    skip_merge: str = "add"  # how a decoder level takes its encoder skip: "add", or "concat" (ablation)

    def __post_init__(self):
        for field in ("channels", "kernels", "groups"):
            if len(getattr(self, field)) != NETWORK_LEVELS + 1:
                raise ValueError(f"{field} needs {NETWORK_LEVELS + 1} entries, got {getattr(self, field)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation {self.activation!r} is not one of {sorted(ACTIVATIONS)}")
        if self.downsampling not in DOWNSAMPLING:
            raise ValueError(f"downsampling {self.downsampling!r} is not one of {DOWNSAMPLING}")
        if self.skip_merge not in SKIP_MERGES:
            raise ValueError(f"skip_merge {self.skip_merge!r} is not one of {SKIP_MERGES}")
        for c, g in zip(self.channels, self.groups):
            if c % g:
                raise ValueError(f"channels {c} not divisible by groups {g}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "UNetConfig":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


STUDENT = UNetConfig(
    name="ulde-net",
    channels=(4, 8, 12, 12, 16),  # 4 channels at full resolution keep int8 activations at 14.4 KB
    kernels=(9, 9, 9, 7, 5),
    groups=(2, 4, 4, 4, 4),
    input_normalization="mean-peak",  # offsets removed, then every lead amplitude fills the int8 input range
    extrema_bias=False,  # two int8 tensors fewer in the exported graph (model/fusion.py)
)
"""6,205 trainable parameters, 4.96 M MACs per 3600-sample window (ptflops, aten backend)."""

TEACHER = UNetConfig(
    name="teacher-unet",
    channels=(16, 24, 32, 48, 64),
    kernels=(15, 11, 7, 5, 3),
    groups=(1, 1, 1, 1, 1),
    input_normalization="mean-peak",
)
"""110,753 trainable parameters (18x the student), 103.8 M MACs per window: conventional convolutions."""


STUDENT_ABLATIONS = {
    "no-extrema": replace(STUDENT, name="ulde-net-no-extrema", extrema_kernel=0),
    "conventional": replace(STUDENT, name="ulde-net-conventional", groups=(1,) * (NETWORK_LEVELS + 1)),
    "no-identity": replace(STUDENT, name="ulde-net-no-identity", identity_connections=False),
    "maxpool-down": replace(STUDENT, name="ulde-net-maxpool-down", downsampling="maxpool"),
    "concat-skips": replace(STUDENT, name="ulde-net-concat-skips", skip_merge="concat"),
}
"""The student with one of its design choices undone, for the ablations of docs/model.md."""


def conv_bn(c_in: int, c_out: int, kernel: int, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2, groups=groups, bias=False), nn.BatchNorm1d(c_out))


class ConvBlock(nn.Module):
    """A grouped convolution (wide receptive field, few weights) followed by a conventional one that
    mixes the groups, with an identity connection around the second (unless ``identity`` is False)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, groups: int, mix_kernel: int, act: nn.Module,
                 identity: bool = True):
        super().__init__()
        self.grouped = conv_bn(c_in, c_out, kernel, groups)
        self.mix = conv_bn(c_out, c_out, mix_kernel)
        self.act = act
        self.identity = identity

    def forward(self, x):
        h = self.act(self.grouped(x))
        return self.act(self.mix(h) + h) if self.identity else self.act(self.mix(h))


class Down(nn.Module):
    """Depthwise stride-2 convolution: halves time at a cost of 3 weights per channel (``kind``
    "depthwise"), or a weightless stride-2 max-pool (``kind`` "maxpool", the ablation)."""

    def __init__(self, channels: int, kind: str = "depthwise"):
        super().__init__()
        if kind == "maxpool":
            self.conv = nn.MaxPool1d(2, stride=2)
        else:
            self.conv = nn.Sequential(nn.Conv1d(channels, channels, 3, stride=2, padding=1, groups=channels, bias=False),
                                      nn.BatchNorm1d(channels))

    def forward(self, x):  # (B, C, T) -> (B, C, T/2)
        return self.conv(x)


class Up(nn.Module):
    """Transposed convolution (kernel 2, stride 2) doubling time, then the encoder skip is added (or,
    with ``concat``, stacked behind it: 2 * C_out channels, the ablation)."""

    def __init__(self, c_in: int, c_out: int, act: nn.Module, concat: bool = False):
        super().__init__()
        self.conv = nn.ConvTranspose1d(c_in, c_out, 2, stride=2)
        self.act = act
        self.concat = concat

    def forward(self, x, skip):  # (B, C_in, T/2), (B, C_out, T) -> (B, C_out or 2 C_out, T)
        up = self.act(self.conv(x))
        return torch.cat([up, skip], dim=1) if self.concat else up + skip


class LocalExtrema(nn.Module):
    """Local max/min enhancement: sliding max and min of the features (peaks and troughs such as QRS
    complexes) mixed by a pointwise conv and added back."""

    def __init__(self, channels: int, kernel: int, bias: bool = True):
        super().__init__()
        self.pool = nn.MaxPool1d(kernel, stride=1, padding=kernel // 2)
        self.mix = nn.Conv1d(2 * channels, channels, 1, bias=bias)

    def forward(self, x):
        return x + self.mix(torch.cat(local_max_min(self.pool, x), dim=1))


def local_max_min(pool: nn.MaxPool1d, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(sliding max, sliding min) of ``x`` over ``pool``'s window, each shaped as ``x``."""
    return pool(x), pool(x * -1.0) * -1.0  # not -pool(-x): Neg has no int8 kernel


class UNet1d(nn.Module):
    """Encoder-decoder over NETWORK_LEVELS stride-2 levels; predicts the noise and subtracts it."""

    def __init__(self, config: UNetConfig):
        super().__init__()
        self.config = config
        c, k, g, m = config.channels, config.kernels, config.groups, config.mix_kernel
        act = ACTIVATIONS[config.activation]
        self.stem = nn.Sequential(conv_bn(1, c[0], k[0]), act())
        identity = config.identity_connections
        self.encoders = nn.ModuleList(
            ConvBlock(c[max(i - 1, 0)], c[i], k[i], g[i], m, act(), identity) for i in range(NETWORK_LEVELS + 1)
        )
        self.downs = nn.ModuleList(Down(c[i], config.downsampling) for i in range(NETWORK_LEVELS))
        concat = config.skip_merge == "concat"
        self.ups = nn.ModuleList(Up(c[i + 1], c[i], act(), concat) for i in range(NETWORK_LEVELS))
        self.decoders = nn.ModuleList(
            ConvBlock(c[i] * (2 if concat else 1), c[i], k[i], g[i], m, act(), identity) for i in range(NETWORK_LEVELS)
        )
        self.extrema = LocalExtrema(c[0], config.extrema_kernel, config.extrema_bias) if config.extrema_kernel else nn.Identity()
        self.head = nn.Conv1d(c[0], 1, 3, padding=1)

    def forward(self, x):  # (B, 1, T) -> (B, 1, T)
        self.check_input(x)
        return x - self.noise_unchecked(x)

    @staticmethod
    def check_input(x: torch.Tensor) -> None:
        if x.ndim != 3 or x.shape[1] != 1 or x.shape[-1] % TOTAL_STRIDE:
            raise ValueError(f"expected (batch, 1, T) with T a multiple of {TOTAL_STRIDE}, got {tuple(x.shape)}")

    def noise_unchecked(self, x):
        """The noise estimate for a checked input, in any layout whose channel axis is 1 and time axis
        last: (B, 1, T) here, (B, 1, 1, T) in the exporter's Conv2d twin (export/conv2d_twin.py). The
        exported models compute this alone; the runtime subtracts it (the contract's output rule, runtime/model.py)."""
        h = self.encoders[0](self.stem(x))
        skips = [h]
        for i in range(1, NETWORK_LEVELS + 1):
            h = self.encoders[i](self.downs[i - 1](h))  # (B, c[i], T / 2^i)
            skips.append(h)
        for i in reversed(range(NETWORK_LEVELS)):
            h = self.decoders[i](self.ups[i](h, skips[i]))
        return self.head(self.extrema(h))


class NoiseEstimator(nn.Module):
    """(B, 1, T) -> (B, 1, T): the network's noise estimate, the function the exporter converts."""

    def __init__(self, network: UNet1d):
        super().__init__()
        self.network = network

    def forward(self, x):
        self.network.check_input(x)
        return self.network.noise_unchecked(x)


def build(config: UNetConfig) -> UNet1d:
    return UNet1d(config)


def with_config(network: UNet1d, **changes) -> UNet1d:
    """The same weights in a network whose config differs only in fields that hold no weights
    (``activation``, ``input_normalization``); the network itself when nothing changes."""
    weightless = {"activation", "input_normalization"}
    if set(changes) - weightless:
        raise ValueError(f"only {sorted(weightless)} can change without new weights, not {sorted(set(changes) - weightless)}")
    if all(getattr(network.config, k) == v for k, v in changes.items()):
        return network
    rebuilt = build(replace(network.config, **changes))
    rebuilt.load_state_dict(network.state_dict())
    return rebuilt.train(network.training)


def without_extrema_bias(network: UNet1d) -> UNet1d:
    """The same network with its local-extrema mix bias moved into the head's bias, so that the export
    can fold the module into the head (model/fusion.py). The same function except at the first and
    last sample of a window, where the head's zero padding hid part of the bias: a start for
    fine-tuning. The network itself if its mix has no bias."""
    if not isinstance(network.extrema, LocalExtrema) or network.extrema.mix.bias is None:
        return network
    rebuilt = build(replace(network.config, extrema_bias=False))
    state = network.state_dict()
    mix_bias = state.pop("extrema.mix.bias")
    state["head.bias"] = state["head.bias"] + network.head.weight.detach().sum(dim=-1) @ mix_bias
    rebuilt.load_state_dict(state)
    return rebuilt.train(network.training)

