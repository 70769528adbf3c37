"""Format names are one style (lower case, hyphens); given with --format they match with '-' and '_' alike
and in any case, so the older underscore spellings keep working."""

from __future__ import annotations

import re

import pytest

from ionscope.io.registry import FormatPlugin, find_plugin, plugins, register
from ionscope.model.errors import UnknownFormatError


@pytest.mark.parametrize("spelling", ["iontof_profile", "iontof-profile", "IONTOF-Profile"])
def test_a_format_name_matches_with_hyphen_or_underscore(spelling, tmp_path):
    assert find_plugin(tmp_path / "p.txt", spelling).name == "iontof-profile"


@pytest.mark.parametrize(("old", "new"), [("table_text", "table-text"), ("eds_tiff", "eds-tiff"),
                                          ("iontof_spectrum", "iontof-spectrum")])
def test_the_old_underscore_spellings_still_name_their_format(old, new, tmp_path):
    assert find_plugin(tmp_path / "t.csv", old, for_writing=new == "table-text").name == new


def test_every_builtin_format_name_is_lower_case_with_hyphens():
    builtin = [n for n, p in plugins().items() if p.read is None or p.read.__module__.startswith("ionscope.")]
    assert "iontof-profile" in builtin and "table-text" in builtin
    assert [n for n in builtin if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", n)] == []


def test_a_name_differing_only_in_hyphen_or_case_is_the_same_format():
    with pytest.raises(ValueError, match="already registered"):
        register(FormatPlugin("IONTOF_profile", (".x",), ("table",), "a clash"))


def test_an_unknown_format_name_is_refused_with_the_known_ones(tmp_path):
    with pytest.raises(UnknownFormatError, match="known formats: .*iontof-spectrum"):
        find_plugin(tmp_path / "p.txt", "iontof-profil")
