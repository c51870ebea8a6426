"""Records the requests a Python program sends with ``requests`` except GETs: method, URL and
body, in order, written as JSON lines to ``$FERROMETA_BENCH_CAPTURE`` at exit.

Used by bench/ingest_client.py on its capture run only (``PYTHONPATH=bench/capture``), to replay
the official client's PUT bodies against a fresh server; the measured run has no recorder.
The bodies are kept as the client serialized them (no copy, no re-encoding).
"""

import atexit
import json
import os

_PATH = os.environ.get("FERROMETA_BENCH_CAPTURE")

if _PATH:
    import requests

    _seen = []
    _request = requests.Session.request

    def _recording(self, method, url, *args, **kwargs):
        if str(method).upper() != "GET":
            body = kwargs.get("data")
            if body is None and kwargs.get("json") is not None:
                body = json.dumps(kwargs["json"])
            _seen.append((str(method).upper(), str(url), body if isinstance(body, (str, type(None))) else bytes(body).decode("utf-8", "replace")))
        return _request(self, method, url, *args, **kwargs)

    requests.Session.request = _recording

    @atexit.register
    def _write():
        with open(_PATH, "w", encoding="utf-8") as out:
            for method, url, body in _seen:
                out.write(json.dumps({"method": method, "url": url, "body": body}) + "\n")
