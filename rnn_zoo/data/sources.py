"""Where dataset files come from, in one order shared by every loader.

:func:`resolve_file` looks for a dataset file in this order and returns the first hit:

1. the explicit ``path`` argument of the loader (a file, or a directory holding it);
2. the directory named by the ``RNN_ZOO_DATA_DIR`` environment variable;
3. the Keras cache, ``~/.keras/datasets/<cache_subdir>/`` (where ``keras.datasets``
   already keeps Fashion-MNIST and IMDB) — or ``$KERAS_HOME/datasets``;
4. system copies, such as Debian's ``dataset-fashion-mnist`` package
   (``/usr/share/datasets/fashion-mnist``);
5. a download from the canonical URL with ``keras.utils.get_file`` into a temporary
   name, verified against a pinned sha256, then renamed into the Keras cache.

A file found by its canonical name (steps 2–4, or a directory given in step 1) must
match its pinned sha256, or it is refused. A *file* passed explicitly in step 1 is the
user's own data and is used as it is.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from rnn_zoo.files import atomic_path

DATA_DIR_VARIABLE = "RNN_ZOO_DATA_DIR"
_RESOLVED: contextvars.ContextVar[list[Path] | None] = contextvars.ContextVar(
    "rnn_zoo_resolved_files", default=None
)


class DataNotFoundError(FileNotFoundError):
    """Raised when a dataset file is nowhere to be found and cannot be downloaded."""


class ChecksumError(ValueError):
    """Raised when a dataset file's sha256 differs from the pinned one."""


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    """A dataset file: its canonical name, URL and pinned hash, and other local names.

    Attributes:
        filename: The canonical file name, e.g. ``"tinyshakespeare.txt"``.
        url: Where a user without a local copy downloads it from.
        sha256: The pinned sha256 of the canonical file.
        cache_subdir: Sub-directory of the Keras cache (``~/.keras/<cache_subdir>``).
        aliases: Other accepted local copies, as ``(filename, sha256)`` pairs (for
            example the labeled-only IMDB tarball).
        system_dirs: Directories where system packages install the file.
        folder: The folder a distribution keeps the file in (``"ud_english_ewt"``
            say); every searched directory is also searched under this sub-folder.
    """

    filename: str
    url: str
    sha256: str
    cache_subdir: str = "datasets"
    aliases: tuple[tuple[str, str], ...] = ()
    system_dirs: tuple[str, ...] = ()
    folder: str = ""

    @property
    def known_files(self) -> tuple[tuple[str, str], ...]:
        """Every accepted ``(filename, sha256)``, canonical first."""
        return ((self.filename, self.sha256), *self.aliases)


