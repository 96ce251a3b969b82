"""Read and write link files (and other small YAML files) with ruamel.yaml.

This is the only module that imports ruamel.yaml. Reading is strict: a file
is either a valid link, another MLEM object, or a ``LinkFileError`` naming
the file and line. Writing keeps an edited file's comments, key order and
quoting, and quotes every scalar that a YAML 1.1 reader (MLEM's PyYAML) or a
YAML 1.2 reader would not read back as the same string.
"""

from __future__ import annotations

import io
import posixpath
import re
import warnings
from collections.abc import Mapping, MutableMapping
from typing import Any

from mr import fastread
from mr.errors import LinkFileError
from mr.fastread import needs_quotes
from mr.model import PINNED_FROM, Link

#: A link file is a handful of lines; anything this big is not one.
MAX_SIZE = 256 * 1024

LINK_KEYS = ("link_type", "object_type", "params", "path", "project", "repo", "rev")
REQUIRED = ("link_type", "path")


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip: comments, key order and quoting stay
    yaml.preserve_quotes = True
    yaml.width = MAX_SIZE  # no line of a link file is that long: a long value is never folded
    return yaml


def _decode(data: bytes, file: str) -> str:
    if len(data) > MAX_SIZE:
        raise LinkFileError(file, f"too large for a link file ({len(data)} bytes)")
    if b"\0" in data:
        raise LinkFileError(file, "not a text file (binary data)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise LinkFileError(file, "not UTF-8 text (binary data?)", line) from None
    return text.removeprefix("\ufeff")


def _yaml_error(file: str, e: Exception) -> LinkFileError:
    from ruamel.yaml.error import MarkedYAMLError

    if isinstance(e, MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
        problem = e.problem or e.context or str(e)
    else:
        mark, problem = None, str(e)
    problem = " ".join(str(problem).split())
    line = mark.line + 1 if mark is not None else None
    return LinkFileError(file, f"invalid YAML: {problem}", line)


_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_mapping(data: bytes, file: str, what: str = "a link file") -> Any:
    """Parse YAML text that must hold one mapping; return the round-trip mapping."""
    return _parse_text(_decode(data, file), file, what)


def _parse_text(text: str, file: str, what: str) -> Any:
    fast = fastread.read(text)
    if fast is not None:
        return fast
    return _parse_roundtrip(text, file, what)


def _parse_roundtrip(text: str, file: str, what: str) -> Any:
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    try:
        with warnings.catch_warnings():
            # ruamel warns (on stderr) about reused anchors and 1.1-isms; the
            # checks below say what matters, once, with the file and line
            warnings.simplefilter("ignore")
            doc = _yaml().load(text)
    except YAMLError as e:
        raise _yaml_error(file, e) from None
    except (AssertionError, ValueError, TypeError, LookupError, OverflowError, RecursionError) as e:
        # ruamel asserts on some inputs (an unknown %YAML version)
        raise LinkFileError(file, f"invalid YAML: {str(e) or type(e).__name__}") from None
    _check_tags(text, file)
    if doc is None:
        raise LinkFileError(file, f"empty: {what} is a YAML mapping")
    if not isinstance(doc, CommentedMap):
        kind = "a list" if isinstance(doc, list) else "a single value"
        raise LinkFileError(file, f"the document is {kind}; {what} is a YAML mapping", 1)
    return doc


#: The tags a safe YAML loader (MLEM's) resolves; anything else (``!!python/object``, ``!local``) is refused.
_SAFE_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}"
    for t in (
        "str",
        "int",
        "float",
        "bool",
        "null",
        "map",
        "seq",
        "timestamp",
        "binary",
        "merge",
        "set",
        "omap",
        "pairs",
    )
)


def _check_tags(text: str, file: str) -> None:
    """Refuse a YAML tag outside the safe schema on any node, at any depth."""
    from ruamel.yaml.error import YAMLError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # reused anchors: the load already judged them
            root = _yaml().compose(text)
    except (YAMLError, AssertionError, ValueError, TypeError, LookupError, RecursionError):
        return  # the load that follows (or preceded) reports it
    stack = [] if root is None else [root]  # an empty document composes to None: nothing to look at
    seen: set[int] = set()  # an alias shares its node: each is looked at once (no alias bomb)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        tag = str(node.tag)  # composing resolves every node's tag, the plain ones included
        if tag not in _SAFE_TAGS:
            raise LinkFileError(
                file,
                f"YAML tag {tag.replace('tag:yaml.org,2002:', '!!')} is not allowed (a safe loader refuses it)",
                node.start_mark.line + 1,
            )
        value = node.value
        if isinstance(value, list):
            for item in value:
                stack.extend(item if isinstance(item, tuple) else (item,))


