"""Time mr against baselines run side by side, and print the ratios.

    python benchmarks/run.py            # the full table (several minutes; builds a 100,000-link registry once)
    python benchmarks/run.py --short    # every case once on small fixtures (CI smoke test)
    python benchmarks/run.py --growth   # how each command's cost grows: 1k / 10k / 100k links, 200 / 2k / 20k changes

Each case runs a baseline command and an mr command alternately (5 runs
each, after a warm-up), and reports the median, min and max wall time and
the peak memory of mr (GNU time's, when installed), the ratio of the
medians and the target. The target is judged on the worst run: each mr run
against the baseline run beside it. Fixtures are built with git fast-import
under benchmarks/.cache (reused between runs); GTO 1.10.1 is installed into
a virtual environment of its own there.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = Path(os.environ.get("MR_BENCH_CACHE", HERE / ".cache"))
GTO_VERSION = "1.10.1"
#: cases whose mr side leaves a cache to weigh after its last run: case name -> cache folder
CACHE_SIZES: dict[str, Path] = {}


@dataclass
class Measure:
    times: list[float] = field(default_factory=list)
    peak_kib: int = 0
    cache_bytes: int | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.times)


@dataclass
class Command:
    argv: list[str]
    cwd: Path
    env: dict[str, str] | None = None
    before: Callable[[], None] | None = None  # reset state, outside the timing
    stdin: bytes | None = None


@dataclass
class Case:
    name: str
    baseline_name: str
    baseline: Command
    mr: Command
    #: "max" (mr/baseline must be at most limit), "faster" (baseline/mr at least limit),
    #: "seconds" (mr must take less than limit seconds; the baseline is shown beside it), or
    #: "reference" (no target: how far mr is from git doing the same work itself)
    kind: str
    limit: float
    note: str = ""
    #: folders weighed after the last mr run, and the most bytes they may hold
    weigh: list[Path] = field(default_factory=list)
    disk_limit: int | None = None
    #: the most memory the mr side may use at its peak, MiB
    peak_limit_mib: int | None = None


#: GNU time reports the peak memory of the command alone. A child's ru_maxrss from
#: wait4 also counts the memory of the process it was forked from (this runner),
#: which grows with the fixtures it has built.
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def run_once(cmd: Command) -> tuple[float, int]:
    if cmd.before:
        cmd.before()
    env = dict(os.environ, **(cmd.env or {}))
    peak_file = None
    argv = cmd.argv
    if GNU_TIME:
        fd, peak_file = tempfile.mkstemp(prefix="mr-bench-peak-")
        os.close(fd)
        argv = [GNU_TIME, "-q", "-f", "%M", "-o", peak_file, *cmd.argv]
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=cmd.cwd,
        env=env,
        stdin=subprocess.PIPE if cmd.stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if cmd.stdin is not None:
        assert proc.stdin
        proc.stdin.write(cmd.stdin)
        proc.stdin.close()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read() if proc.stderr else b""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd.argv)} exited {code}: {err.decode(errors='replace')[-500:]}")
    peak = int(usage.ru_maxrss)
    if peak_file is not None:
        with open(peak_file) as f:
            text = f.read().strip()
        os.unlink(peak_file)
        peak = int(text.splitlines()[-1]) if text else peak
    return elapsed, peak


def measure(case: Case, runs: int, warmup: int) -> tuple[Measure, Measure]:
    base, ours = Measure(), Measure()
    for _ in range(warmup):
        run_once(case.baseline)
        run_once(case.mr)
    for _ in range(runs):
        for cmd, m in ((case.baseline, base), (case.mr, ours)):
            t, peak = run_once(cmd)
            m.times.append(t)
            m.peak_kib = max(m.peak_kib, peak)
    if case.name in CACHE_SIZES:  # weigh the cache the last mr run left
        ours.cache_bytes = du(CACHE_SIZES[case.name])
    if case.weigh:
        ours.cache_bytes = sum(du(p) for p in case.weigh if p.exists())
    for cmd in (case.baseline, case.mr):  # leave the fixtures as they were
        if cmd.before:
            cmd.before()
    return base, ours


def verdict(case: Case, base: Measure, ours: Measure) -> tuple[str, str, bool]:
    """The ratio of the medians, and whether the worst run meets the target.

    Each run of mr is paired with the baseline run beside it, so a moment of
    load on the machine weighs on both; the worst pair is what is judged.
    """
    if case.kind == "reference":
        pairs = list(zip(base.times, ours.times, strict=True))
        worst = max(o / b for b, o in pairs)
        return f"{ours.median / base.median:.2f}x (worst {worst:.2f}x)", "reference, no target", True
    if case.kind == "seconds":
        worst = max(ours.times)
        return f"{ours.median:.2f} s (worst {worst:.2f} s)", f"< {case.limit:g} s", worst < case.limit
    pairs = list(zip(base.times, ours.times, strict=True))
    if case.kind == "faster":
        ratio = base.median / ours.median
        worst = min(b / o for b, o in pairs)
        return f"{ratio:.1f}x faster (worst {worst:.1f}x)", f">= {case.limit:g}x faster", worst >= case.limit
    ratio = ours.median / base.median
    worst = max(o / b for b, o in pairs)
    return f"{ratio:.2f}x (worst {worst:.2f}x)", f"<= {case.limit:g}x", worst <= case.limit


# --- environments ------------------------------------------------------------


def mr_command(short: bool) -> list[str]:
    """mr as users get it: installed from this checkout (not editable) into a venv of its own.

    The short mode uses the mr beside this interpreter instead.
    """
    if short:
        exe = shutil.which("mr", path=os.path.dirname(sys.executable))
        return [exe] if exe else [sys.executable, "-m", "mr"]
    venv = CACHE / "mr-venv"
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    has_dvc = subprocess.run([str(venv / "bin" / "python"), "-c", "import dvc_objects, dvc_http"], capture_output=True)
    if has_dvc.returncode != 0:
        subprocess.run([*pip, f"{ROOT}[dvc]"], check=True)  # with the DVC extra: mr get of a model kept in DVC
    subprocess.run([*pip, "--no-deps", "--force-reinstall", str(ROOT)], check=True, capture_output=True)
    return [str(venv / "bin" / "mr")]


def gto_command(short: bool) -> list[str] | None:
    """GTO 1.10.1 in a virtual environment of its own (None when it cannot be installed)."""
    if short:
        return None
    venv = CACHE / f"gto-{GTO_VERSION}"
    exe = venv / "bin" / "gto"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        r = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", f"gto=={GTO_VERSION}"], capture_output=True)
        if r.returncode != 0:
            print(f"# GTO {GTO_VERSION} could not be installed; its cases are left out", file=sys.stderr)
            return None
    return [str(exe)]


def isolated_env(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text("[user]\n\tname = Bench\n\temail = bench@example.com\n")
    return {
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "MR_CACHE_DIR": str(home / "mr-cache"),
        "NO_COLOR": "1",
        "GTO_NO_ANALYTICS": "1",
        "GTO_ANALYTICS": "false",
    }


# --- cases ---------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def cat_file_script(reg: Path) -> Command:
    """The floor for verify: one ``git cat-file --batch`` per project, reading each link's target."""
    by_project: dict[str, list[str]] = {}
    for f in sorted(reg.glob("*.mlem")):
        fields = dict(line.split(": ", 1) for line in f.read_text().splitlines() if ": " in line)
        by_project.setdefault(fields["project"], []).append(f"{fields['rev']}:{fields['path']}")
    script = "".join(
        f"git -C {p} cat-file --batch >/dev/null <<'EOF'\n" + "\n".join(specs) + "\nEOF\n"
        for p, specs in by_project.items()
    )
    return Command(["bash", "-c", script], reg)


