"""Mutation testing of the modules whose rules users depend on, with mutmut.

    python benchmarks/mutation.py                  # every scope (tens of minutes)
    python benchmarks/mutation.py locations urls   # some of them (gitwrite: the git write path)
    python benchmarks/mutation.py --check          # only: is the equivalent-mutant list current? (seconds)
    python benchmarks/mutation.py linkfile --only 'mr.linkfile.x_path_problem__mutmut_*'   # re-check some

Each module is mutated in a copy of the files git tracks (nothing here is
touched), against the tests that exercise it. The report gives, per module,
the mutants made, killed and survived, and the score: killed / (made -
equivalent). Every survivor not listed in ``mutation-equivalent.txt`` is
printed with its diff: kill it with a test that checks a value, or list it
there with one line saying why it cannot change behaviour.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EQUIVALENT = HERE / "mutation-equivalent.txt"


@dataclass(frozen=True)
class Scope:
    """What one scope mutates (``mr/<module>.py``, or only some of its functions) and the tests run per mutant."""

    #: the module's dotted name below ``mr`` (``git``, ``commands.promote``)
    module: str
    tests: tuple[str, ...]
    #: only these functions of the module are mutated (all of it when empty)
    functions: tuple[str, ...] = ()
    #: tests left out (``file::name``): they run mr in a child process, where mutmut's trampolines cannot work
    deselect: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        """The module's file, from the repository root."""
        return "mr/" + self.module.replace(".", "/") + ".py"

    def patterns(self) -> list[str]:
        """mutmut's names for this scope's mutants, as globs (``mr.git.x_commit_files__mutmut_*``)."""
        return [f"mr.{self.module}.x_{f}__mutmut_*" for f in self.functions]

    def covers(self, mutant: str) -> bool:
        if not self.functions:
            return mutant.startswith(f"mr.{self.module}.")
        return any(fnmatch.fnmatchcase(mutant, p) for p in self.patterns())


#: scope name -> what it mutates and the tests that exercise it
SCOPES: dict[str, Scope] = {
    "locations": Scope("locations", ("tests/test_locations.py",)),
    "urls": Scope("urls", ("tests/test_urls.py", "tests/test_git.py", "tests/commands/test_verify.py")),
    "checks": Scope("checks", ("tests/test_checks.py", "tests/commands/test_verify.py")),
    "config": Scope("config", ("tests/test_config.py", "tests/commands/test_init.py", "tests/commands/test_verify.py")),
    "linkfile": Scope("linkfile", ("tests/test_linkfile.py", "tests/test_fastread.py")),
    "fastread": Scope("fastread", ("tests/test_fastread.py", "tests/test_linkfile.py")),
    "promotion": Scope(
        "commands.promote",
        (
            "tests/commands/test_promote_plan.py",
            "tests/commands/test_promote.py",
            "tests/commands/test_promote_race.py",
        ),
    ),
    "stagecommit": Scope(
        "stagecommit",
        (
            "tests/test_stagecommit.py",
            "tests/commands/test_promote.py",
            "tests/commands/test_promote_race.py",
            "tests/commands/test_rollback.py",
            "tests/test_shared_remote.py",
        ),
    ),
    # the git write path: trees edited, commits made (and signed), refs moved, the work tree updated
    "gitwrite": Scope(
        "git",
        (
            "tests/test_git.py",
            "tests/test_untrusted.py",
            "tests/test_stagecommit.py",
            "tests/commands/test_promote_race.py",
            "tests/test_signing.py",
            "tests/commands/test_promote.py",
            "tests/commands/test_rollback.py",
        ),
        functions=(
            "signature",
            "_tree_with",
            "_tree_without",
            "_edited_tree",
            "_write_tree",
            "wants_signing",
            "_create_commit",
            "commit_on_new_branch",
            "commit_files",
            "_raise_ref_failure",
            "stage_in_index",
            "update_worktree",
            "set_ref",
        ),
        deselect=("tests/test_untrusted.py::test_read_only_and_full_file_systems_are_one_line_errors",),
    ),
}
TARGET = 0.90


