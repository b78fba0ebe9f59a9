"""Read a YAML file into a typed (pydantic) model; every error names the file and the offending field."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from paperlock.errors import PaperlockError

M = TypeVar("M", bound=BaseModel)


def read_yaml_model(path: Path, model: type[M], what: str) -> tuple[M, bytes]:
    """(parsed model, raw bytes) of `path`; `what` names the document in messages ('study spec', ...)."""
    raw = path.read_bytes()
    try:
        doc = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise PaperlockError(f"{path}: not valid YAML: {exc}") from None
    try:
        return model.model_validate(doc), raw
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in exc.errors())
        raise PaperlockError(f"{path}: invalid {what}: {problems}") from None