def du(path: Path) -> int:
    """Bytes of the files under ``path``."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def daemon(base: Path) -> str:
    """A git daemon serving ``base`` with partial-clone filters allowed; its URL prefix."""
    import atexit
    import socket

    port = free_port()
    proc = subprocess.Popen(
        [
            "git",
            "-c",
            "uploadpack.allowFilter=true",
            "-c",
            "uploadpack.allowAnySHA1InWant=true",
            "daemon",
            "--reuseaddr",
            "--export-all",
            f"--base-path={base}",
            "--listen=127.0.0.1",
            f"--port={port}",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    atexit.register(proc.terminate)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return f"git://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("git daemon did not start")


def linked_registry(reg: Path, url: str, links: dict[str, str]) -> Path:
    """A registry (work tree on ``dev``) of links NAME -> rev to ``models/rf.mlem`` in the project at
    ``url``. The served projects' port changes between runs, so the links are written anew each time."""
    if not (reg / ".done").exists():
        shutil.rmtree(reg, ignore_errors=True)
        reg.mkdir(parents=True)
        git(reg, "init", "-q", "-b", "dev")
    for name, rev in links.items():
        (reg / f"{name}.mlem").write_text(
            f"link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: {url}\nrev: {rev}\n"
        )
    (reg / ".done").write_text("")
    return reg