@dataclass(frozen=True)
class Equivalent:
    """A survivor that cannot change behaviour: its id, the source line it mutates, and why."""

    mutant: str
    line: str
    why: str


def read_equivalents(path: Path = EQUIVALENT) -> list[Equivalent]:
    """``MUTANT-ID | original source line | why`` per line; ``#`` starts a comment."""
    out = []
    if not path.exists():
        return out
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        parts = [p.strip() for p in raw.split(" | ")]
        if len(parts) != 3 or not all(parts):
            raise SystemExit(f"{path}:{n}: expected 'MUTANT-ID | original line | why'")
        out.append(Equivalent(*parts))
    return out


def stale_equivalents(entries: list[Equivalent], root: Path = ROOT) -> list[str]:
    """Entries whose module or source line no longer exists: the code moved on, look again."""
    problems = []
    for e in entries:
        m = re.match(r"mr\.([\w.]+)\.x_", e.mutant)
        module = root / "mr" / (m.group(1).replace(".", "/") + ".py") if m else None
        if module is None or not module.exists():
            problems.append(f"{e.mutant}: no such module")
            continue
        lines = {ln.strip() for ln in module.read_text().splitlines()}
        if e.line not in lines:
            problems.append(f"{e.mutant}: the line {e.line!r} is no longer in {module.relative_to(root)}")
    return problems