def sha256_of(path: str | os.PathLike) -> str:
    """Computes a file's sha256.

    Args:
        path: The file.

    Returns:
        The hex digest.

    Example:
        >>> sha256_of("tinyshakespeare.txt")  # doctest: +SKIP
        '86c4e6aa...'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: str | os.PathLike, expected_sha256: str) -> Path:
    """Checks a file against its pinned sha256.

    Args:
        path: The file.
        expected_sha256: The pinned hex digest.

    Returns:
        The path, when it matches.

    Raises:
        ChecksumError: If the hash differs; the message names the file and both hashes.

    Example:
        >>> verify_file("data/tinyshakespeare.txt", TINY_SHAKESPEARE.sha256)  # doctest: +SKIP
    """
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise ChecksumError(
            f"{os.fspath(path)} has sha256 {actual}, expected {expected_sha256}: the file is "
            "corrupt, truncated or not the published dataset; delete it and supply the original"
        )
    return Path(path)


def keras_cache_dir(remote: RemoteFile) -> Path:
    """Returns the Keras cache directory for a file (``$KERAS_HOME`` or ``~/.keras``).

    Args:
        remote: The dataset file.

    Returns:
        The directory ``<keras home>/<cache_subdir>``.

    Example:
        >>> keras_cache_dir(TINY_SHAKESPEARE)  # doctest: +SKIP
        PosixPath('/home/me/.keras/datasets')
    """
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / remote.cache_subdir


def candidate_dirs(remote: RemoteFile, path: str | os.PathLike | None = None) -> list[Path]:
    """Lists the directories searched for a file, in order.

    Args:
        remote: The dataset file.
        path: An explicit directory given by the user, if any.

    Returns:
        The directories, explicit first, system copies last.

    Example:
        >>> candidate_dirs(TINY_SHAKESPEARE)  # doctest: +SKIP
    """
    dirs = [Path(path)] if path is not None else []
    env_dir = os.environ.get(DATA_DIR_VARIABLE)
    if env_dir:
        dirs.append(Path(env_dir))
    dirs.append(keras_cache_dir(remote))
    dirs.extend(Path(directory) for directory in remote.system_dirs)
    if remote.folder:
        dirs = [place for directory in dirs for place in (directory, directory / remote.folder)]
    return dirs


def _find_local(remote: RemoteFile, directories: list[Path]) -> Path | None:
    hashes: dict[str, list[str]] = {}
    for filename, sha256 in remote.known_files:
        hashes.setdefault(filename, []).append(sha256)
    for directory in directories:
        for filename, accepted in hashes.items():
            candidate = directory / filename
            if not candidate.is_file():
                continue
            if sha256_of(candidate) in accepted:
                return candidate
            verify_file(candidate, accepted[0])  # raises, naming the file and both hashes
    return None


def download(remote: RemoteFile) -> Path:
    """Downloads a file into the Keras cache, verified and atomically renamed.

    The file is fetched with ``keras.utils.get_file`` into a temporary directory
    beside the cache, checked against the pinned sha256, then renamed into place:
    an interrupted, truncated or corrupt download leaves nothing in the cache.

    Args:
        remote: The dataset file.

    Returns:
        The path of the cached file.

    Raises:
        ChecksumError: If the downloaded file's hash differs from the pinned one.
        Exception: Whatever ``get_file`` raises when the URL cannot be fetched.

    Example:
        >>> download(TINY_SHAKESPEARE)  # doctest: +SKIP
    """
    import keras

    cache = keras_cache_dir(remote)
    cache.mkdir(parents=True, exist_ok=True)
    final = cache / remote.filename
    with atomic_path(final) as staged:
        fetched = keras.utils.get_file(
            fname=staged.name, origin=remote.url, cache_dir=cache, cache_subdir="."
        )
        actual = sha256_of(fetched)
        if actual != remote.sha256:
            raise ChecksumError(
                f"the download of {remote.filename} from {remote.url} has sha256 {actual}, "
                f"expected {remote.sha256}; it was discarded and nothing was cached"
            )
    return final


@contextlib.contextmanager
def recording_resolved_files() -> Iterator[list[Path]]:
    """Collects every file :func:`resolve_file` returns inside the block.

    Training uses it to learn which files a loader read, whatever the dataset, and so
    what a run was trained on.

    Yields:
        The list the resolved paths are appended to, in order.

    Example:
        >>> with recording_resolved_files() as files:  # doctest: +SKIP
        ...     bundle = load_text_corpus()
        >>> files  # doctest: +SKIP
        [PosixPath('/home/me/.keras/datasets/tinyshakespeare.txt')]
    """
    files: list[Path] = []
    token = _RESOLVED.set(files)
    try:
        yield files
    finally:
        _RESOLVED.reset(token)


def _resolved(path: Path) -> Path:
    recorded = _RESOLVED.get()
    if recorded is not None:
        recorded.append(path)
    return path


def resolve_file(
    remote: RemoteFile, path: str | os.PathLike | None = None, *, allow_download: bool = True
) -> Path:
    """Finds a dataset file, downloading it as a last resort (see the module docstring).

    Args:
        remote: The dataset file.
        path: A file (used as it is) or a directory that holds the file.
        allow_download: Whether to download when no local copy is found.

    Returns:
        The path of a verified (or explicitly given) file.

    Raises:
        DataNotFoundError: If ``path`` does not exist, or nothing was found and the
            download failed; the message lists every place looked.
        ChecksumError: If a copy found by name does not match its pinned hash.

    Example:
        >>> resolve_file(TINY_SHAKESPEARE, "../shared/data")  # doctest: +SKIP
        PosixPath('../shared/data/tinyshakespeare.txt')
    """
    if path is not None:
        explicit = Path(path)
        if explicit.is_file():
            return _resolved(explicit)
        if not explicit.is_dir():
            raise DataNotFoundError(
                f"path={os.fspath(path)!r} does not exist; expected the file "
                f"{remote.filename} or a directory that holds it"
            )
    directories = candidate_dirs(remote, path)
    found = _find_local(remote, directories)
    if found is not None:
        return _resolved(found)
    failure = "download disabled"
    if allow_download:
        try:
            return _resolved(download(remote))
        except ChecksumError:
            raise
        except Exception as error:  # noqa: BLE001 - any network failure is reported below
            failure = f"download from {remote.url} failed: {error}"
    names = " or ".join(name for name, _ in remote.known_files)
    looked = "\n".join(f"  - {directory}" for directory in directories)
    raise DataNotFoundError(
        f"{names} not found. Looked in:\n{looked}\nand {failure}.\n"
        f"Supply it with the loader's path argument, set {DATA_DIR_VARIABLE} to a folder "
        f"that holds it, or download {remote.url} into {keras_cache_dir(remote)}."
    )
