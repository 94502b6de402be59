"""skillpath: micro-credentials that close a learner's ESCO skill gap for a target job.

The code lives in the repository's top-level folders (``esco/``, ``models/``, ``engine/``,
``api/``, ``evaluation/``); setuptools maps each under this one package on install.
"""

__version__ = "0.1.0"
