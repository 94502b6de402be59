"""``skillpath replay LOGFILE-or-REQUEST-ID``: re-run logged recommendations and compare.

A request id is looked up in the request log (``<home>/requests.jsonl``, or ``--log``); a
file is read as request-log lines (the log itself, or lines an advisor cut out of it) and
every line is replayed. Each is re-run through the facade, unlogged, and its answer compared
with the logged one (:func:`skillpath.engine.provenance.compare`).

On the same provenance (ESCO release, catalogue revision, matcher, tuning, encoder, code
version) the answer must be the same; when a part moved on, the replay says which, because
the store keeps no history: the replay ranks today's catalogue, so a different answer is then
expected, not a fault.

Exit status: 0 when every replayed answer is the same, 2 when one differs, 1 on an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from skillpath.engine.clikit import JsonOpt, console, errors, print_json, service
from skillpath.engine.provenance import LoggedRequest, ReplayResult, compare
from skillpath.engine.recommendation import RecommendationRequest
from skillpath.engine.request_log import find, log_path, read
from skillpath.errors import InvalidInput

_NAMES = {
    "esco_version": "ESCO version",
    "catalogue_revision": "catalogue revision",
    "matcher_fingerprint": "matcher fingerprint",
    "title_fingerprint": "title matcher fingerprint",
    "tuning_fingerprint": "tuning fingerprint",
    "encoder": "encoder",
    "skillpath_version": "skillpath version",
    "settings": "settings",
}


def _request(entry: LoggedRequest) -> RecommendationRequest:
    try:
        return RecommendationRequest.model_validate(entry.request)
    except ValidationError as exc:
        raise InvalidInput(
            f"logged request {entry.provenance.request_id}: not a valid request ({exc})"
        ) from None


def changed_lines(result: ReplayResult) -> list[str]:
    """One line per provenance part that moved since the request was logged."""
    lines = []
    for name, (then, now) in result.changed.items():
        label = _NAMES.get(name, name)
        if name == "settings":
            keys = sorted(k for k in {**then, **now} if then.get(k) != now.get(k))
            lines.append(f"{label} differ: {', '.join(keys)}")
        else:
            lines.append(f"{label} differs: logged {then}, now {now}")
    return lines


def replay_command(
    source: Annotated[
        str, typer.Argument(help="A request id, or a file of request-log lines.", metavar="LOG")
    ],
    log: Annotated[
        Path | None,
        typer.Option(help="The request log to find a request id in (default: the home's)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-run logged recommendation requests and report whether the answers are the same."""
    with errors():
        engine = service()
        path = Path(source)
        if path.is_file():
            entries = list(read(path))
        else:
            where = log or log_path(engine.settings)
            if where is None:
                raise InvalidInput("the request log is off (SKILLPATH_REQUEST_LOG): give --log")
            entries = find(where, source)
        results = []
        for entry in entries:
            request_id = entry.provenance.request_id
            response = engine.recommend(_request(entry), request_id=request_id, log=False)
            if response.provenance is None:  # the facade stamps every answer
                raise RuntimeError("the engine returned an answer without provenance")
            results.append(compare(entry, response.provenance, response.model_dump(mode="json")))
    if as_json:
        print_json(results)
    else:
        for result in results:
            _print(result)
    if not all(r.same_answer for r in results):
        raise typer.Exit(2)


def _print(result: ReplayResult) -> None:
    verdict = "[green]same answer[/green]" if result.same_answer else "[red]different[/red]"
    console.print(f"request {result.request_id}: {verdict}", highlight=False)
    for line in changed_lines(result):
        console.print(f"  [yellow]{line}[/yellow]", highlight=False)
    if result.changed and not result.same_answer:
        console.print(
            "  the store keeps no history: this replay ranked today's catalogue and models, "
            "so a different answer is expected",
            highlight=False,
        )
    elif not result.changed and not result.same_answer:
        console.print(
            "  [red]same provenance, different answer: not reproducible (report it)[/red]",
            highlight=False,
        )
    for line in result.differences:
        console.print(f"  {line}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``replay`` to the root CLI app."""
    app.command("replay")(replay_command)