def key_line(doc: Any, key: Any) -> int | None:
    try:
        return int(doc.lc.key(key)[0]) + 1
    except (KeyError, AttributeError, TypeError, IndexError):
        return None


def _raw_value(text: str, doc: Any, key: str) -> str:
    """The value of ``key`` as written on its line ("" when nothing is written there)."""
    try:
        line, col = doc.lc.value(key)
        if doc[key] is None and line != doc.lc.key(key)[0]:
            return ""  # nothing written: ruamel points at the token after it
        raw = text.splitlines()[line][col:]
    except (KeyError, AttributeError, IndexError, TypeError):
        return ""
    # an anchor or a tag before the value is not the value (for an alias, ruamel points at its anchor's)
    token = re.match(r"(?:[&!][^\s,{}\[\]]*(?:\s+|$))*([^\s,{}\[\]#&!][^\s,{}\[\]#]*)", raw)
    return token.group(1) if token else ""


def _is_quoted(value: str) -> bool:
    """Whether ``value``, which needs quotes, was read quoted (asked only then: the fast reader reads no plain one)."""
    if isinstance(value, fastread.Quoted):
        return True
    from ruamel.yaml.scalarstring import ScalarString  # only ruamel's reading gets here: it is loaded

    return isinstance(value, ScalarString)


def check_string(doc: Any, key: str, text: str, file: str, where: str = "") -> str:
    """Return ``doc[key]`` if it is a string every YAML reader agrees on."""
    value = doc[key]
    name = f"{where}{key}"
    line = key_line(doc, key)
    if isinstance(value, str):
        if not value.isascii() and _SURROGATE.search(value):
            raise LinkFileError(file, f"{name} holds an invalid character (a lone surrogate)", line)
        if needs_quotes(value) and not _is_quoted(value):
            raise LinkFileError(
                file,
                f"{name}: {value} is not read as a string by every YAML reader; quote it: {key}: '{value}'",
                line,
            )
        return value
    if isinstance(value, (dict, list)):
        kind = "a mapping" if isinstance(value, dict) else "a list"
        raise LinkFileError(file, f"{name} must be a string, not {kind}", line)
    raw = _raw_value(text, doc, key)
    if value is None and not raw:
        raise LinkFileError(file, f"{name} is empty", line)
    if not raw:  # not written beside its key: from a << merge, or on the line after an anchor or a tag
        raise LinkFileError(file, f"{name} must be a string; quote it where it is written", line)
    raise LinkFileError(file, f"{name} must be a string; quote it: {key}: '{raw}'", line)


def load(data: bytes, file: str, name: str | None = None) -> Link | dict[str, Any]:
    """Read a ``.mlem`` file: a ``Link``, or the top-level fields of another MLEM object.

    Raises ``LinkFileError`` for anything that is neither.
    """
    text = _decode(data, file)
    doc = _parse_text(text, file, "a link file")
    if "object_type" not in doc:
        raise LinkFileError(file, "no object_type: not a MLEM object", 1)
    object_type = check_string(doc, "object_type", text, file)
    if object_type != "link":
        return {str(k): v for k, v in doc.items()}
    return _link_from(doc, text, file, name)


def load_link(data: bytes, file: str, name: str | None = None) -> Link:
    """Read a file that must be a link."""
    obj = load(data, file, name)
    if not isinstance(obj, Link):
        raise LinkFileError(file, f"not a link: it is a MLEM object of type {obj.get('object_type')}", 1)
    return obj


