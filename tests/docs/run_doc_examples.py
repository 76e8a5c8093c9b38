#!/usr/bin/env python3
"""Runs the examples users are shown, as shipped (issue 15, "Docs and help that run").

1. Every `--help` of the isoflop binary (the root and each subcommand): each example line under
   "Examples:" that starts with `isoflop` runs, in one scratch directory, in the order of the root
   help's subcommand list (data before train before fit ..., so a later example finds what an
   earlier one wrote). An example whose trailing comment starts with `# needs` (a Slurm cluster, a
   GPU, a running daemon) is listed as skipped, not run.
2. Every fenced shell block (```sh, ```bash, ```shell) and every transcript block (```console:
   lines starting with `$ ` are commands, the lines after them the output they must print) of
   README.md and docs/*.md runs in a scratch directory of its own document, blocks in order. A block
   that cannot run here is marked on the line before its fence with
       <!-- docs-test: skip REASON -->
   and listed as skipped. Transcript output lines must appear in the command's output, in order
   (a line `...` stands for any lines); so the figures a document quotes are the figures the build
   prints.

Scratch directories hold the repository's shipped files (links to tests/, scripts/, bench/, docs/;
a copy of configs/, whose specs name paths relative to themselves) and `build/bin` -> the build's
binaries, so the documented paths resolve; nothing is written into the repository. `isoflop` on PATH
is the build's. The one thing a scratch directory has that a fresh clone does not is
`demo-out/shards`, the token shards `scripts/demo` builds and configs/sweeps/*.yaml train on (as the
`sweep submit` help says), built here from the shipped tests/data/austen_chapters.jsonl.
A transcript's output line matches a printed line that starts with it, so a document quotes a
figure to the digits it stands behind.

Usage: run_doc_examples.py --bin BUILD/bin --source REPO [--only help|docs] [--keep] [-v]
Exit 0 when everything that runs passes; 1 with a list of failures (file:line, command, output).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SHIPPED = ["tests", "scripts", "bench", "docs", "cmake", "common", "README.md"]
COPIED = ["configs"]
TIMEOUT_S = 300


class Result:
    def __init__(self):
        self.ran = []
        self.skipped = []
        self.failed = []


def scratch(source, bin_dir, keep, name):
    d = tempfile.mkdtemp(prefix="isoflop-docs-%s-" % name)
    for item in SHIPPED:
        if os.path.exists(os.path.join(source, item)):
            os.symlink(os.path.join(source, item), os.path.join(d, item))
    for item in COPIED:
        shutil.copytree(os.path.join(source, item), os.path.join(d, item))
    os.makedirs(os.path.join(d, "build"))
    os.symlink(os.path.abspath(bin_dir), os.path.join(d, "build", "bin"))
    code, out, _ = run_shell("isoflop data build --input tests/data/austen_chapters.jsonl --out demo-out/shards "
                             "--config configs/data/tiny.yaml", d, env_for(bin_dir))
    if code != 0:
        raise SystemExit("cannot build demo-out/shards in %s:\n%s" % (d, out))
    return d


def env_for(bin_dir):
    env = dict(os.environ)
    env["PATH"] = os.path.abspath(bin_dir) + os.pathsep + env.get("PATH", "")
    env.pop("ISOFLOP_DAEMON_CRASH_AT", None)
    return env


def run_shell(script, cwd, env):
    start = time.time()
    try:
        p = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=cwd, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=TIMEOUT_S)
        return p.returncode, p.stdout.decode("utf-8", "replace"), time.time() - start
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        return 124, out + "\n(timed out after %d s)" % TIMEOUT_S, time.time() - start


# ---------------------------------------------------------------------------------------------
# --help examples

def help_text(isoflop, args, env):
    p = subprocess.run([isoflop] + args + ["--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=env, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def subcommands(text):
    """Names listed under 'Subcommands:' in a CLI11 help text, in order."""
    names, inside = [], False
    for line in text.splitlines():
        if line.strip() == "Subcommands:" or line.strip() == "SUBCOMMANDS:":
            inside = True
            continue
        if inside:
            m = re.match(r"^  (\S+)\s", line + " ")
            if m:
                names.append(m.group(1))
            elif line.strip() == "" and names:
                break
    return names


def examples(text):
    """Example command lines of a help text (continuations joined), with their line numbers."""
    out, inside, pending = [], False, None
    for i, line in enumerate(text.splitlines(), 1):
        if line.strip() in ("Subcommands:", "SUBCOMMANDS:", "Options:", "OPTIONS:"):
            inside = False
            continue
        if line.strip().startswith("Examples:"):
            inside = True
            continue
        if not inside:
            continue
        stripped = line.strip()
        if pending is not None:
            pending[1] += " " + stripped.rstrip("\\").strip()
            if not stripped.endswith("\\"):
                out.append(tuple(pending))
                pending = None
            continue
        if not line.startswith("  ") or not stripped:
            if stripped and not line.startswith(" "):
                inside = False
            continue
        if stripped.endswith("\\"):
            pending = [i, stripped.rstrip("\\").strip()]
        else:
            out.append((i, stripped))
    return out


def run_help_examples(isoflop, bin_dir, source, keep, verbose, result):
    env = env_for(bin_dir)
    work = scratch(source, bin_dir, keep, "help")
    code, root = help_text(isoflop, [], env)
    if code != 0:
        result.failed.append(("isoflop --help", "exit %d" % code, root))
        return
    order = [[]] + [[c] for c in subcommands(root)]
    seen = set()
    queue = list(order)
    while queue:
        args = queue.pop(0)
        key = " ".join(args)
        if key in seen:
            continue
        seen.add(key)
        code, text = help_text(isoflop, args, env)
        where = "isoflop %s --help" % key if key else "isoflop --help"
        if code != 0:
            result.failed.append((where, "exit %d" % code, text))
            continue
        # Nested subcommands (sweep plan/submit, data build/...) come right after their parent.
        queue[0:0] = [args + [s] for s in subcommands(text)]
        for line_no, cmd in examples(text):
            label = "%s, example line %d: %s" % (where, line_no, cmd)
            comment = cmd.split(" # ", 1)[1].strip() if " # " in cmd else ""
            if comment.startswith("needs"):
                result.skipped.append((label, comment))
                continue
            if not (cmd.startswith("isoflop ") or cmd.startswith("curl ")):
                result.skipped.append((label, "not an isoflop command"))
                continue
            code, out, secs = run_shell(cmd, work, env)
            if verbose:
                print("[%5.1fs] exit %d  %s" % (secs, code, label), flush=True)
            if code != 0:
                result.failed.append((label, "exit %d" % code, out))
            else:
                result.ran.append(label)
    if keep:
        print("help scratch directory kept: %s" % work)
    else:
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Fenced blocks of README.md and docs/*.md

FENCE = re.compile(r"^(`{3,})(\S*)\s*$")
SKIP = re.compile(r"^<!--\s*docs-test:\s*skip\b\s*(.*?)\s*-->\s*$")


def blocks(path):
    """(line, lang, body lines, skip reason or None) of each fenced block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m:
            fence, lang = m.group(1), m.group(2)
            j = i + 1
            while j < len(lines) and not lines[j].startswith(fence):
                j += 1
            prev = lines[i - 1] if i > 0 else ""
            s = SKIP.match(prev)
            out.append((i + 1, lang, lines[i + 1:j], s.group(1) or "marked" if s else None))
            i = j
        i += 1
    return out


