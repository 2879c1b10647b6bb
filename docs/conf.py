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
    "myst_nb",
]
# Notebooks (*.ipynb) are executed at every build (nbclient through myst-nb); an error in
# one fails the build.
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_timeout = 180
nb_merge_streams = True
autodoc_member_order = "bysource"
autodoc_typehints = "description"
nitpicky = False
html_theme = "alabaster"
exclude_patterns = ["_build"]
doctest_global_setup = "from decimal import Decimal\nimport mbus\nimport profiles"