def _link_from(doc: Any, text: str, file: str, name: str | None) -> Link:
    for key in doc:
        if key not in LINK_KEYS:
            shown = key if isinstance(key, str) else repr(key)
            raise LinkFileError(
                file,
                f"unknown field {shown!s}: a link has only "
                f"{', '.join(k for k in LINK_KEYS if k != 'repo')} (or repo); "
                "put extra data under params",
                key_line(doc, key),
            )
    for key in REQUIRED:
        if key not in doc:
            raise LinkFileError(file, f"missing required field {key}", 1)
    if "project" in doc and "repo" in doc:
        raise LinkFileError(
            file,
            "both project and repo are set; they mean the same, keep one",
            key_line(doc, "repo"),
        )
    fields: dict[str, str] = {}
    for key in ("link_type", "path", "project", "repo", "rev"):
        if key in doc:
            value = check_string(doc, key, text, file)
            if not value.strip():
                raise LinkFileError(file, f"{key} is empty", key_line(doc, key))
            fields[key] = value
    params: dict[str, str] = {}
    if "params" in doc:
        raw = doc["params"]
        if raw is not None:
            if not isinstance(raw, dict):
                raise LinkFileError(file, "params must be a mapping of strings", key_line(doc, "params"))
            for k in raw:
                if not isinstance(k, str):
                    raise LinkFileError(file, f"params key {k!r} must be a string", key_line(raw, k))
                if needs_quotes(k) and not _is_quoted(k):
                    raise LinkFileError(
                        file,
                        f"params key {k} is not read as a string by every YAML reader; quote it: '{k}': ...",
                        key_line(raw, k),
                    )
                params[k] = check_string(raw, k, text, file, where="params.")
    project_field = "repo" if "repo" in fields else "project"
    path = fields["path"]
    problem = project_path_problem(path)
    if problem:
        raise LinkFileError(file, f"path {path}: {problem}", key_line(doc, "path"))
    lines = {str(k): key_line(doc, k) or 1 for k in doc}
    return Link(
        link_type=fields["link_type"],
        path=path,
        project=fields.get(project_field),
        rev=fields.get("rev"),
        params=params,
        project_field=project_field,
        name=name,
        file=file,
        lines=lines,
    )


def project_path_problem(path: str) -> str | None:
    """Why ``path`` cannot name a file inside a project, or None."""
    if path.startswith(("/", "\\")) or re.match(r"[A-Za-z]:[\\/]", path):
        return "absolute; it must be relative to the project root"
    norm = posixpath.normpath(path.replace("\\", "/"))
    if norm == ".." or norm.startswith("../"):
        return "escapes its project with .."
    if norm == ".":  # what normpath makes of "" too
        return "names no file"
    if any(c in path for c in "\0\n\r"):
        return "contains a control character"
    return None


# --- writing -------------------------------------------------------------


def _scalar(value: str) -> Any:
    from ruamel.yaml.scalarstring import SingleQuotedScalarString

    return SingleQuotedScalarString(value) if needs_quotes(value) else value


def _new_mapping(link: Link) -> Any:
    from ruamel.yaml.comments import CommentedMap

    doc = CommentedMap()
    for key, value in link.to_dict().items():
        if isinstance(value, dict):
            sub = CommentedMap()
            for k, v in sorted(value.items()):
                sub[_scalar(k)] = _scalar(v)
            doc[key] = sub
        else:
            doc[key] = _scalar(value)
    return doc


def _dump(doc: Any) -> bytes:
    out = io.StringIO()
    _yaml().dump(doc, out)
    return out.getvalue().encode("utf-8")


def dump_new(link: Link) -> bytes:
    """The text of a new link file, keys in the order MLEM writes them."""
    return _dump(_new_mapping(link))


def _set(doc: Any, key: str, value: Any) -> None:
    """Set ``doc[key]``, placing a new key where sorted order puts it."""
    if key in doc:
        doc[key] = value
        return
    keys = list(doc.keys())
    pos = next((i for i, k in enumerate(keys) if str(k) > key), len(keys))
    doc.insert(pos, key, value)


def dump_update(old: bytes, file: str, link: Link) -> bytes:
    """Rewrite an existing link file to hold ``link``.

    Only the values that change are touched: comments, key order, quoting and
    the file's own name for the project field (``project`` or ``repo``) stay.
    Raises ``LinkFileError`` when ``old`` is no YAML mapping, or when what it
    keeps (a param mr does not manage) would not make a valid link.
    """
    doc = _parse_roundtrip(_decode(old, file), file, "a link file")
    field = "repo" if "repo" in doc else "project" if "project" in doc else link.project_field
    wanted: dict[str, Any] = {
        "link_type": link.link_type,
        "object_type": "link",
        "path": link.path,
    }
    if link.project is not None:
        wanted[field] = link.project
    if link.rev is not None:
        wanted["rev"] = link.rev
    # values are set before keys are removed, so a removed key's comments have a neighbour to go to
    for key, value in wanted.items():
        # an unchanged value keeps its style (ruamel keeps a quoted string quoted); one
        # written unquoted where every reader needs quotes (rev: 1:20) gets them
        _set(doc, key, _scalar(value))
    for key in list(doc.keys()):
        if key not in wanted and key != "params":
            _delete_keeping_comment(doc, key)
    _update_params(doc, link.params)
    out = _dump(doc)
    # what stays of the old file (params mr does not manage) must still make a link: a list
    # under params would be written on, so such a file is refused and the caller writes anew
    load_link(out, file)
    return out


