# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The package's layers, as a checked contract: every ``import`` statement under
``dag_mmpose/`` (module level or inside a function) is read and held to the rules below.

- ``dag_mmpose.utils`` is the floor: it imports nothing else of ``dag_mmpose`` but the
  version constants (``dag_mmpose.version``);
- the runtime package (what ``import dag_mmpose`` loads and the modules it registers)
  imports neither the generated benchmark (``dag_mmpose.benchmark``) nor the test helpers
  (``dag_mmpose.testing``);
- the benchmark does not import the test helpers;
- nothing under ``dag_mmpose/`` imports the scripts under ``tools/`` (they are not a
  package; a ``tools.`` import would only work from the repository root).
"""

import ast
import os
import os.path as osp

from dag_mmpose.testing.repo import REPO_ROOT

PACKAGE = osp.join(REPO_ROOT, 'dag_mmpose')
OFF_RUNTIME = ('dag_mmpose.benchmark', 'dag_mmpose.testing')


def _module_name(path: str) -> str:
    rel = osp.relpath(path, REPO_ROOT)[: -len('.py')].replace(os.sep, '.')
    return rel[: -len('.__init__')] if rel.endswith('.__init__') else rel


def _imports(path: str):
    """``(module imported, line)`` for every import of the file, relative ones resolved."""
    name = _module_name(path)
    package = name if path.endswith('__init__.py') else name.rsplit('.', 1)[0]
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[: len(base) - node.level + 1]
                target = '.'.join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            yield target, node.lineno
            for alias in node.names:  # `from . import x` may import a submodule x
                yield f'{target}.{alias.name}', node.lineno


def _violations(rule):
    found = []
    for root, _, files in os.walk(PACKAGE):
        for file in files:
            if not file.endswith('.py'):
                continue
            path = osp.join(root, file)
            importer = _module_name(path)
            for target, line in _imports(path):
                if rule(importer, target):
                    found.append(f'{osp.relpath(path, REPO_ROOT)}:{line} imports {target}')
    return found


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + '.')


def test_imports_resolve_relative_ones():
    """The reader itself: a relative import two floors up names the right module."""
    path = osp.join(PACKAGE, 'benchmark', 'synthetic', 'write.py')
    targets = {target for target, _ in _imports(path)}
    assert {'dag_mmpose.utils.json_io', 'dag_mmpose.benchmark.synthetic.layout'} <= targets


def test_utils_is_the_floor():
    def rule(importer, target):
        return (
            _within(importer, 'dag_mmpose.utils')
            and _within(target, 'dag_mmpose')
            and not _within(target, 'dag_mmpose.utils')
            and not _within(target, 'dag_mmpose.version')
            and target != 'dag_mmpose'
        )

    assert _violations(rule) == []


def test_runtime_does_not_import_the_benchmark_or_the_test_helpers():
    def rule(importer, target):
        runtime = not any(_within(importer, p) for p in OFF_RUNTIME)
        return runtime and any(_within(target, p) for p in OFF_RUNTIME)

    assert _violations(rule) == []


def test_benchmark_does_not_import_the_test_helpers():
    def rule(importer, target):
        return _within(importer, 'dag_mmpose.benchmark') and _within(target, 'dag_mmpose.testing')

    assert _violations(rule) == []


def test_nothing_imports_the_tools():
    assert _violations(lambda importer, target: _within(target, 'tools')) == []
