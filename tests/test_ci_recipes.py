"""The CI recipes mr ships, run as written in a simulated CI checkout.

The GitHub Action's and the GitLab template's shell steps are read from their
YAML and run with bash in a shallow, single-branch clone at a detached HEAD
(as actions/checkout and GitLab runners leave it), with the CI's variables
set. Installing mr with pip would need a package index for its build
dependencies, which tests never reach, so the install step runs with
``MR_SKIP_INSTALL=1`` (which both recipes support, for runner images that
have mr already) and uses the mr under test; the requirement it would install
is checked to name this repository at an existing commit.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers import git
from tests.test_shared_remote import ci_checkout, origin, push_daemon  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parents[1]


def load(path: Path) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(path.read_text())


def expand(value: str, context: dict[str, str]) -> str:
    """GitHub's ``${{ a || b }}`` expressions over plain context values, as the runner expands them."""

    def one(m: re.Match[str]) -> str:
        for name in m.group(1).split("||"):
            found = context.get(name.strip(), "")
            if found:
                return found
        return ""

    return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", one, value)


def ci_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    # the mr under test, in place of the one pip would install
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]
    env["MR_SKIP_INSTALL"] = "1"
    env.update(extra)
    return env


def head() -> str:
    return git(ROOT, "rev-parse", "HEAD")


