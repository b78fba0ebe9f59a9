"""paperlock: locked study data in, publication-ready manuscript out; every number computed and audited."""

__version__ = "0.1.0"
