#!/usr/bin/python3
"""Checks that every flag of `isoflop plan --launch megatron` and every key of `--launch torchtitan`
exists in the engines' own sources.

Usage: engine_flags_check.py MEGATRON_LM_CHECKOUT TORCHTITAN_CHECKOUT LAUNCH_DIR...
(checkouts at the commits docs/engines.md cites: NVIDIA/Megatron-LM d98e8a64, pytorch/torchtitan
238fa995). Reads the sources with Python's ast only (nothing is imported: Megatron-LM needs torch 2.x).

Megatron-LM: a flag exists if a string literal '--flag' appears in megatron/training/arguments.py,
argument_utils.py or config/*.py (add_argument calls), or if it is '--' + a field of a dataclass
that arguments.py hands to ArgumentGroupFactory (with its base classes), the field not in that call's
exclude list, or a '--' name in such a class (a rename in the field's argparse metadata). torchtitan: [section] must be a field of
JobConfig in torchtitan/config/job_config.py and each key a field of that section's class.
Not run by ctest (the repository holds neither engine); docs/engines.md records a run.
"""
import ast
import glob
import os
import sys
import tomllib


def parse(path):
    with open(path, encoding="utf-8") as f:
        return ast.parse(f.read(), path)


def classes_in(trees):
    """name -> (base names, field names, '--' literals in the class) for every class in the trees."""
    out = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
                fields = [s.target.id for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
                # renames in the fields' argparse metadata, e.g. add_bias_linear -> --disable-bias-linear
                literals = [c.value for c in ast.walk(node)
                            if isinstance(c, ast.Constant) and isinstance(c.value, str) and c.value.startswith("--")]
                out.setdefault(node.name, (bases, fields, literals))
    return out


def all_fields(name, classes, seen=None, literals=None):
    seen = seen if seen is not None else set()
    if name in seen or name not in classes:
        return set()
    seen.add(name)
    bases, fields, names = classes[name]
    if literals is not None:
        literals.update(names)
    result = set(fields)
    for b in bases:
        result |= all_fields(b, classes, seen, literals)
    return result


def megatron_flags(root):
    training = os.path.join(root, "megatron", "training")
    literal_files = [os.path.join(training, "arguments.py"), os.path.join(training, "argument_utils.py")]
    literal_files += glob.glob(os.path.join(training, "config", "*.py"))
    flags = set()
    for path in literal_files:
        for node in ast.walk(parse(path)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("--"):
                flags.add(node.value)
    trees = [parse(p) for p in glob.glob(os.path.join(root, "megatron", "**", "*.py"), recursive=True)]
    classes = classes_in(trees)
    args_tree = parse(os.path.join(training, "arguments.py"))
    for func in ast.walk(args_tree):
        if not isinstance(func, ast.FunctionDef):
            continue
        lists = {}
        for node in ast.walk(func):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.List):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        lists[t.id] = [e.value for e in node.value.elts if isinstance(e, ast.Constant)]
        for node in ast.walk(func):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "ArgumentGroupFactory"):
                continue
            if not node.args or not isinstance(node.args[0], ast.Name):
                continue
            exclude = []
            for kw in node.keywords:
                if kw.arg == "exclude":
                    if isinstance(kw.value, ast.List):
                        exclude = [e.value for e in kw.value.elts if isinstance(e, ast.Constant)]
                    elif isinstance(kw.value, ast.Name):
                        exclude = lists.get(kw.value.id, [])
            renamed = set()
            for field in all_fields(node.args[0].id, classes, literals=renamed) - set(exclude):
                flags.add("--" + field.replace("_", "-"))
            flags |= renamed
    return flags


def torchtitan_sections(root):
    tree = parse(os.path.join(root, "torchtitan", "config", "job_config.py"))
    classes = classes_in([tree])
    sections = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "JobConfig":
            for s in node.body:
                if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name):
                    sections[s.target.id] = all_fields(ast.unparse(s.annotation), classes)
    return sections


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    megatron = megatron_flags(sys.argv[1])
    titan = torchtitan_sections(sys.argv[2])
    unknown, checked_flags, checked_keys = [], set(), set()
    for d in sys.argv[3:]:
        args = os.path.join(d, "megatron.args")
        if os.path.exists(args):
            for line in open(args, encoding="utf-8"):
                flag = line.split()[0] if line.strip() else ""
                if flag.startswith("--"):
                    checked_flags.add(flag)
                    if flag not in megatron:
                        unknown.append(f"{args}: {flag}")
        toml = os.path.join(d, "torchtitan.toml")
        if os.path.exists(toml):
            with open(toml, "rb") as f:
                config = tomllib.load(f)
            for section, keys in config.items():
                for key in keys:
                    checked_keys.add(f"{section}.{key}")
                    if section not in titan or key not in titan[section]:
                        unknown.append(f"{toml}: [{section}] {key}")
    print(f"engine-flags-check: {len(checked_flags)} distinct Megatron-LM flags "
          f"(of {len(megatron)} it defines), {len(checked_keys)} distinct torchtitan keys, "
          f"{len(unknown)} unknown")
    for u in unknown:
        print("  unknown:", u)
    return 1 if unknown else 0


if __name__ == "__main__":
    sys.exit(main())
