"""Weight initialization schemes, applied with model.apply (one registry, looked up by name)."""

from __future__ import annotations

from typing import Callable

from torch import Tensor, nn

from regtui.config import InitConfig

# torch.nn.init.calculate_gain knows these nonlinearities; gelu is closest to relu.
_GAIN_NAME = {"relu": "relu", "leaky_relu": "leaky_relu", "gelu": "relu", "tanh": "tanh",
              "sigmoid": "sigmoid"}
LEAKY_SLOPE = 0.01  # nn.LeakyReLU's default negative slope

WeightInit = Callable[[Tensor, InitConfig, str], object]


def gain(cfg: InitConfig, activation: str) -> float:
    """cfg.gain, or the recommended gain of the activation when cfg.gain is 0."""
    if cfg.gain:
        return cfg.gain
    return nn.init.calculate_gain(_GAIN_NAME[activation], LEAKY_SLOPE)


def _kaiming_args(activation: str) -> dict:
    name = _GAIN_NAME[activation]
    return {"a": LEAKY_SLOPE if name == "leaky_relu" else 0,
            "nonlinearity": name, "mode": "fan_in"}


SCHEMES: dict[str, WeightInit] = {
    "xavier_uniform": lambda w, cfg, act: nn.init.xavier_uniform_(w, gain=gain(cfg, act)),
    "xavier_normal": lambda w, cfg, act: nn.init.xavier_normal_(w, gain=gain(cfg, act)),
    "kaiming_uniform": lambda w, cfg, act: nn.init.kaiming_uniform_(w, **_kaiming_args(act)),
    "kaiming_normal": lambda w, cfg, act: nn.init.kaiming_normal_(w, **_kaiming_args(act)),
    "orthogonal": lambda w, cfg, act: nn.init.orthogonal_(w, gain=gain(cfg, act)),
    "normal": lambda w, cfg, act: nn.init.normal_(w, mean=0.0, std=cfg.std),
}


def initializer(cfg: InitConfig, activation: str) -> Callable[[nn.Module], None]:
    """A function for model.apply that initializes linear and conv weights, zeroes biases."""
    if cfg.scheme == "default":
        return lambda module: None  # keep PyTorch's own init
    if cfg.scheme not in SCHEMES:
        raise ValueError(f"unknown init scheme {cfg.scheme!r}; known: default, "
                         f"{', '.join(SCHEMES)}")
    scheme = SCHEMES[cfg.scheme]

    def init(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            scheme(module.weight, cfg, activation)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    return init
