"""Each ``ionscope mva`` command describes its own ``--components`` (no text meant for another command)."""

import re

import pytest

WORDS = {"pca": "principal components", "nmf": "NMF factors", "mcr": "MCR-ALS components", "cluster": "phases"}


@pytest.mark.parametrize("command", sorted(WORDS))
def test_components_help_is_the_commands_own(cli, command):
    code, out, err = cli("mva", command, "--help")
    assert code == 0, err
    text = re.sub(r"[\s│]+", " ", out)
    assert WORDS[command] in text
    assert "clusters for `cluster`" not in text and "(clusters for" not in text
