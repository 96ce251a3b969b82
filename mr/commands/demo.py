"""``mr demo``: two model projects and a registry, built and used step by step."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile

MODEL = "object_type: model\nprocessors: {}\nrequirements: []\n"
DATA = "object_type: data\nreader: {}\n"

#: Used only when no git identity is set, so the demo runs on a fresh machine.
IDENTITY = {
    "GIT_AUTHOR_NAME": "mr demo",
    "GIT_AUTHOR_EMAIL": "demo@example.com",
    "GIT_COMMITTER_NAME": "mr demo",
    "GIT_COMMITTER_EMAIL": "demo@example.com",
}


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _project(
    path: str, history: list[tuple[str, dict[str, str], list[str]]], side: tuple[str, dict[str, str]] | None
) -> None:
    """A model project: commits on main (each with its tags), then a side branch."""
    from mr import git

    repo = git.init(path, "main")
    for message, files, tags in history:
        sha = git.commit_files(repo, "main", {k: v.encode() for k, v in files.items()}, message)
        for tag in tags:
            git.create_tag(repo, tag, sha, f"Release {tag}\n")
    if side is not None:
        name, files = side
        git.create_branch(repo, name, git.branch_tip(repo, "main") or "")
        git.commit_files(repo, name, {k: v.encode() for k, v in files.items()}, f"Try {name}")
    git.checkout_head(repo)


def run(folder: str | None = None, keep: bool = False) -> int:
    """Build the demo in ``folder`` (default: a temporary one) and run mr there."""
    if folder is not None:
        base = os.path.abspath(folder)
        if os.path.exists(base) and os.listdir(base):
            from mr.errors import UsageError

            raise UsageError(f"--dir {folder}: not empty; the demo needs an empty folder")
        os.makedirs(base, exist_ok=True)
    else:
        base = tempfile.mkdtemp(prefix="mr-demo-")
    env = dict(os.environ)
    missing = not (env.get("GIT_AUTHOR_NAME") and env.get("GIT_AUTHOR_EMAIL"))
    if missing:
        env.update(IDENTITY)
        os.environ.update(IDENTITY)
    env["NO_COLOR"] = env.get("NO_COLOR", "")
    status = 0
    try:
        _say(f"# The demo lives in {base}")
        _say("# Two model projects, as data scientists keep them:")
        _project(
            os.path.join(base, "churn-model"),
            [
                ("Train the churn model", {".mlem.yaml": "", "models/rf.mlem": MODEL}, ["v1.0.0"]),
                ("Retrain on March data", {"models/rf.mlem": MODEL + "# retrained\n"}, ["v1.1.0"]),
            ],
            ("experiment", {"models/xgb.mlem": MODEL}),
        )
        _project(
            os.path.join(base, "fraud-model"),
            [
                (
                    "Fraud model and its training data",
                    {".mlem.yaml": "", "models/gbm.mlem": MODEL, "data/train.mlem": DATA},
                    ["v0.1.0"],
                ),
            ],
            None,
        )
        _say("#   churn-model: models/rf (tags v1.0.0, v1.1.0), branch experiment with models/xgb")
        _say("#   fraud-model: models/gbm and data/train (tag v0.1.0)")
        _say("")
        registry = os.path.join(base, "registry")
        os.makedirs(registry)
        steps: list[tuple[list[str], bool]] = [
            (["mr", "init"], True),
            (["mr", "link", "--sp", "../churn-model", "models/rf", "churn"], True),
            (["mr", "link", "--sp", "../churn-model", "--rev", "v1.0.0", "models/rf", "churn-stable"], True),
            (
                [
                    "mr",
                    "link",
                    "--sp",
                    "../churn-model",
                    "--rev",
                    "experiment",
                    "--pin",
                    "models/xgb",
                    "churn/candidate",
                ],
                True,
            ),
            (["mr", "link", "--sp", "../fraud-model", "--rev", "v0.1.0", "models/gbm", "fraud"], True),
            (["mr", "link", "--sp", "../fraud-model", "data/train.mlem", "fraud-data"], True),
            (["mr", "link", "--no-follow-links", "churn", "champion"], True),
            (["cat", "champion.mlem"], True),
            (["cat", "churn.mlem"], True),
            (["cat", "churn/candidate.mlem"], True),
            (["mr", "link", "--sp", "../fraud-model", "models/nope", "broken"], False),
            (["mr", "link", "--sp", "../churn-model", "models/rf", "churn"], False),
            (["git", "add", "."], True),
            (["git", "commit", "-q", "-m", "Link the first models"], True),
            (["mr", "show"], True),
            (["mr", "show", "--stage", "dev", "--resolve"], True),
            (["mr", "verify"], True),
            (["mr", "promote", "churn", "churn-stable", "--to", "staging", "-m", "First release"], True),
            (["mr", "promote", "churn", "--to", "production"], True),
            (["mr", "show", "--all-stages"], True),
            (["mr", "show", "--diff", "staging", "production"], True),
            (["mr", "show", "churn"], True),
        ]
        for argv, should_pass in steps:
            _say("$ " + " ".join(shlex.quote(a) for a in argv))
            if argv[0] == "mr":
                cmd = [sys.executable, "-m", "mr", *argv[1:]]
            elif argv[0] == "cat":
                with open(os.path.join(registry, argv[1])) as f:
                    sys.stdout.write(f.read())
                _say("")
                continue
            else:
                cmd = argv
            sys.stdout.flush()
            rc = subprocess.call(cmd, cwd=registry, env=env)
            if (rc == 0) != should_pass:
                _say(f"# unexpected exit status {rc}")
                status = 1
            elif rc:
                _say(f"# (exit status {rc}, as expected: mr refuses and writes nothing)")
            _say("")
        _say("# Done." + (f" The demo is kept in {base}" if keep else " (mr demo --keep keeps the folder)"))
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
    return status