def run_action(cwd: Path, inputs: dict[str, str], **env: str) -> list[subprocess.CompletedProcess[str]]:
    action = load(ROOT / "action.yml")
    context = {f"inputs.{k}": str(inputs.get(k, spec.get("default", ""))) for k, spec in action["inputs"].items()}
    context["github.action_ref"] = head()
    context["github.action_repository"] = ROOT.name
    environment = ci_env(GITHUB_SERVER_URL=f"file://{ROOT.parent}", **env)
    done = []
    for step in action["runs"]["steps"]:
        if "run" not in step:
            assert step["uses"].startswith("actions/setup-python@")
            continue
        assert step["shell"] == "bash" and "${{" not in step["run"]  # values come in through env
        step_env = {k: expand(str(v), context) for k, v in (step.get("env") or {}).items()}
        script = cwd.parent / "step.sh"
        script.write_text(step["run"])
        # what the runner runs for shell: bash
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=cwd,
            env={**environment, **step_env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        done.append(proc)
        if proc.returncode != 0:
            break
    return done


def run_gitlab(
    cwd: Path, file: str = "gitlab-mr-verify.yml", name: str = ".mr-verify", **variables: str
) -> subprocess.CompletedProcess[str]:
    template = load(ROOT / "ci" / file)
    job = template[name]
    env = ci_env(**{k: str(v) for k, v in job["variables"].items()})
    env.update(variables)
    script = cwd.parent / "job.sh"
    # the runner runs a job's script lines one after another in one shell
    script.write_text("\n".join(job["script"]) + "\n")
    return subprocess.run(["bash", "-e", str(script)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_github_action_checks_a_pull_request(ci_checkout: Path) -> None:  # noqa: F811
    steps = run_action(ci_checkout, {}, GITHUB_BASE_REF="staging")
    assert [s.returncode for s in steps] == [0, 0, 0], steps[-1].stderr
    assert steps[2].stdout == "" and not (ci_checkout / "public").exists()  # no site asked for
    requirement = f"git+file://{ROOT}@{head()}"
    assert steps[0].stdout.splitlines()[0] == f"mr: installing {requirement}"
    assert git(ROOT, "cat-file", "-t", f"{head()}^{{commit}}") == "commit"
    assert steps[1].stdout.splitlines()[-2] == "ok: 3 links checked, 0 failed"
    # a change headed for production is held to production's policy: pins
    steps = run_action(ci_checkout, {}, GITHUB_BASE_REF="production")
    assert steps[1].returncode == 1
    assert steps[1].stdout.splitlines()[-2] == "failed: 3 links checked, 3 failed"
    assert "churn.mlem:5: error: stage production requires pinned links" in steps[1].stdout


def test_the_github_action_checks_a_stage_it_fetches(ci_checkout: Path) -> None:  # noqa: F811
    steps = run_action(ci_checkout, {"stage": "production", "args": "--offline --quiet"})
    assert steps[1].returncode == 1
    assert "git fetch origin production:refs/remotes/origin/production" in steps[1].stderr
    steps = run_action(ci_checkout, {"stage": "production", "args": "--verbose"})
    assert [s.returncode for s in steps] == [0, 0, 0], steps[-1].stderr
    assert steps[1].stdout.splitlines()[-2] == "ok: 1 link checked, 0 failed"
    assert git(ci_checkout, "rev-parse", "--verify", "-q", "refs/remotes/origin/production")


def test_the_gitlab_template_checks_a_merge_request(ci_checkout: Path) -> None:  # noqa: F811
    version = head()
    job = run_gitlab(
        ci_checkout,
        MR_REPOSITORY=f"file://{ROOT}",
        MR_VERSION=version,
        CI_MERGE_REQUEST_TARGET_BRANCH_NAME="staging",
    )
    assert job.returncode == 0, job.stderr
    lines = job.stdout.splitlines()
    assert lines[0] == f"mr: installing git+file://{ROOT}@{version}"
    assert lines[-2] == "ok: 3 links checked, 0 failed"
    job = run_gitlab(
        ci_checkout, MR_VERSION=version, MR_STAGE="production", CI_MERGE_REQUEST_TARGET_BRANCH_NAME="production"
    )
    assert job.returncode == 0, job.stderr
    assert job.stdout.splitlines()[0] == f"mr: installing git+https://github.com/OWNER/mr@{version}"
    assert job.stdout.splitlines()[-2] == "ok: 1 link checked, 0 failed"
    job = run_gitlab(ci_checkout, MR_VERSION=version, CI_MERGE_REQUEST_TARGET_BRANCH_NAME="production")
    assert job.returncode == 1 and job.stdout.splitlines()[-2] == "failed: 3 links checked, 3 failed"


def site_versions(index: Path) -> dict[tuple[str, str], str]:
    """(link, stage) -> the version a site's matrix shows."""
    cells = re.findall(r'<tr data-name="([^"]+)">(.*?)</tr>', index.read_text())
    out = {}
    for name, row in cells:
        for stage, version in re.findall(r'<td data-stage="([^"]+)" data-state="on" data-version="([^"]+)"', row):
            out[name, stage] = version
    return out


def test_the_github_action_builds_the_site_from_every_stage(ci_checkout: Path) -> None:  # noqa: F811
    assert git(ci_checkout, "rev-parse", "--is-shallow-repository") == "true"
    steps = run_action(ci_checkout, {"site": "public", "site-args": "--resolve"}, GITHUB_BASE_REF="staging")
    assert [s.returncode for s in steps] == [0, 0, 0], steps[-1].stderr
    public = ci_checkout / "public"
    assert site_versions(public / "index.html") == {
        ("churn", "dev"): "v1",
        ("churn", "staging"): "v1",
        ("churn", "production"): "v1",
        ("fraud", "dev"): "main",
        ("scoring", "dev"): "v1",
    }
    # the whole history, though the checkout was shallow: churn's promotions
    from mr import site

    churn = (public / site.page_name("churn")).read_text()
    assert churn.count('data-kind="promotion"') == 2 and 'data-kind="direct change"' in churn
    assert "Latest version in the project: <code>v1</code>" in churn
    # the workflow that publishes it uses the action's input, then the standard Pages actions
    workflow = load(ROOT / "ci" / "github-pages.yml")
    steps_used = workflow["jobs"]["site"]["steps"]
    assert steps_used[0]["with"]["fetch-depth"] == 0
    assert steps_used[1]["with"]["site"] == steps_used[2]["with"]["path"] == "public"
    assert [s["uses"].split("@")[0] for s in steps_used[2:]] == [
        "actions/upload-pages-artifact",
        "actions/deploy-pages",
    ]


def test_the_gitlab_pages_job_builds_the_site(ci_checkout: Path) -> None:  # noqa: F811
    job = run_gitlab(ci_checkout, "gitlab-pages.yml", ".mr-pages", MR_VERSION=head(), MR_SITE_ARGS="--verify")
    assert job.returncode == 0, job.stderr
    assert site_versions(ci_checkout / "public" / "index.html")[("churn", "production")] == "v1"
    index = (ci_checkout / "public" / "index.html").read_text()
    assert index.count('<span class="ok">ok</span>') == 3  # each stage verified
    template = load(ROOT / "ci" / "gitlab-pages.yml")[".mr-pages"]
    assert template["artifacts"]["paths"] == ["public"] and template["variables"]["GIT_DEPTH"] == "0"
    job = run_gitlab(ci_checkout, "gitlab-pages.yml", ".mr-pages", MR_VERSION="")
    assert job.returncode == 1 and "mr: set MR_VERSION" in job.stderr


def dvc_extra() -> set[str]:
    """The packages of mr's dvc extra (on PyPI, as DVC publishes them)."""
    import configparser

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config["options.extras_require"]["dvc"].strip().splitlines()
    return {re.split(r"[<>=!~ ]", line.strip())[0] for line in lines if line.strip()}


def test_every_install_line_of_the_readme_names_something_that_exists() -> None:
    path = "README.md"
    text = (ROOT / path).read_text()
    lines = [ln for ln in text.splitlines() if re.search(r"\bpipx? install\b", ln)]
    assert lines
    for line in lines:
        target = re.search(r"\bpipx? install\s+(?:-[-\w]+\s+)*(\S+)", line)
        assert target, line
        what = target.group(1).strip("\"'")
        # a git URL at a ref, a wheel built by python -m build, or this checkout
        ok = (what.startswith("git+") and "@" in what) or what.endswith(".whl") or what in (".", "-e", "'.[test]'")
        ok = ok or what.startswith((".[", "dist/")) or what in dvc_extra()
        assert ok, f"{path}: {line.strip()}"
        assert "mr-registry" not in what or what.endswith(".whl"), line


#: Where a document names a ref of mr's own repository to install or include.
DOCUMENTED_REF = re.compile(
    r"OWNER/mr@([^\s\"'`)]+)|OWNER/mr/([^/\s]+)/ci/|MR_VERSION: *([^\s#]+)|^\s*rev: *([^\s#]+)", re.M
)


def documented_refs(text: str) -> list[str]:
    """Every ref of mr's repository a document tells readers to install (``rev:`` only inside the hook's block)."""
    found = []
    for m in DOCUMENTED_REF.finditer(text):
        ref = next(g for g in m.groups() if g is not None)
        if (
            m.group(4) is not None
            and "repo: https://github.com/OWNER/mr" not in text[max(0, m.start() - 80) : m.start()]
        ):
            continue  # a link file's rev in an example, not an install line
        found.append(ref)
    return found


def test_every_documented_ref_of_mr_exists_or_is_the_explained_placeholder(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    readme = (ROOT / "README.md").read_text()
    assert "`REF`\nis such a commit" in readme or "`REF` is such a commit" in readme.replace("\n", " ")
    seen = []
    for doc in ("README.md", "action.yml", "ci/gitlab-mr-verify.yml", "ci/gitlab-pages.yml", "ci/github-pages.yml"):
        for ref in documented_refs((ROOT / doc).read_text()):
            seen.append((doc, ref))
            if ref in ("REF", '""') or ref.startswith("$"):  # the placeholder, none, a variable
                continue
            resolved = subprocess.run(
                ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=clone, capture_output=True
            )
            tracking = subprocess.run(
                ["git", "rev-parse", "--verify", "--quiet", f"origin/{ref}^{{commit}}"], cwd=clone, capture_output=True
            )
            assert resolved.returncode == 0 or tracking.returncode == 0, f"{doc}: {ref} is no ref of this repository"
    docs = {doc for doc, _ in seen}
    assert docs == {
        "README.md",
        "action.yml",
        "ci/gitlab-mr-verify.yml",
        "ci/gitlab-pages.yml",
        "ci/github-pages.yml",
    }, seen
    assert ("ci/gitlab-mr-verify.yml", '""') in seen  # the template's default: none, the job says to set it


def test_the_gitlab_template_without_a_version_says_what_to_set(ci_checkout: Path) -> None:  # noqa: F811
    job = run_gitlab(ci_checkout, MR_VERSION="")
    assert job.returncode == 1
    assert "mr: set MR_VERSION to the mr to install: a commit SHA (or tag) of https://github.com/OWNER/mr" in job.stderr


def run_deploy_recipes(checkout: Path, before: str, after: str, stage: str) -> list[subprocess.CompletedProcess[str]]:
    """The deploy step of the GitHub workflow, then the GitLab job, each in a fresh copy of ``checkout``."""
    import shutil

    done = []
    workflow = load(ROOT / "ci" / "github-deploy-on-promotion.yml")
    steps = workflow["jobs"]["deploy"]["steps"]
    step = next(s for s in steps if s.get("name") == "Get what the push changed")
    assert workflow["on"]["push"]["branches"] == ["production"]
    assert steps[0]["with"]["fetch-depth"] == 0
    context = {"github.event.before": before, "github.sha": after, "github.ref_name": stage}
    env = {k: expand(str(v), context) for k, v in step["env"].items()}
    github = checkout.parent / f"{checkout.name}-github"
    shutil.copytree(checkout, github)
    script = checkout.parent / "deploy.sh"
    script.write_text(step["run"])
    done.append(
        subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=github,
            env=ci_env(**env),
            capture_output=True,
            text=True,
            timeout=120,
        )
    )
    job = load(ROOT / "ci" / "gitlab-deploy-on-promotion.yml")[".mr-deploy"]
    assert job["variables"]["GIT_DEPTH"] == "0"
    gitlab = checkout.parent / f"{checkout.name}-gitlab"
    shutil.copytree(checkout, gitlab)
    script.write_text("\n".join(job["script"]) + "\n")
    variables = {k: str(v) for k, v in job["variables"].items() if k != "MR_VERSION"}
    done.append(
        subprocess.run(
            ["bash", "-e", str(script)],
            cwd=gitlab,
            env=ci_env(
                **variables,
                MR_VERSION="unused",
                CI_COMMIT_BEFORE_SHA=before,
                CI_COMMIT_SHA=after,
                CI_COMMIT_BRANCH=stage,
            ),
            capture_output=True,
            text=True,
            timeout=120,
        )
    )
    return done


def test_the_deploy_recipes_get_what_a_push_to_production_changed(origin: str, project: Path, tmp_path: Path) -> None:  # noqa: F811
    from mr import api

    team = tmp_path / "team"
    git(tmp_path, "clone", "-q", origin, str(team))
    # a link whose name reads like an option: the recipes pass names after --
    hostile = "--registry=https:"
    api.link("models/rf", source_project=str(project), rev="v1", target=hostile, target_project=str(team))
    git(team, "add", "-A")
    git(team, "commit", "-q", "-m", "a name like an option")
    git(team, "push", "-q", "origin", "dev")
    api.promote(["scoring", hostile], "staging", registry=str(team), push="origin")
    before = git(team, "ls-remote", origin, "refs/heads/production").split()[0]
    api.promote(["scoring", hostile], "production", registry=str(team), push="origin")
    after = git(team, "ls-remote", origin, "refs/heads/production").split()[0]
    # what actions/checkout (fetch-depth: 0) and GitLab (GIT_DEPTH 0) make for the push
    for run, name in zip(
        run_deploy_recipes(clone_at(origin, tmp_path / "checkout", after), before, after, "production"),
        ("github", "gitlab"),
        strict=True,
    ):
        assert run.returncode == 0, run.stderr
        assert "deploy scoring" in run.stdout.splitlines() and "deploy churn" not in run.stdout
        assert f"deploy {hostile}" in run.stdout.splitlines()
        assert (tmp_path / f"checkout-{name}" / "deploy" / "models" / hostile / ".mr-get.json").is_file()
        got = tmp_path / f"checkout-{name}" / "deploy" / "models" / "scoring"
        receipt = json.loads((got / ".mr-get.json").read_text())
        assert receipt["stage_commit"] == after and receipt["name"] == "scoring"
        assert receipt["files"] and all((got / f["path"]).is_file() for f in receipt["files"])
    # a retirement is named, nothing fetched; a first push (before is zeros) gets every link
    api.retire(["scoring"], "production", registry=str(team), push="origin")
    gone = git(team, "ls-remote", origin, "refs/heads/production").split()[0]
    for run in run_deploy_recipes(clone_at(origin, tmp_path / "checkout2", gone), after, gone, "production"):
        assert run.returncode == 0, run.stderr
        assert "retired from production: scoring" in run.stdout and "deploy " not in run.stdout
    zeros = "0" * 40
    for run in run_deploy_recipes(clone_at(origin, tmp_path / "checkout3", gone), zeros, gone, "production"):
        assert run.returncode == 0, run.stderr
        assert [x for x in run.stdout.splitlines() if x.startswith("deploy ")] == [f"deploy {hostile}", "deploy churn"]


def clone_at(url: str, where: Path, commit: str) -> Path:
    """A full clone with production checked out at ``commit``, as CI checks out a push."""
    where.mkdir(parents=True)
    git(where.parent, "clone", "-q", "--no-checkout", url, str(where))
    git(where, "checkout", "-q", "-B", "production", commit)
    return where
