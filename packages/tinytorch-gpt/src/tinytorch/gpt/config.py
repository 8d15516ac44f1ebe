"""`GPTConfig`: the shape of a `TinyGPT`, one dataclass that checkpoints save and check.

The defaults are nanoGPT's CPU "baby" model for Tiny Shakespeare (``GPTConfig.baby()`` spells
them out): 4 layers, 4 heads, width 128, context 64, no dropout, no biases.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["GPTConfig", "ConfigMismatchError"]


class ConfigMismatchError(ValueError):
    """A checkpoint's `GPTConfig` differs from the one asked for; the message names each field.

    Examples:
        >>> try:
        ...     GPTConfig(n_layer=2).check_matches(GPTConfig(n_layer=4), "checkpoint")
        ... except ConfigMismatchError as e:
        ...     print(e.fields)
        ['n_layer']
    """

    def __init__(self, message: str, fields: list[str]):
        super().__init__(message)
        self.fields = fields


@dataclass(frozen=True)
class GPTConfig:
    """The architecture of a `TinyGPT`.

    Args:
        vocab_size: how many token ids (65 for Tiny Shakespeare's characters).
        block_size: the context length T: the most tokens the model attends over.
        n_layer: transformer blocks.
        n_head: attention heads per block (must divide ``n_embd``).
        n_embd: the model width C.
        dropout: dropout on the embeddings, attention weights and residual branches.
        bias: biases in the Linear layers and LayerNorms (nanoGPT's default: False).
        mlp_ratio: the MLP's hidden width is ``mlp_ratio * n_embd``.
        gelu_approximate: ``"none"`` (exact erf GELU, as nanoGPT) or ``"tanh"``.

    Examples:
        >>> cfg = GPTConfig(vocab_size=65)
        >>> cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.block_size
        (4, 4, 128, 64)
        >>> GPTConfig.from_dict(cfg.to_dict()) == cfg
        True
    """

    vocab_size: int = 65
    block_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = False
    mlp_ratio: int = 4
    gelu_approximate: str = "none"

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd", "mlp_ratio"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"GPTConfig: {name} must be a positive int, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(
                f"GPTConfig: n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})"
            )
        if not isinstance(self.dropout, (int, float)) or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPTConfig: dropout must be in [0, 1), got {self.dropout!r}")
        if not isinstance(self.bias, bool):
            raise ValueError(f"GPTConfig: bias must be True or False, got {self.bias!r}")
        if self.gelu_approximate not in ("none", "tanh"):
            raise ValueError(
                f"GPTConfig: gelu_approximate must be 'none' or 'tanh', got "
                f"{self.gelu_approximate!r}"
            )

    @classmethod
    def baby(cls, vocab_size: int = 65) -> GPTConfig:
        """nanoGPT's CPU "baby" Shakespeare model: 4 layers, 4 heads, 128 wide, block 64.

        Examples:
            >>> GPTConfig.baby().n_embd
            128
        """
        return cls(vocab_size=vocab_size, block_size=64, n_layer=4, n_head=4, n_embd=128)

    @property
    def head_dim(self) -> int:
        """D = n_embd / n_head, the width of one attention head."""
        return self.n_embd // self.n_head

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (what a checkpoint stores)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GPTConfig:
        """A config from `to_dict`'s output; an unknown key raises ValueError naming it."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"GPTConfig: unknown field(s) {', '.join(unknown)}")
        return cls(**data)

    def replace(self, **changes) -> GPTConfig:
        """A copy with some fields changed (validated again).

        Examples:
            >>> GPTConfig().replace(n_layer=2).n_layer
            2
        """
        return dataclasses.replace(self, **changes)

    def check_matches(self, other: GPTConfig, source: str = "checkpoint") -> None:
        """Raise `ConfigMismatchError` naming every field where ``other`` (from ``source``) differs.

        Dropout is a training setting, not part of the architecture, so it may differ.
        """
        bad = [
            f.name
            for f in fields(self)
            if f.name != "dropout" and getattr(self, f.name) != getattr(other, f.name)
        ]
        if bad:
            detail = ", ".join(
                f"{name}: {source} has {getattr(other, name)!r}, expected {getattr(self, name)!r}"
                for name in bad
            )
            raise ConfigMismatchError(
                f"GPTConfig mismatch in field(s) {', '.join(bad)} ({detail})", bad
            )
