"""Write the files generated from the CLI: man pages and completion scripts.

Run ``python -m tools.generate`` from the repository root after changing the
CLI; the tests fail while ``man/`` or ``completions/`` are stale.
"""

from __future__ import annotations

import os
import sys

#: completion script file name per shell, as each shell's package layout wants it
COMPLETION_FILES = {"bash": "mr", "zsh": "_mr", "fish": "mr.fish"}


def generated() -> dict[str, str]:
    """Repository-relative path -> content of every generated file."""
    from mr.complete import source
    from tools.manpage import pages

    out = {f"man/{name}": text for name, text in pages().items()}
    for shell, name in COMPLETION_FILES.items():
        out[f"completions/{name}"] = source(shell)
    return out


def main(argv: list[str]) -> int:
    root = argv[0] if argv else "."
    for path, text in generated().items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
