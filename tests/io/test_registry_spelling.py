"""Format names given with --format match with '-' and '_' alike and in any case."""

from __future__ import annotations

import pytest

from ionscope.io.registry import find_plugin
from ionscope.model.errors import UnknownFormatError


@pytest.mark.parametrize("spelling", ["iontof_profile", "iontof-profile", "IONTOF-Profile"])
def test_a_format_name_matches_with_hyphen_or_underscore(spelling, tmp_path):
    assert find_plugin(tmp_path / "p.txt", spelling).name == "iontof_profile"


def test_an_unknown_format_name_is_refused_with_the_known_ones(tmp_path):
    with pytest.raises(UnknownFormatError, match="known formats: .*iontof-spectrum"):
        find_plugin(tmp_path / "p.txt", "iontof-profil")
