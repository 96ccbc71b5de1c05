"""resolve_file's lookup order, hash checks and downloads, against a real local HTTP server.

Nothing here mocks ``keras.utils.get_file``: the download tests fetch the real
tinyshakespeare.txt (or a truncated copy of it) over HTTP from a server bound to
127.0.0.1, and the Keras cache is a temporary ``$KERAS_HOME``.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import socket
import threading
from pathlib import Path

import pytest

from rnn_zoo.data.sources import (
    DATA_DIR_VARIABLE,
    ChecksumError,
    DataNotFoundError,
    RemoteFile,
    candidate_dirs,
    resolve_file,
    sha256_of,
)

NAME = "tinyshakespeare.txt"
PINNED_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
TRUNCATED_URL_PATH = f"truncated/{NAME}"
# The places resolve_file looks, in its documented order.
LEVELS = ("file", "directory", "env", "cache", "system", "download")


@dataclasses.dataclass
class LocalServer:
    """A real HTTP server on 127.0.0.1 serving ``root``; ``requests`` logs the paths asked."""

    root: Path
    server: http.server.ThreadingHTTPServer
    thread: threading.Thread
    requests: list[str]

    def url(self, name: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/{name}"

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join()
        self.server.server_close()


@pytest.fixture
def server(tmp_path, shared_data):
    """Serves the real file at /tinyshakespeare.txt and its first half at /truncated/..."""
    root = tmp_path / "www"
    (root / "truncated").mkdir(parents=True)
    (root / NAME).symlink_to(shared_data / NAME)
    original = (shared_data / NAME).read_bytes()
    (root / TRUNCATED_URL_PATH).write_bytes(original[: len(original) // 2])
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def log_message(self, format, *args):  # silence the access log
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(root))
    )
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    local = LocalServer(root, httpd, thread, requests)
    yield local
    local.stop()


@dataclasses.dataclass
class Layout:
    """Every place resolve_file looks, as empty temporary directories."""

    tmp: Path
    monkeypatch: pytest.MonkeyPatch
    source: Path

    @property
    def explicit(self) -> Path:
        return self.tmp / "explicit"

    @property
    def env(self) -> Path:
        return self.tmp / "env"

    @property
    def cache(self) -> Path:
        return self.tmp / "keras_home" / "datasets"

    @property
    def system(self) -> Path:
        return self.tmp / "system"

    @property
    def user_file(self) -> Path:
        return self.tmp / "my_corpus.txt"

    def remote(self, url: str, **kwargs) -> RemoteFile:
        return RemoteFile(NAME, url, PINNED_SHA256, system_dirs=(str(self.system),), **kwargs)

    def fill(self, level: str) -> Path:
        """Puts a good copy at one level (the user's own file for "file"); returns its path."""
        if level == "file":
            self.user_file.write_text("my own corpus, used as it is\n")
            return self.user_file
        if level == "download":
            return self.cache / NAME
        places = {
            "directory": self.explicit,
            "env": self.env,
            "cache": self.cache,
            "system": self.system,
        }
        copy = places[level] / NAME
        copy.symlink_to(self.source)
        return copy

    def enable_env(self) -> None:
        self.monkeypatch.setenv(DATA_DIR_VARIABLE, str(self.env))


@pytest.fixture
def layout(tmp_path, monkeypatch, shared_data):
    """Empty explicit/env/cache/system dirs, KERAS_HOME in tmp, RNN_ZOO_DATA_DIR unset."""
    places = Layout(tmp_path, monkeypatch, shared_data / NAME)
    for directory in (places.explicit, places.env, places.cache, places.system):
        directory.mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv(DATA_DIR_VARIABLE, raising=False)
    for variable in ("no_proxy", "NO_PROXY"):  # never send 127.0.0.1 through a proxy
        monkeypatch.setenv(variable, "127.0.0.1,localhost")
    return places


def test_the_shared_file_matches_the_pinned_hash(shared_data):
    assert sha256_of(shared_data / NAME) == PINNED_SHA256


def test_candidate_dirs_follow_the_documented_order(layout):
    layout.enable_env()
    remote = layout.remote("http://127.0.0.1:9/unused")
    expected = [layout.explicit, layout.env, layout.cache, layout.system]
    assert candidate_dirs(remote, layout.explicit) == expected


def test_a_distribution_folder_is_searched_inside_each_directory(layout):
    layout.enable_env()
    remote = layout.remote("http://127.0.0.1:9/unused", folder="corpus")
    (layout.env / "corpus").mkdir()
    (layout.env / "corpus" / NAME).symlink_to(layout.source)
    assert candidate_dirs(remote)[:2] == [layout.env, layout.env / "corpus"]
    assert resolve_file(remote, allow_download=False) == layout.env / "corpus" / NAME


@pytest.mark.parametrize("winner", LEVELS)
def test_each_place_wins_over_the_ones_after_it(winner, layout, server):
    remote = layout.remote(server.url(NAME))
    filled = {level: layout.fill(level) for level in LEVELS[LEVELS.index(winner) :]}
    layout.enable_env()
    path = layout.user_file if "file" in filled else layout.explicit

    found = resolve_file(remote, path)

    assert found == filled[winner]
    assert server.requests == ([f"/{NAME}"] if winner == "download" else [])
    if winner == "file":
        assert found.read_text() == "my own corpus, used as it is\n"  # not hash-checked
    else:
        assert sha256_of(found) == PINNED_SHA256


def test_an_explicit_directory_without_the_file_falls_through(layout, server):
    cached = layout.fill("cache")
    assert resolve_file(layout.remote(server.url(NAME)), layout.explicit) == cached


def test_an_alias_is_accepted_with_its_own_hash_and_the_canonical_name_comes_first(layout):
    alias = layout.env / "shakespeare.txt"
    alias.write_text("To be, or not to be\n")
    alias_hash = sha256_of(alias)
    remote = layout.remote("http://127.0.0.1:9/unused", aliases=(("shakespeare.txt", alias_hash),))
    layout.enable_env()
    assert resolve_file(remote, allow_download=False) == alias
    canonical = layout.fill("env")
    assert resolve_file(remote, allow_download=False) == canonical


@pytest.mark.parametrize("bad_level", ["directory", "env", "cache", "system"])
def test_a_copy_with_the_wrong_hash_is_refused_not_used(bad_level, layout, server):
    remote = layout.remote(server.url(NAME))
    later = LEVELS[LEVELS.index(bad_level) + 1 :]
    for level in later:  # good copies further down must not be reached either
        layout.fill(level)
    bad = layout.fill(bad_level)
    bad.unlink()
    bad.write_bytes(layout.source.read_bytes()[:1000])
    layout.enable_env()

    with pytest.raises(ChecksumError) as error:
        resolve_file(remote, layout.explicit if bad_level == "directory" else None)

    message = str(error.value)
    assert str(bad) in message
    assert sha256_of(bad) in message
    assert PINNED_SHA256 in message
    assert server.requests == []


def test_a_download_with_the_wrong_hash_raises_and_leaves_nothing_in_the_cache(layout, server):
    remote = layout.remote(server.url(TRUNCATED_URL_PATH))
    truncated_hash = sha256_of(server.root / TRUNCATED_URL_PATH)

    with pytest.raises(ChecksumError) as error:
        resolve_file(remote)

    assert server.requests == [f"/{TRUNCATED_URL_PATH}"]  # it really was downloaded
    assert truncated_hash in str(error.value)
    assert PINNED_SHA256 in str(error.value)
    keras_home = layout.cache.parent
    assert [path.relative_to(keras_home) for path in keras_home.rglob("*")] == [Path("datasets")]


def test_a_download_with_the_wrong_hash_names_the_url(layout, server):
    url = server.url(TRUNCATED_URL_PATH)
    with pytest.raises(ChecksumError, match=url):
        resolve_file(layout.remote(url))


def _closed_port_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/{NAME}"


@pytest.mark.parametrize("failure", ["404", "closed port"])
def test_a_failed_download_lists_every_place_looked_and_how_to_supply_it(failure, layout, server):
    url = server.url("missing/" + NAME) if failure == "404" else _closed_port_url()
    layout.enable_env()

    with pytest.raises(DataNotFoundError) as error:
        resolve_file(layout.remote(url), layout.explicit)

    message = str(error.value)
    assert isinstance(error.value, FileNotFoundError)
    for directory in (layout.explicit, layout.env, layout.cache, layout.system):
        assert f"  - {directory}\n" in message
    assert f"download from {url} failed" in message
    assert "path argument" in message and DATA_DIR_VARIABLE in message
    assert f"download {url} into {layout.cache}" in message
    if failure == "404":
        assert "404" in message
        assert server.requests == [f"/missing/{NAME}"]
    assert list(layout.cache.iterdir()) == []


def test_download_disabled_reports_it_without_touching_the_server(layout, server):
    with pytest.raises(DataNotFoundError, match="download disabled"):
        resolve_file(layout.remote(server.url(NAME)), allow_download=False)
    assert server.requests == []


def test_a_missing_explicit_path_is_named(layout, server):
    missing = layout.tmp / "nowhere"
    with pytest.raises(DataNotFoundError, match=f"path='{missing}' does not exist"):
        resolve_file(layout.remote(server.url(NAME)), missing)
    assert server.requests == []


def test_a_download_lands_in_the_cache_and_the_next_resolve_uses_it(layout, server):
    remote = layout.remote(server.url(NAME))

    downloaded = resolve_file(remote)

    assert downloaded == layout.cache / NAME
    assert sha256_of(downloaded) == PINNED_SHA256
    assert list(layout.cache.iterdir()) == [downloaded]  # no staging directory left behind
    assert server.requests == [f"/{NAME}"]
    server.stop()
    assert resolve_file(remote) == downloaded
    assert server.requests == [f"/{NAME}"]
