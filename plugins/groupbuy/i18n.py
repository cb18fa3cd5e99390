"""The plugin's translation catalogues: ``python -m forum_plugins.groupbuy.i18n`` (``--check``).

The tool is the core's, for every plugin (:mod:`forum.plugin_i18n`): English is the source,
``zh_Hans`` is translated by hand, ``zh_Hant`` and both ``.mo`` files are generated.
"""

from __future__ import annotations

import sys
from pathlib import Path

from forum.plugin_i18n import PluginCatalogues

catalogues = PluginCatalogues(Path(__file__).resolve().parent)
extract = catalogues.extract
build = catalogues.build
untranslated = catalogues.untranslated
stale = catalogues.stale
update = catalogues.update
main = catalogues.main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
