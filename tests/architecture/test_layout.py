"""The grid: one file per subject in every layer, and imports that run one way."""
import ast
from pathlib import Path

BASE = Path(__file__).resolve().parents[2]
PACKAGES = ("licensing", "accounts", "config")


def project_modules():
    modules = {}
    for package in PACKAGES:
        for path in (BASE / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(BASE).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def imports_of(path, name, modules):
    """Every project module `path` imports, at module level or inside a function."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                found.add(target)
    return found


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_among_project_modules_counting_imports_inside_functions():
    modules = project_modules()
    # A package's __init__ re-exporting its submodules is not a dependency of those submodules on it.
    graph = {
        name: {t for t in imports_of(path, name, modules) if not (path.name == "__init__.py" and t.startswith(name))}
        for name, path in modules.items()
    }
    assert cycles(graph) == []


def test_services_never_import_tasks():
    modules = project_modules()
    offenders = [name for name, path in modules.items()
                 if ".services" in name and "licensing.tasks" in imports_of(path, name, modules)]
    assert offenders == []


def test_every_layer_is_a_folder_of_subjects_with_no_suffix_or_utils_files():
    licensing = BASE / "licensing"
    for layer in ("models", "services", "selectors", "forms", "views", "api", "manifests"):
        assert (licensing / layer).is_dir(), f"licensing/{layer}/ is a folder"
    stray = sorted(str(p.relative_to(BASE)) for package in PACKAGES for p in (BASE / package).rglob("*.py")
                   if p.name == "utils.py" or p.stem.endswith("_contributors"))
    assert stray == []
