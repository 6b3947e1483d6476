"""The kinds of generator: one per `configs/model/NAME.yaml`, described by that config and its class.

A generator is its class (here, in `models/`), its config (`_target_` and `name: NAME`) and, if
new, its networks. The web page, the report, the race, the bench and the tests list models from
here; nothing else writes a model's name down.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from motion_transfer.runtime.config import CONFIG_DIR, choices


@dataclass(frozen=True)
class ModelKind:
    """One `model=NAME` choice."""

    name: str
    #: The class's import path (`_target_`), followed through the config's `defaults`.
    target: str
    #: The config's first line: what the model is, in words.
    summary: str

    @property
    def cls(self):
        import hydra

        return hydra.utils.get_class(self.target)

    @property
    def learns(self) -> bool:
        """Whether it must be trained before it draws (else it is built when used)."""
        return bool(self.cls.learns)

    @property
    def trains_from(self) -> tuple[str, ...]:
        """Options (`model.X`) that must name a trained run before this model can train."""
        return tuple(self.cls.trains_from)


def _summary(text: str) -> str:
    """The config's first line, a comment that says what the model is in one sentence."""
    first = text.splitlines()[0] if text else ""
    return first.lstrip("#").strip().rstrip(".") if first.startswith("#") else ""


def _target(name: str) -> str:
    from omegaconf import OmegaConf

    config = OmegaConf.load(CONFIG_DIR / "model" / f"{name}.yaml")
    if "_target_" in config:
        return str(config._target_)
    parents = [d for d in config.get("defaults", []) if isinstance(d, str) and d != "_self_"]
    if not parents:
        raise ValueError(f"configs/model/{name}.yaml names no _target_ and no parent config")
    return _target(parents[0])


@lru_cache(maxsize=1)
def model_kinds() -> dict[str, ModelKind]:
    """Every model of configs/model/, by name, in alphabetical order."""
    kinds = {}
    for name in choices("model"):
        text = (CONFIG_DIR / "model" / f"{name}.yaml").read_text()
        kinds[name] = ModelKind(name, _target(name), _summary(text))
    return kinds


def model_names(learns: bool | None = None) -> tuple[str, ...]:
    """The models' names; only those that learn (True) or are built when used (False)."""
    return tuple(n for n, kind in model_kinds().items() if learns is None or kind.learns == learns)
