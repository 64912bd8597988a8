"""nn.training is the top layer: nothing in autograd_core, optim or the rest of nn imports it.

The training loop, its callbacks and metrics, and the ``autograd-train`` CLI sit above
``nn``, ``optim`` and ``viz`` (DESIGN.md, "Layout"). The one allowed reference from
below is the lazy ``nn.fit`` / ``nn.training`` attribute in ``nn/__init__.py``'s
module ``__getattr__``, which imports nothing until it is used.
"""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOWER_PACKAGES = ("autograd_core", "nn", "optim")
TOP = "nn.training"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, node: ast.ImportFrom, package: str) -> str:
    """The absolute module an ``import from`` names (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    base = package.split(".")
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _is_top(name: str) -> bool:
    return name == TOP or name.startswith(TOP + ".")


def _imports_of_the_top_layer(source: str, path: Path):
    """(line, text) of every import of nn.training in ``source``, static or dynamic,
    except the lazy attribute in nn/__init__.py's module __getattr__."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(source, filename=str(path))
    allowed = set()
    if module == "nn":
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
                allowed.update(id(inner) for inner in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if id(node) in allowed:
            continue
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node, package)
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if called in ("import_module", "__import__") and isinstance(first, ast.Constant) \
                    and isinstance(first.value, str):
                names = [first.value]
        if any(_is_top(name) for name in names):
            found.append((node.lineno, ast.get_source_segment(source, node)))
    return found


# Facades built on the training loop belong to the top layer with it.
TOP_LAYER_FILES = {ROOT / "nn" / "keras.py"}


def _lower_layer_files():
    for package in LOWER_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if (ROOT / "nn" / "training") in path.parents or path in TOP_LAYER_FILES:
                continue
            yield path


def test_nothing_below_the_top_layer_imports_nn_training():
    files = list(_lower_layer_files())
    assert len(files) > 20  # the scan found the packages
    offenders = {
        str(path.relative_to(ROOT)): hits
        for path in files
        if (hits := _imports_of_the_top_layer(path.read_text(encoding="utf-8"), path))
    }
    assert not offenders, f"these modules import the top layer nn.training: {offenders}"


@pytest.mark.parametrize("source", [
    "import nn.training\n",
    "from nn.training.callbacks import EarlyStopping\n",
    "from nn import training\n",
    "def f():\n    from .training import fit\n",
    "import importlib\nimportlib.import_module('nn.training.loop')\n",
])
def test_the_scan_finds_every_form_of_import(source):
    assert _imports_of_the_top_layer(source, ROOT / "nn" / "models.py")


def test_the_lazy_nn_fit_attribute_is_the_only_exception():
    lazy = "import importlib\ndef __getattr__(name):\n" \
           "    return importlib.import_module('nn.training').fit\n"
    assert not _imports_of_the_top_layer(lazy, ROOT / "nn" / "__init__.py")
    assert _imports_of_the_top_layer(lazy, ROOT / "optim" / "__init__.py")


def test_importing_the_lower_layers_does_not_load_nn_training():
    modules = ["autograd_core", "autograd_core.viz", "nn", "nn.functional", "nn.data",
               "nn.datasets", "nn.models", "nn.transforms", "nn.utils", "nn.serialization",
               "optim", "optim.lr_scheduler"]
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module(name)\n"
            "loaded = sorted(m for m in sys.modules if m == 'nn.training' "
            "or m.startswith('nn.training.'))\n"
            "print(loaded)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), check=True)
    assert result.stdout.strip() == "[]"
