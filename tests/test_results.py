"""poolkit.results finds a results file locally, in the cache, or by downloading it."""
import json

import pytest

from poolkit import results as R


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """An empty working folder, a private cache, no override: as in Colab."""
    work = tmp_path / "content"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("POOLKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("POOLKIT_RESULTS", raising=False)
    monkeypatch.delenv("POOLKIT_RESULTS_URL", raising=False)
    return tmp_path


def _write(folder, name, doc):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(doc))


def test_local_results_folder_is_found_from_the_working_folder_and_from_book(elsewhere, monkeypatch):
    _write(elsewhere / "content" / "results", "only_here", {"runs": [1]})
    assert R.load_results("only_here") == {"runs": [1]}
    assert R.load_results("only_here.json") == {"runs": [1]}
    book = elsewhere / "content" / "book"
    book.mkdir()
    monkeypatch.chdir(book)   # chapters run from book/: results/ is one level up
    assert R.find_results("only_here").resolve() == (elsewhere / "content" / "results" / "only_here.json").resolve()


def test_override_folder_comes_first(elsewhere, monkeypatch):
    _write(elsewhere / "content" / "results", "both", {"where": "cwd"})
    _write(elsewhere / "mine", "both", {"where": "override"})
    monkeypatch.setenv("POOLKIT_RESULTS", str(elsewhere / "mine"))
    assert R.load_results("both")["where"] == "override"


def test_download_when_there_is_no_checkout_then_the_cache(elsewhere, monkeypatch):
    remote = elsewhere / "remote"
    _write(remote, "fetched_run", {"protocol": {"x": 1}})
    monkeypatch.setenv("POOLKIT_RESULTS_URL", remote.as_uri())      # no trailing slash on purpose
    assert R.find_results("fetched_run", download=False) is None
    assert R.load_results("fetched_run") == {"protocol": {"x": 1}}
    cached = elsewhere / "cache" / "results" / "fetched_run.json"
    assert cached.is_file()
    (remote / "fetched_run.json").unlink()                        # gone remotely: the cache serves it
    assert R.find_results("fetched_run") == cached


def test_missing_file_names_every_place_tried(elsewhere, monkeypatch):
    monkeypatch.setenv("POOLKIT_RESULTS_URL", (elsewhere / "nowhere").as_uri() + "/")
    with pytest.raises(FileNotFoundError, match="no results file absent_run.json: looked in .*content"):
        R.load_results("absent_run")
    assert R.load_results("absent_run", required=False) is None


def test_a_page_that_is_not_json_is_not_cached(elsewhere, monkeypatch):
    remote = elsewhere / "remote"
    remote.mkdir()
    (remote / "broken_run.json").write_text("<html>not found</html>")
    monkeypatch.setenv("POOLKIT_RESULTS_URL", remote.as_uri() + "/")
    with pytest.raises(ValueError):
        R.load_results("broken_run")
    assert not (elsewhere / "cache" / "results" / "broken_run.json").exists()


@pytest.mark.parametrize("bad", ["", "../rethinking", "a/b", "..", None])
def test_bad_names_raise_value_error(bad):
    with pytest.raises(ValueError, match="name must be"):
        R.find_results(bad)


def test_results_dir_downloads_the_set_into_the_cache(elsewhere, monkeypatch):
    remote = elsewhere / "remote"
    _write(remote, "first_run", {"a": 1})
    _write(remote, "second_run", {"b": 2})
    monkeypatch.setenv("POOLKIT_RESULTS_URL", remote.as_uri() + "/")
    folder = R.results_dir(["first_run", "second_run", "never_run"])
    assert sorted(p.name for p in folder.glob("*.json")) == ["first_run.json", "second_run.json"]
    _write(elsewhere / "content" / "results", "first_run", {"a": 1})
    assert R.results_dir(["first_run"]).resolve() == (elsewhere / "content" / "results").resolve()


def test_the_checkout_holds_every_file_the_chapters_read():
    """Every name in RESULT_FILES is committed, so a reader's download finds it."""
    missing = [n for n in R.RESULT_FILES if R.find_results(n, download=False) is None]
    assert not missing, missing
