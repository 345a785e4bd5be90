"""When Prefect retries a task: after a network failure (the server could not be reached or
answered 5xx/429 even after the connector's own retries), in runs of a deployment — a scheduled
run has time to wait for a server to come back. Never after a configuration, file or data error
(retrying cannot fix those), and not in a run started from the command line, where the person at
the terminal gets the error at once."""

from __future__ import annotations

import requests

from cchc.connectors.http import SourceError

#: Prefect task options for a step that reads an outside system.
NETWORK_RETRIES = 2
NETWORK_RETRY_DELAYS_S = [30, 120]


def is_network_failure(exc: BaseException | None) -> bool:
    """A failure worth retrying later: connection refused/reset, timeouts, HTTP 5xx and 429.

    A `SourceError` is one when it carries a 5xx/429 status, or no status after several connection
    attempts (the connector retried); one without status at the first attempt is a setting
    (missing credentials, bad URL), as is any 4xx answer or a malformed body."""
    if isinstance(exc, SourceError):
        if exc.status is not None:
            return exc.status >= 500 or exc.status == 429
        return exc.attempts > 1
    return isinstance(exc, (ConnectionError, TimeoutError, requests.exceptions.ConnectionError,
                            requests.exceptions.Timeout))


def retry_on_network_failure(task, task_run, state) -> bool:
    """`retry_condition_fn` of the tasks that read the provincial system and the national portal."""
    from prefect.runtime import deployment

    if deployment.id is None:  # started from the command line: no extra waiting
        return False
    try:
        state.result()
    except Exception as e:  # noqa: BLE001 — the failure of the task run is what is judged
        return is_network_failure(e)
    return False


def network_retry_options() -> dict:
    return {"retries": NETWORK_RETRIES, "retry_delay_seconds": NETWORK_RETRY_DELAYS_S,
            "retry_condition_fn": retry_on_network_failure}