def cold_verify_case(mr: list[str], env: dict[str, str], short: bool) -> tuple[Case, Path]:
    """The first mr verify of two links into a long history of large binaries, cache cold."""
    commits, mib = (8, 0.5) if short else (40, 2.0)
    served = CACHE / "served"
    generate.heavy_project(served / f"heavy-{commits}x{mib:g}.git", commits, mib)
    url = f"{daemon(served)}/heavy-{commits}x{mib:g}.git"
    reg = linked_registry(CACHE / f"reg-heavy-{commits}x{mib:g}", url, {"latest": "main", "first": "v1"})
    cache = Path(env["HOME"]) / "cold-cache"
    floor_dir = Path(env["HOME"]) / "floor.git"

    def clear_cache() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    def clear_floor() -> None:
        shutil.rmtree(floor_dir, ignore_errors=True)

    floor = (
        f"git clone -q --bare --filter=blob:none {url} {floor_dir} && "
        f"printf 'main:models/rf.mlem\\nv1:models/rf.mlem\\n' | git -C {floor_dir} cat-file --batch >/dev/null"
    )
    case = Case(
        f"cold mr verify, 2 links, {commits} commits x {mib:g} MiB",
        "git clone --filter=blob:none + cat-file",
        Command(["bash", "-c", floor], ROOT, env, clear_floor),
        Command([*mr, "verify", "-q"], reg, dict(env, MR_CACHE_DIR=str(cache)), clear_cache),
        "max",
        3.0,
        note="cache under 8 MiB",
    )
    return case, cache


def cold_get_case(mr: list[str], env: dict[str, str], short: bool) -> Case:
    """mr get of a model whose artifact is large, from a long history of such versions, cache cold.

    The floor is what git alone needs for the same bytes: a blob:none clone,
    then git cat-file of the meta and the artifact into files.
    """
    commits, mib = (4, 0.5) if short else (20, 50.0)
    served = CACHE / "served"
    name = f"model-{commits}x{mib:g}.git"
    generate.model_history(served / name, commits, mib)
    url = f"{daemon(served)}/{name}"
    reg = linked_registry(CACHE / f"reg-model-{commits}x{mib:g}", url, {"latest": "main"})
    home = Path(env["HOME"])
    cache, out = home / "get-cache", home / "get-out"
    floor_dir = home / "get-floor"

    def clear() -> None:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)

    def clear_floor() -> None:
        shutil.rmtree(floor_dir, ignore_errors=True)

    floor = (
        f"git clone -q --bare --filter=blob:none {url} {floor_dir}/repo.git && "
        f"git -C {floor_dir}/repo.git cat-file blob main:models/rf.mlem > {floor_dir}/rf.mlem && "
        f"git -C {floor_dir}/repo.git cat-file blob main:models/rf.bin > {floor_dir}/rf.bin"
    )
    artifact = int(mib * 2**20)
    return Case(
        f"cold mr get, {mib:g} MiB artifact, {commits} versions in history",
        "git clone --filter=blob:none + cat-file of the 2 blobs",
        Command(["bash", "-c", floor], ROOT, env, clear_floor),
        Command([*mr, "get", "latest", "-o", str(out), "-q"], reg, dict(env, MR_CACHE_DIR=str(cache)), clear),
        "max",
        1.5,
        weigh=[cache, out],
        disk_limit=int(2.2 * artifact),
        peak_limit_mib=100,
    )


DVC_VERSION = "3.67.1"


