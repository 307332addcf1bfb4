"""Progress bars (rich) for the two long stages, tokenizing and training, and notices.

Both go to stderr: stdout carries results only, so `--json` output always parses.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache

_QUIET: ContextVar[bool] = ContextVar("ksent_quiet_bars", default=False)


@cache
def console():
    """The stderr console (rich imported on first use: a short command that prints no bar skips it)."""
    from rich.console import Console

    return Console(stderr=True)


def notice(message: str) -> None:
    """A one-line message for the person at the terminal (a download, a summary), on stderr."""
    console().print(message, soft_wrap=True, markup=False, highlight=False)


@contextmanager
def quiet() -> Iterator[None]:
    """No bars inside: for work that one outer bar counts as a whole (rich shows one live display at a
    time, and a bar per chunk of a long job would say less)."""
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


@contextmanager
def bar(description: str, total: int, enabled: bool = True, counts: bool = True) -> Iterator:
    """Yield an `advance(n)` function; the bar goes to stderr so stdout stays parseable.

    `counts`: show "done/total" (items); off, a percentage (for totals in bytes)."""
    if not enabled or _QUIET.get():
        yield lambda n=1, **kw: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn() if counts else TaskProgressColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console(),
        transient=False,
        redirect_stdout=False,  # results printed while a bar runs must stay on stdout, not join the bar
        redirect_stderr=False,
    ) as progress:
        task = progress.add_task(description, total=total, info="")

        def advance(n: int = 1, info: str | None = None) -> None:
            progress.update(task, advance=n, **({"info": info} if info is not None else {}))

        yield advance
