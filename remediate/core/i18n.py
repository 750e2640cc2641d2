"""Translations of what `remediate` says to people (gettext catalogues, msgid = the English text).

English is the default and needs no catalogue. Japanese is chosen by `set_language("ja")` (the
CLI's `--lang ja`) or, when nothing was set, by the user's locale: the first of LC_ALL,
LC_MESSAGES, LANG that is set decides (POSIX order; `ja_JP.UTF-8` -> "ja").

The catalogues ship as gettext .po sources (remediate/locale/<lang>/LC_MESSAGES/remediate.po,
maintained with Babel) and are read at run time with Babel's `read_po`, turned into a standard
`gettext.GNUTranslations` in memory: no compile step, so `pip install -e .` works as is. No
click or rich here: core and domains call `_()`.
"""

from __future__ import annotations

import gettext
import io
import os
from functools import cache
from importlib import resources

DOMAIN = "remediate"
DEFAULT = "en"
SUPPORTED = ("en", "ja")
_ENV_ORDER = ("LC_ALL", "LC_MESSAGES", "LANG")

_chosen: str | None = None  # set_language(); None = follow the environment


def normalize_language(value: str | None) -> str:
    """ "ja", "ja_JP", "ja_JP.UTF-8", "ja-JP" -> "ja"; anything unsupported (C, POSIX, fr_FR) -> "en"."""
    if not value:
        return DEFAULT
    base = value.split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
    return base if base in SUPPORTED else DEFAULT


def language_from_env(env: dict[str, str] | None = None) -> str:
    environ = os.environ if env is None else env
    for name in _ENV_ORDER:
        value = environ.get(name)
        if value:  # the first one set wins, as in setlocale(LC_MESSAGES, "")
            return normalize_language(value)
    return DEFAULT


def set_language(value: str | None) -> str:
    """Use `value` ("ja", "en", a locale name) from now on; None goes back to the environment."""
    global _chosen
    _chosen = None if value is None else normalize_language(value)
    return current_language()


def current_language() -> str:
    return _chosen if _chosen is not None else language_from_env()


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue for `lang` (a NullTranslations for English or a missing catalogue)."""
    if lang == DEFAULT:
        return gettext.NullTranslations()
    po = resources.files("remediate").joinpath(f"locale/{lang}/LC_MESSAGES/{DOMAIN}.po")
    if not po.is_file():
        return gettext.NullTranslations()
    # Babel is imported only when a translation is needed; English runs never load it.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)  # fuzzy entries are left out, as msgfmt does
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def _(message: str) -> str:
    """`message` in the current language (itself when the catalogue has no translation)."""
    if not message:
        return message
    return translations(current_language()).gettext(message)


def gettext_in(lang: str, message: str) -> str:
    """`message` in `lang`, whatever the current language is."""
    return translations(normalize_language(lang)).gettext(message) if message else message


def has_translation(message: str, lang: str) -> bool:
    return gettext_in(lang, message) != message
