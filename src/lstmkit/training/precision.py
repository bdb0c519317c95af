"""Mixed precision for training: the forward pass under `torch.autocast`, the rest float32."""

from __future__ import annotations

import contextlib
import logging

import torch

from lstmkit.errors import ConfigError

logger = logging.getLogger(__name__)


def check_precision(precision: str, device: torch.device) -> None:
    """Refuse bfloat16 on a device that cannot compute in it; warn where it is emulated."""
    if precision != "bfloat16":
        return
    if device.type == "cuda" and not torch.cuda.is_bf16_supported(including_emulation=False):
        raise ConfigError(
            "precision='bfloat16' needs a GPU with bfloat16 arithmetic (compute capability "
            f"8.0 or newer); {torch.cuda.get_device_name(device)} has none: use "
            "precision='float32'")
    if device.type == "cpu" and not cpu_has_bfloat16():
        logger.warning("this CPU has no bfloat16 instructions (AVX512-BF16 or AMX): "
                       "precision='bfloat16' runs emulated, slower than float32")


def cpu_has_bfloat16() -> bool:
    """True when oneDNN finds bfloat16 instructions on this CPU."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without oneDNN
        return False


def autocast(precision: str, device: torch.device,
             enabled: bool = True) -> contextlib.AbstractContextManager[None]:
    """The autocast context of `precision` (nothing for float32); ``enabled=False`` leaves an
    enclosing one, for the backward pass and the optimizer step."""
    if precision == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)
