"""Sphinx configuration for binance-twisted (built with warnings as errors by ``tox -e docs``)."""

project = "binance-twisted"
author = "binance-twisted developers"
copyright = "2026, binance-twisted developers"

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
exclude_patterns = ["_build"]
html_theme = "alabaster"
# Two classes are named BinanceSocketManager (the 0.x thread manager and the 1.x asyncio
# one); a signature's bare name links to the first found, which Sphinx reports as ambiguous.
suppress_warnings = ["ref.python"]
