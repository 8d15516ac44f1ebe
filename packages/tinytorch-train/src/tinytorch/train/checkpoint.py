"""Safe checkpoints: a zip of ``.npy`` arrays plus one JSON metadata entry, written atomically.

The format (version 1) is an ``.npz``-style zip archive:

- ``metadata.json``: format name and version, the model's *architecture signature* (every
  state-dict key with its shape and dtype), and every other part (epoch, RNG states,
  optimizer/scheduler state, history, ...) as JSON in which each array is a reference
  ``{"__ndarray__": "arrays/a7.npy"}``;
- ``arrays/aN.npy``: the arrays, in numpy's ``.npy`` format.

Loading reads the JSON with `json` and every array with
``numpy.lib.format.read_array(..., allow_pickle=False)``: nothing in the file is ever
unpickled or executed, whatever the file's extension (the seed writes ``best_model.pkl``). A
file that is not such an archive (a real pickle, say) gives a `CheckpointError`.

Writes go to a temporary file in the destination's folder, are flushed and fsynced, then
renamed over the destination with ``os.replace``: a crash mid-write leaves the old file intact.

Examples:
    >>> import os, tempfile
    >>> import numpy as np
    >>> from tinytorch.train.checkpoint import save_checkpoint, load_checkpoint
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.pkl")
    >>> _ = save_checkpoint(path, epoch=3, weights={"w": np.arange(3.0)})
    >>> ckpt = load_checkpoint(path)
    >>> ckpt["epoch"], ckpt["weights"]["w"].tolist()
    (3, [0.0, 1.0, 2.0])
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from tinytorch.tensor import Tensor

__all__ = [
    "CheckpointError",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "save_checkpoint",
    "load_checkpoint",
    "architecture_signature",
    "check_architecture",
    "load_model",
    "atomic_write_bytes",
]

FORMAT_NAME = "tinytorch-checkpoint"
FORMAT_VERSION = 1
_META = "metadata.json"
_replace = os.replace  # indirection so that tests can simulate a crash before the rename


class CheckpointError(ValueError):
    """A checkpoint cannot be read, is of an unknown format, or does not fit the model.

    Examples:
        >>> import os, tempfile
        >>> from tinytorch.train.checkpoint import CheckpointError, load_checkpoint
        >>> path = os.path.join(tempfile.mkdtemp(), "junk.pkl")
        >>> _ = open(path, "wb").write(b"not a checkpoint")
        >>> try:
        ...     load_checkpoint(path)
        ... except CheckpointError as e:
        ...     print("not a TinyTorch checkpoint" in str(e))
        True
    """


# --------------------------------------------------------------------------- encoding


def _is_module(obj) -> bool:
    return hasattr(obj, "state_dict") and hasattr(obj, "parameters") and callable(obj.parameters)


def _encode(obj: Any, arrays: dict[str, np.ndarray], where: str) -> Any:
    if isinstance(obj, Tensor):
        obj = obj.numpy() if hasattr(obj, "numpy") else np.asarray(obj.data)
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise CheckpointError(
                f"save_checkpoint: {where} is an object array; only plain "
                "numeric/bool/string arrays can be saved (no pickling)"
            )
        name = f"arrays/a{len(arrays)}.npy"
        arrays[name] = np.ascontiguousarray(obj)
        return {"__ndarray__": name}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, Mapping):
        if all(isinstance(k, str) for k in obj) and not any(k.startswith("__") for k in obj):
            return {k: _encode(v, arrays, f"{where}.{k}") for k, v in obj.items()}
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int, float, bool)) and k is not None:
                raise CheckpointError(
                    f"save_checkpoint: {where} has a key of type "
                    f"{type(k).__name__}; keys must be str, int or float"
                )
            items.append([k, _encode(v, arrays, f"{where}[{k!r}]")])
        return {"__items__": items}
    raise CheckpointError(
        f"save_checkpoint: {where} is a {type(obj).__name__}; a checkpoint holds numbers, "
        "strings, lists, dicts and arrays only (save its state_dict() instead)"
    )


def _decode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    if isinstance(obj, dict):
        if set(obj) == {"__ndarray__"}:
            name = obj["__ndarray__"]
            if name not in arrays:
                raise CheckpointError(
                    f"load_checkpoint: the metadata refers to a missing array {name!r}"
                )
            return arrays[name]
        if set(obj) == {"__tuple__"}:
            return tuple(_decode(v, arrays) for v in obj["__tuple__"])
        if set(obj) == {"__items__"}:
            return {k: _decode(v, arrays) for k, v in obj["__items__"]}
        return {k: _decode(v, arrays) for k, v in obj.items()}
    return obj


# --------------------------------------------------------------------------- architecture


def architecture_signature(model_or_state) -> list[list]:
    """Every state-dict key of a model (or of a state dict) with its shape and dtype.

    Examples:
        >>> from tinytorch.nn import Linear
        >>> architecture_signature(Linear(4, 3))
        [['weight', [3, 4], 'float32'], ['bias', [3], 'float32']]
    """
    state = model_or_state.state_dict() if _is_module(model_or_state) else model_or_state
    out = []
    for key, value in state.items():
        arr = value.data if isinstance(value, Tensor) else np.asarray(value)
        out.append([str(key), [int(n) for n in arr.shape], str(arr.dtype)])
    return out


def check_architecture(model, signature, source: str = "checkpoint") -> None:
    """Raise `CheckpointError` naming each key and shape where ``signature`` and ``model`` differ.

    Examples:
        >>> from tinytorch.nn import Linear
        >>> check_architecture(Linear(4, 3), architecture_signature(Linear(4, 3)))
        >>> try:
        ...     check_architecture(Linear(4, 3), architecture_signature(Linear(5, 3)))
        ... except CheckpointError as e:
        ...     print(str(e).splitlines()[1])
          weight: checkpoint (3, 5) vs model (3, 4)
    """
    mine = {k: (tuple(s), d) for k, s, d in architecture_signature(model)}
    theirs = {k: (tuple(s), d) for k, s, d in signature}
    problems = []
    for key, (shape, _dtype) in theirs.items():
        if key in mine and mine[key][0] != shape:
            problems.append(f"  {key}: checkpoint {shape} vs model {mine[key][0]}")
    missing = [k for k in mine if k not in theirs]
    unexpected = [k for k in theirs if k not in mine]
    if missing:
        problems.append(f"  missing from the checkpoint (in the model): {', '.join(missing)}")
    if unexpected:
        problems.append(f"  in the checkpoint but not in the model: {', '.join(unexpected)}")
    if problems:
        raise CheckpointError(
            f"the {source} was saved from another architecture ({type(model).__name__} "
            "here):\n" + "\n".join(problems)
        )


# --------------------------------------------------------------------------- files


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: a temp file in the same folder, fsync, os.replace.

    Examples:
        >>> import os, tempfile
        >>> p = atomic_write_bytes(os.path.join(tempfile.mkdtemp(), "x.txt"), b"hi")
        >>> p.read_bytes()
        b'hi'
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable (POSIX; harmless to skip elsewhere)
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return path


def save_checkpoint(path, **parts) -> Path:
    """Save ``parts`` (numbers, strings, lists, dicts, arrays, tensors) atomically to ``path``.

    A ``model=`` part that is a `tinytorch.nn.Module` is stored as its state dict, and its
    architecture signature is recorded, so that loading into another architecture fails with
    a clear error. Returns the path.

    Examples:
        >>> import os, tempfile
        >>> from tinytorch.nn import Linear
        >>> path = os.path.join(tempfile.mkdtemp(), "model.ckpt")
        >>> _ = save_checkpoint(path, model=Linear(2, 1), epoch=1)
        >>> sorted(load_checkpoint(path))
        ['architecture', 'epoch', 'format', 'format_version', 'model']
    """
    for reserved in ("format", "format_version", "architecture"):
        if reserved in parts:
            raise ValueError(f"save_checkpoint: {reserved!r} is reserved for the format")
    meta: dict[str, Any] = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION}
    model = parts.get("model")
    if model is not None:
        if _is_module(model):
            model = model.state_dict()
        meta["architecture"] = architecture_signature(model)
        parts = {**parts, "model": dict(model)}
    arrays: dict[str, np.ndarray] = {}
    meta["parts"] = {k: _encode(v, arrays, k) for k, v in parts.items()}
    text = json.dumps(meta, allow_nan=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(_META, text)
        for name, arr in arrays.items():
            with zf.open(name, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, arr, allow_pickle=False)
    return atomic_write_bytes(path, buf.getvalue())


def _not_a_checkpoint(path: Path, head: bytes, why: str) -> CheckpointError:
    hint = ""
    if head[:1] == b"\x80" or head[:1] in (b"(", b"]", b"}", b"c"):
        hint = (
            " It looks like a Python pickle: TinyTorch never unpickles files (unpickling can "
            "run arbitrary code); re-save it with tinytorch.train.save_checkpoint."
        )
    return CheckpointError(f"{path}: not a TinyTorch checkpoint ({why}).{hint}")


def load_checkpoint(path) -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint`; never unpickles anything.

    Returns the saved parts (arrays as numpy arrays) plus ``format``, ``format_version`` and,
    when a model was saved, ``architecture``. Raises `CheckpointError` for a file that is not
    a TinyTorch checkpoint (a pickle, a truncated file, an object array, a newer format).

    Examples:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "c.npz")
        >>> _ = save_checkpoint(path, history={"loss": [1.0, 0.5]}, pair=(1, 2))
        >>> ckpt = load_checkpoint(path)
        >>> ckpt["history"], ckpt["pair"], ckpt["format_version"]
        ({'loss': [1.0, 0.5]}, (1, 2), 1)
    """
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(8)
    if not zipfile.is_zipfile(path):
        raise _not_a_checkpoint(path, head, "not a zip archive of arrays and JSON")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if _META not in names:
                raise _not_a_checkpoint(path, head, f"no {_META} entry")
            meta = json.loads(zf.read(_META).decode("utf-8"))
            if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
                raise _not_a_checkpoint(path, head, "unknown format")
            version = meta.get("format_version")
            if not isinstance(version, int) or version > FORMAT_VERSION:
                raise CheckpointError(
                    f"{path}: checkpoint format version {version!r} is newer "
                    f"than this tinytorch-train reads ({FORMAT_VERSION})"
                )
            arrays = {}
            for name in names:
                if name.startswith("arrays/") and name.endswith(".npy"):
                    with zf.open(name) as f:
                        arrays[name] = np.lib.format.read_array(
                            io.BytesIO(f.read()), allow_pickle=False
                        )
    except CheckpointError:
        raise
    except ValueError as e:  # object arrays refuse to load without pickle
        raise CheckpointError(
            f"{path}: unreadable array in checkpoint ({e}); loading never unpickles"
        ) from None
    except (zipfile.BadZipFile, OSError, EOFError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: damaged checkpoint ({type(e).__name__}: {e})") from None
    out = _decode(meta.get("parts", {}), arrays)
    out["format"] = meta["format"]
    out["format_version"] = version
    if "architecture" in meta:
        out["architecture"] = meta["architecture"]
    return out


def load_model(model, path_or_checkpoint) -> Any:
    """Load a checkpoint's weights into ``model`` after checking its architecture; returns it.

    Examples:
        >>> import os, tempfile
        >>> from tinytorch.nn import Linear
        >>> a, b = Linear(3, 2), Linear(3, 2)
        >>> path = save_checkpoint(os.path.join(tempfile.mkdtemp(), "a.ckpt"), model=a)
        >>> _ = load_model(b, path)
        >>> bool((a.weight.numpy() == b.weight.numpy()).all())
        True
    """
    ckpt = path_or_checkpoint
    source = "checkpoint"
    if not isinstance(ckpt, Mapping):
        source = f"checkpoint {ckpt}"
        ckpt = load_checkpoint(ckpt)
    if "model" not in ckpt:
        raise CheckpointError(f"the {source} holds no model weights")
    check_architecture(
        model, ckpt.get("architecture") or architecture_signature(ckpt["model"]), source
    )
    model.load_state_dict(ckpt["model"])
    return model
