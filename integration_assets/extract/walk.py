"""The protocol every page stream keeps (`PageStream`, `ExportStream`): iterated once, used
as a context manager, and on close stops its walk (whatever the walk's own `finally` does,
such as canceling a running export) and releases the HTTP client it made for itself."""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Self

import httpx

from integration_assets.extract.page import Page


class PageWalk:
    """Base of the page streams: a subclass sets `_client` (None: make one when needed) and
    `_owns_client`, and writes `_pages()`."""

    _iterator: Iterator[Page] | None = None
    _client: httpx.Client | None
    _owns_client: bool

    def _pages(self) -> Iterator[Page]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Page]:
        if self._iterator is not None:
            raise RuntimeError(f"a {type(self).__name__} can be iterated only once; make a new one")
        self._iterator = self._pages()
        return self._iterator

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the walk and release the client this stream made (idempotent)."""
        if self._iterator is not None:
            self._iterator.close()
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None
