"""The library version. It is part of every cache key: a change to training code that changes results must bump it."""

__version__ = "0.1.0"