def dvc_command() -> str | None:
    """Real DVC (MR_DVC, else DVC 3.67.1 in a virtual environment of its own; None when it cannot be installed)."""
    if os.environ.get("MR_DVC"):
        return os.environ["MR_DVC"]
    venv = CACHE / f"dvc-{DVC_VERSION}"
    exe = venv / "bin" / "dvc"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        r = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", f"dvc=={DVC_VERSION}"], capture_output=True)
        if r.returncode != 0:
            print(f"# DVC {DVC_VERSION} could not be installed; its case is left out", file=sys.stderr)
            return None
    return str(exe)


def cold_dvc_get_case(mr: list[str], env: dict[str, str], short: bool) -> Case | None:
    """mr get of a model whose 50 MiB artifact is kept in DVC (a folder remote), cache cold, against
    ``dvc get`` of the same file at the same rev from the same served repository."""
    dvc = dvc_command() if not short or os.environ.get("MR_DVC") else None
    if dvc is None:
        return None
    mib = 1.0 if short else 50.0
    served = CACHE / "served"
    name = f"dvc-{mib:g}.git"
    generate.dvc_project(served / name, CACHE / f"dvc-remote-{mib:g}", mib, dvc)
    url = f"{daemon(served)}/{name}"
    sha = git(served / name, "rev-parse", "main")
    reg = linked_registry(CACHE / f"reg-dvc-{mib:g}", url, {"churn": sha})
    home = Path(env["HOME"])
    cache, out, theirs = home / "dvc-get-cache", home / "dvc-get-out", home / "dvc-get-theirs"
    dvc_env = dict(env, DVC_NO_ANALYTICS="1", DVC_SITE_CACHE_DIR=str(home / "dvc-site"))

    def clear() -> None:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)

    def clear_theirs() -> None:
        theirs.unlink(missing_ok=True)  # dvc get writes the file itself there
        shutil.rmtree(home / "dvc-site", ignore_errors=True)

    artifact = int(mib * 2**20)
    return Case(
        f"cold mr get, {mib:g} MiB artifact kept in DVC (folder remote)",
        "dvc get of the same file at the same rev",
        Command([dvc, "get", "--rev", sha, "-o", str(theirs), url, "models/rf"], home, dvc_env, clear_theirs),
        Command([*mr, "get", "churn", "-o", str(out), "-q"], reg, dict(env, MR_CACHE_DIR=str(cache)), clear),
        "max",
        1.0,
        weigh=[cache, out],
        disk_limit=int(2.2 * artifact),
        peak_limit_mib=150,
    )


#: git itself committing one changed link onto s1 (l0 as s0 has it), the floor of any tool's promotion:
#: the root tree is read, written again with one entry changed, and a commit made on it
GIT_EDIT = (
    "blob=$(git rev-parse s0:l0.mlem) && "
    "tree=$( (git ls-tree s1 | grep -v \"$(printf '\\t')l0.mlem\\$\"; printf '100644 blob %s\\tl0.mlem\\n' \"$blob\") "
    '| git mktree) && git commit-tree "$tree" -p s1 -m promote >/dev/null'
)


def promote_reset(reg: Path) -> Callable[[], None]:
    """Put ``s1`` back where it was before a timed ``mr promote l0 --to s1``."""
    tip = git(reg, "rev-parse", "s1")

    def reset() -> None:
        git(reg, "update-ref", "refs/heads/s1", tip)

    return reset


def sync_command(mr: list[str], env: dict[str, str], reg: Path) -> Command:
    """``mr sync`` in a clone of ``reg`` whose remote has moved ``s1`` by a commit changing 10 links."""
    ten = generate.ten_links(reg)
    base = CACHE / f"sync-{reg.name}"
    origin, clone = base / "origin.git", base / "clone"
    if not (base / ".done").exists():
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        subprocess.run(["git", "clone", "-q", "--bare", str(reg), str(origin)], check=True)
        subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
        for stage in ("s1", "s2"):
            git(clone, "branch", "-q", stage, f"origin/{stage}")
        (base / ".done").write_text("")
    s1 = git(reg, "rev-parse", "s1")

    def behind() -> None:
        # the clone as it was; the remote one commit further on s1
        for ref in ("refs/heads/s1", "refs/remotes/origin/s1"):
            git(clone, "update-ref", ref, s1)
        git(origin, "update-ref", "refs/heads/s1", ten)

    return Command([*mr, "sync", "-q"], clone, env, behind)