def check_transcript(expected, actual):
    """Every expected line appears in `actual`, in order; '...' matches any run of lines."""
    got = [l.rstrip() for l in actual.splitlines()]
    pos = 0
    for want in expected:
        want = want.rstrip()
        if want.strip() in ("...", ""):
            continue
        while pos < len(got) and not got[pos].startswith(want):
            pos += 1
        if pos == len(got):
            return "expected line not printed: %r" % want
        pos += 1
    return None


def run_doc_blocks(bin_dir, source, keep, verbose, result):
    env = env_for(bin_dir)
    docs = [os.path.join(source, "README.md")] + sorted(
        os.path.join(source, "docs", f) for f in os.listdir(os.path.join(source, "docs")) if f.endswith(".md"))
    for path in docs:
        rel = os.path.relpath(path, source)
        work = None
        for line, lang, body, skip in blocks(path):
            if lang not in ("sh", "bash", "shell", "console"):
                continue
            label = "%s:%d (```%s)" % (rel, line, lang)
            if skip is not None:
                result.skipped.append((label, skip))
                continue
            if work is None:
                work = scratch(source, bin_dir, keep, os.path.splitext(os.path.basename(path))[0])
            if lang != "console":
                code, out, secs = run_shell("\n".join(body), work, env)
                if verbose:
                    print("[%5.1fs] exit %d  %s" % (secs, code, label), flush=True)
                if code != 0:
                    result.failed.append((label, "exit %d" % code, out))
                else:
                    result.ran.append(label)
                continue
            # A transcript: "$ command" then the output it prints.
            steps, cur = [], None
            for l in body:
                if l.startswith("$ "):
                    cur = [l[2:], []]
                    steps.append(cur)
                elif cur is not None:
                    cur[1].append(l)
            for cmd, expected in steps:
                code, out, secs = run_shell(cmd, work, env)
                if verbose:
                    print("[%5.1fs] exit %d  %s: %s" % (secs, code, label, cmd), flush=True)
                problem = "exit %d" % code if code != 0 else check_transcript(expected, out)
                if problem:
                    result.failed.append(("%s: $ %s" % (label, cmd), problem, out))
                else:
                    result.ran.append("%s: $ %s" % (label, cmd))
        if work is not None:
            if keep:
                print("%s scratch directory kept: %s" % (rel, work))
            else:
                shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="the build's bin directory (isoflop, isoflop-train)")
    ap.add_argument("--source", required=True, help="the repository")
    ap.add_argument("--only", choices=["help", "docs"])
    ap.add_argument("--keep", action="store_true", help="keep the scratch directories")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    a.source = os.path.abspath(a.source)
    a.bin = os.path.abspath(a.bin)
    isoflop = os.path.join(os.path.abspath(a.bin), "isoflop")
    result = Result()
    if a.only in (None, "help"):
        run_help_examples(isoflop, a.bin, a.source, a.keep, a.verbose, result)
    if a.only in (None, "docs"):
        run_doc_blocks(a.bin, a.source, a.keep, a.verbose, result)
    for label, reason in result.skipped:
        print("skipped: %s  (%s)" % (label, reason))
    for label, problem, out in result.failed:
        tail = "\n".join(out.rstrip().splitlines()[-15:])
        print("FAILED: %s: %s\n%s\n" % (label, problem, "    " + tail.replace("\n", "\n    ")))
    print("docs/help examples: %d passed, %d failed, %d skipped (marked)" %
          (len(result.ran), len(result.failed), len(result.skipped)))
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
