"""mr: a git-integrated model registry built from MLEM link files."""

__version__ = "0.1.0"