def history_cases(mr: list[str], env: dict[str, str], short: bool) -> list[Case]:
    """``mr show NAME`` on a long history: against git log's floor, and its growth tenfold."""
    small, big = (200, 2000) if short else (2000, 20000)
    few = generate.link_history(CACHE / f"history-{small}", small)
    many = generate.link_history(CACHE / f"history-{big}", big)
    floor = Command(["git", "log", "--format=%H", "s0", "s1", "s2", "--", "l0.mlem"], many)
    return [
        Case(
            f"mr show NAME, {big} changes + {big} promotions",
            "git log --format=%H s0 s1 s2 -- l0.mlem",
            floor,
            Command([*mr, "show", "l0"], many, env),
            "max",
            3.0,
        ),
        Case(
            f"mr show NAME, {big} changes + {big} promotions",
            "git log printing what mr reads of each change (author, times, message, the file's blob ids)",
            Command(
                [
                    "git",
                    "log",
                    "--full-history",
                    "-c",
                    "--raw",
                    "--no-abbrev",
                    "-z",
                    "--date=raw",
                    "--format=%H%x00%P%x00%an%x00%ae%x00%ad%x00%ct%x00%B",
                    "s0",
                    "s1",
                    "s2",
                    "--",
                    "l0.mlem",
                ],
                many,
            ),
            Command([*mr, "show", "l0"], many, env),
            "reference",
            0.0,
        ),
        Case(
            f"mr show NAME, {big} changes + {big} promotions",
            f"the same at {small}",
            Command([*mr, "show", "l0"], few, env),
            Command([*mr, "show", "l0"], many, env),
            "max",
            12.0,
        ),
    ]


def site_case(mr: list[str], env: dict[str, str], short: bool) -> Case:
    """``mr site`` of 1,000 links x 3 stages with 20 history entries each, against what it must gather
    anyway: ``mr show --all-stages --json`` and ``mr show NAME --json`` for 20 links."""
    import shlex

    n, p, h = (100, 5, 2000) if short else (1000, 20, 20000)
    reg = generate.registry(CACHE / f"reg-{n}-{p}-h{h}", n, p, history=h)
    out = Path(tempfile.mkdtemp(prefix="mr-bench-site-")) / "site"
    show = shlex.join([*mr, "show", "--all-stages", "--json"])
    names = " ".join(f"l{i}" for i in range(20))
    gather = f"{show} >/dev/null && for n in {names}; do {shlex.join([*mr, 'show'])} $n --json >/dev/null; done"
    return Case(
        f"mr site, {n} links x 3 stages, {h // n} changes each",
        "mr show --all-stages --json + 20 x mr show NAME --json",
        Command(["bash", "-c", gather], reg, env),
        Command([*mr, "site", "-o", str(out), "-q"], reg, env),
        "max",
        3.0,
        weigh=[out],
        disk_limit=10_000_000,
    )