def copy_tree(dest: Path) -> None:
    """The files git tracks (and untracked, unignored ones), as they are in the work tree."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in files:
        if not raw:
            continue
        rel = raw.decode()
        src = ROOT / rel
        if not src.is_file() or src.is_symlink():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


def run_scope(name: str, children: int, only: list[str] | None = None) -> dict[str, str]:
    """mutant id -> status (killed, survived, no tests, timeout, ...) for one scope (``only``: these globs of it)."""
    scope = SCOPES[name]
    patterns = only or scope.patterns()
    with tempfile.TemporaryDirectory(prefix=f"mr-mutation-{name}-") as tmp:
        work = Path(tmp)
        copy_tree(work)
        cfg = work / "setup.cfg"
        tests = "\n    ".join(scope.tests)
        cfg.write_text(
            cfg.read_text() + f"\n[mutmut]\nsource_paths = {scope.path}\nalso_copy =\n    mr/\n"
            f"pytest_add_cli_args_test_selection =\n    {tests}\n"
            + (
                "pytest_add_cli_args =\n" + "".join(f"    --deselect={t}\n" for t in scope.deselect)
                if scope.deselect
                else ""
            )
        )
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        run = subprocess.run(
            [sys.executable, "-m", "mutmut", "run", "--max-children", str(children), *patterns],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            tail = (run.stdout + run.stderr)[-2000:]
            raise SystemExit(f"mutmut failed on {name}:\n{tail}")
        results = subprocess.run(
            [sys.executable, "-m", "mutmut", "results", "--all", "true"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        statuses = {}
        for line in results.splitlines():
            m = re.match(r"\s*(mr\.\S+): (.+)$", line)
            if m and scope.covers(m.group(1)) and (not only or any(fnmatch.fnmatchcase(m.group(1), p) for p in only)):
                statuses[m.group(1)] = m.group(2).strip()
        diffs = {}
        for mutant, status in statuses.items():
            if status == "survived":
                shown = subprocess.run(
                    [sys.executable, "-m", "mutmut", "show", mutant], cwd=work, env=env, capture_output=True, text=True
                ).stdout
                diffs[mutant] = "\n".join(
                    ln for ln in shown.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))
                )
        SHOWN.update(diffs)
        return statuses


def stale_scopes(root: Path = ROOT) -> list[str]:
    """Scopes naming a module or function that is no longer there (a rename would silently shrink them)."""
    problems = []
    for name, scope in SCOPES.items():
        module = root / scope.path
        if not module.exists():
            problems.append(f"scope {name}: no module {module.relative_to(root)}")
            continue
        defined = set(re.findall(r"^def (\w+)\(", module.read_text(), re.MULTILINE))
        for function in scope.functions:
            if function not in defined:
                problems.append(f"scope {name}: no function {function} in {module.relative_to(root)}")
        for test in scope.tests:
            if not (root / test).exists():
                problems.append(f"scope {name}: no test file {test}")
        for test in scope.deselect:
            file, _, function = test.partition("::")
            path = root / file
            if not path.exists() or not re.search(rf"^def {re.escape(function)}\(", path.read_text(), re.MULTILINE):
                problems.append(f"scope {name}: no test {test} to leave out")
    return problems


SHOWN: dict[str, str] = {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scopes", nargs="*", metavar="SCOPE", help=f"scopes to mutate (default: {', '.join(SCOPES)})")
    parser.add_argument("--check", action="store_true", help="only check that the equivalent-mutant list is current")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--only",
        action="append",
        metavar="GLOB",
        help="only the mutants matching this glob (repeatable), e.g. 'mr.linkfile.x_path_problem__mutmut_*'",
    )
    args = parser.parse_args()
    equivalents = read_equivalents()
    stale = stale_equivalents(equivalents) + stale_scopes()
    if args.check or stale:
        for problem in stale:
            print(f"stale: {problem}")
        print(f"{len(equivalents)} equivalent mutants listed, {len(stale)} stale")
        return 1 if stale else 0
    names = args.scopes or list(SCOPES)
    unknown = [m for m in names if m not in SCOPES]
    if unknown:
        parser.error(f"not a scope: {', '.join(unknown)} (scopes: {', '.join(SCOPES)})")
    by_id = {e.mutant: e for e in equivalents}

    def removed(mutant: str) -> set[str]:
        return {ln[1:].strip() for ln in SHOWN.get(mutant, "").splitlines() if ln.startswith("-")}

    def listed(mutant: str) -> bool:
        # an id is counted only while it still mutates the line it was listed for: ids are
        # numbered within a function, so an edit of the function can give the id to another mutant
        entry = by_id.get(mutant)
        return entry is not None and entry.line in removed(mutant)

    rows = []
    failed = False
    started = time.monotonic()
    for name in names:
        t0 = time.monotonic()
        statuses = run_scope(name, args.max_children, args.only)
        made = len(statuses)
        killed = sum(1 for s in statuses.values() if s in ("killed", "timeout", "segfault"))
        equivalent = sum(1 for m, s in statuses.items() if s == "survived" and listed(m))
        survivors = sorted(
            m for m, s in statuses.items() if s not in ("killed", "timeout", "segfault") and not listed(m)
        )
        score = killed / (made - equivalent) if made - equivalent else 1.0
        failed |= score < TARGET
        rows.append((name, made, killed, equivalent, len(survivors), score, time.monotonic() - t0))
        for mutant in survivors:
            function = mutant.rsplit("__mutmut_", 1)[0] + "__mutmut_"
            same_line = sorted(
                e.mutant for e in equivalents if e.mutant.startswith(function) and e.line in removed(mutant)
            )
            hint = f"(listed for this line: {', '.join(same_line)}; renumbered? check and update the id)\n"
            print(f"survivor ({statuses[mutant]}): {mutant}\n{SHOWN.get(mutant, '')}\n{hint if same_line else ''}")
    print("| scope | mutants | killed | equivalent | survived | score | seconds |")
    print("|---|---|---|---|---|---|---|")
    for name, made, killed, equivalent, survived, score, secs in rows:
        print(f"| {name} | {made} | {killed} | {equivalent} | {survived} | {score:.1%} | {secs:.0f} |")
    total = sum(r[1] for r in rows)
    print(f"{total} mutants in {time.monotonic() - started:.0f} s; target {TARGET:.0%} per scope")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
