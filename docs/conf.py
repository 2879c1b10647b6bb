"""Sphinx configuration for meterkit."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "meterkit"
author = "meterkit developers"
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
nitpicky = False
html_theme = "alabaster"
exclude_patterns = ["_build"]
doctest_global_setup = "from decimal import Decimal\nimport mbus\nimport profiles"
