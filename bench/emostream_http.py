"""HTTP helpers the benchmark scripts share (standard library only)."""
import json
import urllib.request


def post(url, body, token=None):
    """POSTs `body` as JSON (or nothing when None), with a bearer token when given; returns the decoded answer."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = json.dumps(body).encode() if body is not None else b""
    return json.load(urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers, method="POST")))
