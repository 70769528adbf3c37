"""A folder's content hash is its data: writing its sample history (`ionscope sample init`) does not change it."""

from __future__ import annotations

from ionscope.model.provenance import HISTORY_NAMES, HISTORY_SUFFIXES, sha256_of
from ionscope.sample.history import FILE_SUFFIXES, FOLDER_FILES


def test_the_history_names_are_those_the_lookup_uses():
    assert tuple(HISTORY_NAMES) == tuple(FOLDER_FILES) and tuple(HISTORY_SUFFIXES) == tuple(FILE_SUFFIXES)


def test_writing_a_sample_history_into_a_folder_keeps_its_hash(cli, tmp_path):
    data = tmp_path / "spectra"
    data.mkdir()
    (data / "a.txt").write_text("1 2 3\n")
    before = sha256_of(data)
    code, _, err = cli("sample", "init", data / "sample.yaml")
    assert code == 0, err
    (data / "a.txt.sample.yaml").write_text("preparation: cryo-fib\n")
    assert sha256_of(data) == before
    (data / "b.txt").write_text("4 5 6\n")
    assert sha256_of(data) != before  # data files still count