def scale_cases(mr: list[str], env: dict[str, str], short: bool) -> list[Case]:
    """A registry of 100,000 links from 1,000 projects (3 stages), against floors and 1,000 links."""
    (n, p), (n1k, p1k) = ((3000, 30), (300, 10)) if short else ((100_000, 1000), (1000, 20))
    big = generate.registry(CACHE / f"reg-{n}-{p}", n, p)
    small = generate.registry(CACHE / f"reg-{n1k}-{p1k}", n1k, p1k)
    for reg in (big, small):
        generate.ten_links(reg)
    floor = "git ls-tree -r --format='%(objectname)' s2 | git cat-file --batch >/dev/null"
    stage_json = Command([*mr, "show", "--stage", "s2", "--json"], big, env)
    complete_env = dict(env, COMP_WORDS="mr promote l12", COMP_CWORD="2", _MR_COMPLETE="bash_complete")
    promote = [*mr, "promote", "l0", "--to", "s1", "--yes", "-q"]
    diff = [*mr, "show", "--diff", "s2", "ten"]
    return [
        Case(
            f"mr show --stage --json, {n} links",
            "git ls-tree -r, then git cat-file --batch",
            Command(["bash", "-c", floor], big),
            stage_json,
            "max",
            4.0,
        ),
        Case(
            f"mr show --all-stages --json, {n} links",
            "mr show --stage --json",
            stage_json,
            Command([*mr, "show", "--all-stages", "--json"], big, env),
            "max",
            3.0,
        ),
        Case(
            f"mr verify --offline, warm, {n} links / {p} projects",
            "git ls-tree -r, then git cat-file --batch",
            Command(["bash", "-c", floor], big),
            Command([*mr, "verify", "--offline", "-q"], big, env),
            "seconds",
            20.0,
            peak_limit_mib=400,
        ),
        Case(
            f"mr promote 1 link, {n} links",
            f"the same at {n1k} links",
            Command(promote, small, env, promote_reset(small)),
            Command(promote, big, env, promote_reset(big)),
            "max",
            1.3,
        ),
        Case(
            f"mr promote 1 link, {n} links",
            "git's own commit of one changed file (git mktree of the edited root tree, git commit-tree)",
            Command(["bash", "-c", GIT_EDIT], big),
            Command(promote, big, env, promote_reset(big)),
            "reference",
            0.0,
        ),
        Case(
            f"complete a link name, {n} links",
            "python -c 'import click'",
            Command([sys.executable, "-c", "import click"], big),
            Command(mr, big, complete_env),
            "seconds",
            0.3,
        ),
        Case(
            f"mr show --diff of commits 10 links apart, {n} links",
            f"the same at {n1k} links",
            Command(diff, small, env),
            Command(diff, big, env),
            "max",
            1.5,
        ),
        Case(
            f"mr sync, 10 links moved, {n} links",
            f"the same at {n1k} links",
            sync_command(mr, env, small),
            sync_command(mr, env, big),
            "max",
            1.5,
        ),
    ]


def cases(short: bool, env: dict[str, str]) -> list[Case]:
    mr = mr_command(short)
    py = sys.executable
    out: list[Case] = []
    small = short
    n1k, p1k = (100, 5) if small else (1000, 20)
    n10k, p10k = (300, 10) if small else (10000, 100)

    reg1k = generate.registry(CACHE / f"reg-{n1k}-{p1k}", n1k, p1k)
    reg10k = generate.registry(CACHE / f"reg-{n10k}-{p10k}", n10k, p10k)
    show50 = generate.registry(CACHE / "reg-50-10", 50, 10)

    if not short:
        py = str(CACHE / "mr-venv" / "bin" / "python")  # the same interpreter and site as mr
    out.append(
        Case(
            "mr --help",
            "python -c 'import click'",
            Command([py, "-c", "import click"], ROOT),
            Command([*mr, "--help"], ROOT, env),
            "max",
            1.5,
        )
    )
    complete_env = dict(env, COMP_WORDS="mr promote l1", COMP_CWORD="2", _MR_COMPLETE="bash_complete")
    out.append(
        Case(
            "complete a link name (50 links)",
            "python -c 'import click'",
            Command([py, "-c", "import click"], show50),
            Command(mr, show50, complete_env),
            "max",
            2.0,
        )
    )
    out.append(
        Case(
            f"mr verify, {n1k} links, {p1k} projects",
            "git cat-file --batch per project",
            cat_file_script(reg1k),
            Command([*mr, "verify", "-q"], reg1k, env),
            "max",
            2.0,
        )
    )
    out.append(
        Case(
            f"mr verify, {n10k} links, {p10k} projects",
            f"mr verify at {n1k} links",
            Command([*mr, "verify", "-q"], reg1k, env),
            Command([*mr, "verify", "-q"], reg10k, env),
            "max",
            12.0 if not small else 12.0,
            note="peak memory under 150 MiB",
        )
    )

    # promote: history length must not matter
    deep = generate.registry(CACHE / f"reg-{n10k}-{p10k}-h1000", n10k, p10k, history=1000 if not small else 50)
    shallow = generate.registry(CACHE / f"reg-{n10k}-{p10k}-h10", n10k, p10k, history=10)

    def resetter(reg: Path) -> Callable[[], None]:
        tip = git(reg, "rev-parse", "s1")

        def reset() -> None:
            git(reg, "update-ref", "refs/heads/s1", tip)

        return reset

    out.append(
        Case(
            f"mr promote 1 link, {n10k} links, {'1000' if not small else '50'} commits",
            "the same with 10 commits",
            Command([*mr, "promote", "l0", "--to", "s1", "--yes", "-q"], shallow, env, resetter(shallow)),
            Command([*mr, "promote", "l0", "--to", "s1", "--yes", "-q"], deep, env, resetter(deep)),
            "max",
            1.3,
        )
    )

    local_show = Command([*mr, "show"], show50, env)
    url = f"file://{show50}"
    remote_show = Command([*mr, "show", "--registry", url, "--stage", "s0"], ROOT, env)
    run_once(remote_show)  # the first call clones into the cache; the case times the second
    out.append(Case("mr show --registry URL (second call)", "local mr show", local_show, remote_show, "max", 1.5))

    out += history_cases(mr, env, short)
    out.append(site_case(mr, env, short))
    dvc_case = cold_dvc_get_case(mr, env, short)
    if dvc_case is not None:
        out.append(dvc_case)
    out += scale_cases(mr, env, short)

    cold, cold_cache = cold_verify_case(mr, env, short)
    out.append(cold)
    CACHE_SIZES[cold.name] = cold_cache
    out.append(cold_get_case(mr, env, short))

    gto = gto_command(short)
    if gto is not None:
        repo = generate.gto_repo(CACHE / "gto-50x5")
        out.append(
            Case(
                "mr --help",
                "gto --help",
                Command([*gto, "--help"], ROOT, env),
                Command([*mr, "--help"], ROOT, env),
                "faster",
                6.0,
            )
        )
        out.append(
            Case(
                "mr show --all-stages, 50 links, 3 stages",
                f"gto show, 50 artifacts ({generate.tag_count(repo)} tags)",
                Command([*gto, "show"], repo, env),
                Command([*mr, "show", "--all-stages"], show50, env),
                "faster",
                12.0,
            )
        )
        original = set(git(repo, "tag").split())

        def drop_tag() -> None:
            # undo the assignment of the run before, outside the timing
            for extra in set(git(repo, "tag").split()) - original:
                git(repo, "tag", "-d", extra)

        out.append(
            Case(
                "mr promote 1 link",
                f"gto assign, {generate.tag_count(repo)} tags",
                Command(
                    [*gto, "assign", "a0", "--version", "v0.0.2", "--stage", "prod", "--force"], repo, env, drop_tag
                ),
                Command([*mr, "promote", "l0", "--to", "s1", "--yes", "-q"], show50, env, resetter(show50)),
                "faster",
                10.0,
            )
        )
    return out


