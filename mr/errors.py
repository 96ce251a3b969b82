"""The one exception root of mr, and its children.

Every error mr expects carries the message a user reads and the exit code the
CLI returns. The library raises them; only the CLI turns them into output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mr.model import Problem


def file_line(file: str, line: int | None) -> str:
    """``FILE:LINE``, or ``FILE`` when no line is known: where a message points."""
    return f"{file}:{line}" if line is not None else file


class MrError(Exception):
    """Base of every error mr expects: a message for the user and an exit code."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(MrError):
    """The call itself is wrong (bad option value, bad name)."""

    exit_code = 2


class LinkFileError(MrError):
    """A link file (or another YAML file mr reads) is unreadable or invalid.

    The message is rendered as ``FILE:LINE: message`` (``FILE: message`` when
    no line is known).
    """

    def __init__(self, file: str, message: str, line: int | None = None) -> None:
        self.file = file
        self.line = line
        self.detail = message
        super().__init__(f"{file_line(file, line)}: {message}")


class ConfigError(LinkFileError):
    """``.mr.yaml`` is invalid."""


class RegistryError(MrError):
    """No registry where one was expected, or it is not set up."""


class GitError(MrError):
    """A git operation failed."""


class RemoteError(GitError):
    """A fetch, push or listing of a remote failed (unreachable, refused, timed out)."""


class PushRaced(RemoteError):
    """A push was refused because the remote's branch moved since it was fetched."""


class StaleStage(RegistryError):
    """A local stage branch lacks commits its remote-tracking branch has; nothing was changed."""


class SignatureRefused(RegistryError):
    """A stage that requires signed commits holds one no allowed signer signed."""


class SigningError(GitError):
    """A commit could not be signed as configured; nothing was committed."""


class RefMoved(GitError):
    """A branch moved between reading it and moving it (compare-and-swap lost)."""


class ProjectNotFound(MrError):
    """A source project cannot be opened or fetched."""


class RevNotFound(MrError):
    """A rev does not exist in a project."""


class ObjectNotFound(MrError):
    """A path does not exist in a project at a rev, or is no MLEM object."""


class LinkExists(MrError):
    """A link file would be replaced without ``--force``."""


class LinkChainError(MrError):
    """A chain of links has a cycle or is too deep."""


class IdentityError(MrError):
    """No commit identity is configured."""


class LinkNotFound(RegistryError):
    """A link does not exist where it was looked for (a stage, the work tree)."""


class NotOnStage(UsageError):
    """A commit given to name a point in a stage's history is not in that history."""


class NothingToUndo(MrError):
    """A rollback asks to go further back than the link's history on the stage goes."""


class ChangedMeanwhile(MrError):
    """Another writer changed a file a rollback or retirement planned to change; nothing was done."""


class WorkTreeNotUpdated(GitError):
    """A commit landed on a checked-out stage but its work tree could not be updated.

    ``commit`` is the new commit, ``error`` why the work tree was left alone.
    """

    def __init__(self, message: str, commit: str, error: MrError) -> None:
        super().__init__(message)
        self.commit = commit
        self.error = error


class NotPushed(MrError):
    """A commit was made here but pushing it failed; ``error`` is the push's own error.

    The exit code is that of the push's error.
    """

    def __init__(self, message: str, error: MrError) -> None:
        super().__init__(message)
        self.error = error
        self.exit_code = error.exit_code


class Refused(MrError):
    """Links failed their checks; nothing was changed. ``problems`` says why."""

    def __init__(self, message: str, problems: tuple[Problem, ...]) -> None:
        super().__init__(message)
        self.problems = problems


class PromotionRefused(Refused):
    """A link failed its checks; nothing was promoted."""


class OutputExists(MrError):
    """``mr get`` would replace a folder without ``--force``."""


class OutputRefused(MrError):
    """``mr get`` may not write or replace that folder, whatever the flags (see ``mr.outfolder``)."""


class ArtifactsRefused(MrError):
    """An object's files failed their checks (missing, wrong size or md5, unsafe); nothing was written.

    ``problems`` holds one line per file, naming it.
    """

    def __init__(self, message: str, problems: tuple[str, ...]) -> None:
        super().__init__(message)
        self.problems = problems


class UnsafePath(MrError):
    """A path mr would read or write is a symlink, a non-regular file, or leaves the registry.

    Made with ``UnsafePath.at(path, what, why)``, ``path`` names the file and
    ``what`` what it is instead ("a symlink, not a regular file"), ``why`` what mr
    does about it; the message is ``PATH is WHAT; WHY``.
    """

    def __init__(self, message: str, path: str | None = None, what: str | None = None, why: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.what = what
        self.why = why

    @classmethod
    def at(cls, path: str, what: str, why: str | None = None) -> UnsafePath:
        """``PATH is WHAT; WHY``, with its parts kept."""
        return cls(f"{path} is {what}" + (f"; {why}" if why else ""), path, what, why)

    @property
    def detail(self) -> str:
        """The message without the path: ``WHAT; WHY`` (the whole message when made without parts)."""
        if self.what is None:
            return self.message
        return self.what + (f"; {self.why}" if self.why else "")


class PolicyError(MrError):
    """A link (or a hop of a chain of links) breaks the registry's policy."""


class FileSystemError(MrError):
    """The operating system refused a read or write (disk full, read-only, no permission, name too long)."""


class ReceiptError(MrError):
    """A receipt (``.mr-get.json``) is missing, unreadable or names files it may not."""
