"""Micro-credential catalogue: the record model and the importers/exporters.

Submodules: ``records`` (MicroCredential, ImportIssue), ``parsing`` (free-text field parsers),
``csv_import`` (declarative CSV mappings in ``mappings/*.toml``), ``elm`` (Europass ELM v3
JSON-LD) and ``ob3`` (1EdTech Open Badges 3.0). Import the submodule you need; this package
file stays empty so importing it costs nothing.
"""