def _update_params(doc: Any, params: Mapping[str, str]) -> None:
    from ruamel.yaml.comments import CommentedMap

    current_map = doc.get("params")
    kept = [k for k in (current_map or {}) if k != PINNED_FROM] if isinstance(current_map, dict) else []
    if not params and not kept:
        if "params" in doc:
            _delete_keeping_comment(doc, "params")
        return
    current = doc.get("params")
    if not isinstance(current, dict):
        current = CommentedMap()
        _set(doc, "params", current)
    # mr manages only pinned_from; other params are the file owner's and stay
    for k, v in sorted(params.items()):
        _set(current, _scalar(k), _scalar(v))
    if PINNED_FROM not in params and PINNED_FROM in current:
        _delete_keeping_comment(current, PINNED_FROM)


def _delete_keeping_comment(doc: Any, key: str) -> None:
    """Delete ``doc[key]``, keeping the full-line comments that follow it.

    ruamel hangs the lines after an entry (a comment beside it, then full-line
    comments and blank lines) on the entry, or for a block mapping value on its
    last entry; they would leave with the key. The full-line ones stay where
    they were: above the key that followed, or, when the deleted key was the
    last, after the plain value before it (never inside a block scalar, whose
    value they would join). With neither, they go with the key.
    """
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    value = doc[key]
    own = doc.ca.items.get(key)
    # lines already moved above this key (when the key before it was removed) go on with it
    above = "".join(t.value for t in own[1] if t is not None) if own and isinstance(own[1], list) else ""
    entry = value.ca.items.get(list(value)[-1]) if isinstance(value, CommentedMap) and value else None
    if not entry or entry[2] is None:
        entry = own
    token = entry[2] if entry else None
    keys = list(doc.keys())
    pos = keys.index(key)
    del doc[key]
    # the token starts with the end of the entry's line (a comment beside it, or nothing)
    carried = above + (token.value.partition("\n")[2] if token is not None else "")
    carried = carried.replace("\r\n", "\n")
    if not carried.strip():
        return
    if pos + 1 < len(keys):
        # column 0: the lines are written as they are, indentation included
        entry = doc.ca.items.setdefault(keys[pos + 1], [None, None, None, None])
        entry[1] = [CommentToken(carried, CommentMark(0)), *(entry[1] or [])]
        return
    before = _last_plain_entry(doc)
    if before is None:
        return
    entry = before.ca.items.setdefault(list(before)[-1], [None, None, None, None])
    if entry[2] is not None:
        entry[2].value += carried
    else:
        # a leading line end: the comment starts on a line of its own
        entry[2] = CommentToken("\n" + carried, CommentMark(0))


def _last_plain_entry(doc: Any) -> Any:
    """The mapping whose last entry ends ``doc`` when written, if that entry is a plain value; else None."""
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

    while isinstance(doc, CommentedMap) and doc:
        value = doc[list(doc)[-1]]
        if isinstance(value, CommentedMap):
            doc = value
            continue
        if isinstance(value, (dict, list, LiteralScalarString, FoldedScalarString)):
            return None  # a flow or block collection, or a block scalar: the lines would land inside it
        return doc
    return None


def retype_artifacts(data: bytes, names: set[str], kind: str, file: str) -> bytes:
    """A meta with the ``type`` of the artifacts ``names`` set to ``kind``; the rest of it (comments,
    order, quoting) as it was. ``mr get`` writes the meta so of an artifact it fetched from DVC storage."""
    doc = _parse_roundtrip(_decode(data, file), file, "a MLEM meta")
    arts: Any = doc.get("artifacts")
    if not isinstance(arts, Mapping):
        return data
    for key in list(arts.keys()):
        value: Any = arts[key]
        if str(key) in names and isinstance(value, MutableMapping) and "type" in value:
            value["type"] = kind
    return _dump(doc)