#: the sizes of the cost-growth table: (links, projects) and history lengths
GROWTH_LINKS = ((1000, 20), (10_000, 100), (100_000, 1000))
GROWTH_HISTORY = (200, 2000, 20000)


def growth(mr: list[str], env: dict[str, str], runs: int) -> list[str]:
    """How each command's cost grows with the registry: a markdown table, median time and peak memory."""
    regs = [generate.registry(CACHE / f"reg-{n}-{p}", n, p) for n, p in GROWTH_LINKS]
    for reg in regs:
        generate.ten_links(reg)
    histories = [generate.link_history(CACHE / f"history-{h}", h) for h in GROWTH_HISTORY]
    complete_env = dict(env, COMP_WORDS="mr promote l12", COMP_CWORD="2", _MR_COMPLETE="bash_complete")
    rows: list[tuple[str, list[Command]]] = [
        ("mr show --stage s2 --json", [Command([*mr, "show", "--stage", "s2", "--json"], r, env) for r in regs]),
        ("mr show --all-stages --json", [Command([*mr, "show", "--all-stages", "--json"], r, env) for r in regs]),
        ("mr verify --offline (warm)", [Command([*mr, "verify", "--offline", "-q"], r, env) for r in regs]),
        (
            "mr promote l0 --to s1",
            [Command([*mr, "promote", "l0", "--to", "s1", "--yes", "-q"], r, env, promote_reset(r)) for r in regs],
        ),
        ("complete a link name (3 characters)", [Command(mr, r, complete_env) for r in regs]),
        ("mr show --diff, 10 links apart", [Command([*mr, "show", "--diff", "s2", "ten"], r, env) for r in regs]),
        ("mr sync, 10 links moved", [sync_command(mr, env, r) for r in regs]),
        (
            "git ls-tree -r, then git cat-file --batch (floor)",
            [
                Command(
                    ["bash", "-c", "git ls-tree -r --format='%(objectname)' s2 | git cat-file --batch >/dev/null"], r
                )
                for r in regs
            ],
        ),
    ]
    links = " | ".join(f"{n:,} links" for n, _ in GROWTH_LINKS)
    out = [f"| command | {links} |", "|---|---|---|---|"]

    def cell(cmd: Command) -> str:
        run_once(cmd)  # warm-up (fills the kept links)
        times, peak = [], 0
        for _ in range(runs):
            t, kib = run_once(cmd)
            times.append(t)
            peak = max(peak, kib)
        if cmd.before:
            cmd.before()
        return f"{statistics.median(times):.2f} s, {peak / 1024:.0f} MiB"

    for label, commands in rows:
        out.append(f"| {label} | " + " | ".join(cell(c) for c in commands) + " |")
        print(f"# {label}", file=sys.stderr, flush=True)
    history = " | ".join(f"{h:,} changes" for h in GROWTH_HISTORY)
    out += ["", f"| history of one link (+ as many promotions) | {history} |", "|---|---|---|---|"]
    out.append("| mr show NAME | " + " | ".join(cell(Command([*mr, "show", "l0"], h, env)) for h in histories) + " |")
    floors = [Command(["git", "log", "--format=%H", "s0", "s1", "s2", "--", "l0.mlem"], h) for h in histories]
    out.append("| git log -- NAME.mlem (floor) | " + " | ".join(cell(c) for c in floors) + " |")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="small fixtures, one run each: a smoke test")
    parser.add_argument("--runs", type=int, default=None, help="timed runs per command (default 5, or 1 with --short)")
    parser.add_argument("--only", help="run only cases whose name contains this")
    parser.add_argument("--growth", action="store_true", help="print how each command's cost grows with size")
    args = parser.parse_args()
    runs = args.runs or (1 if args.short else 5)
    warmup = 0 if args.short else 1
    CACHE.mkdir(parents=True, exist_ok=True)
    env = isolated_env(Path(tempfile.mkdtemp(prefix="mr-bench-home-")))
    os.environ.update(env)

    if args.growth:
        print(
            f"# {platform.node()}: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}; median of {args.runs or 3} runs after a warm-up"
        )
        print("\n".join(growth(mr_command(False), env, args.runs or 3)))
        return 0
    print(
        f"# {platform.node()}: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {runs} runs after {warmup} warm-up"
    )
    header = ["case", "baseline", "baseline median", "mr median (min-max)", "mr peak", "ratio", "target", "met"]
    rows = []
    failed = 0
    for case in cases(args.short, env):
        if args.only and args.only not in case.name:
            continue
        base, ours = measure(case, runs, warmup)
        ratio, target, ok = verdict(case, base, ours)
        if case.note and "150 MiB" in case.note:
            ok = ok and ours.peak_kib < 150 * 1024
            target += ", < 150 MiB"
        if case.peak_limit_mib is not None:
            ok = ok and ours.peak_kib < case.peak_limit_mib * 1024
            target += f", < {case.peak_limit_mib} MiB"
        if ours.cache_bytes is not None and case.disk_limit is not None:
            ok = ok and ours.cache_bytes < case.disk_limit
            target += f", cache + output < {case.disk_limit / 2**20:.1f} MiB (was {ours.cache_bytes / 2**20:.1f} MiB)"
        elif ours.cache_bytes is not None:
            ok = ok and ours.cache_bytes < 8 * 1024 * 1024
            target += f", cache < 8 MiB (was {ours.cache_bytes / 1024:.0f} KiB)"
        failed += not ok
        rows.append(
            [
                case.name,
                case.baseline_name,
                f"{base.median * 1000:.0f} ms",
                f"{ours.median * 1000:.0f} ms ({min(ours.times) * 1000:.0f}-{max(ours.times) * 1000:.0f})",
                f"{ours.peak_kib / 1024:.0f} MiB",
                ratio,
                target,
                "yes" if ok else "NO",
            ]
        )
        print(f"# {case.name}: {ratio}", file=sys.stderr, flush=True)
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if args.short:
        return 0  # a smoke test: timings on a small fixture say nothing
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
