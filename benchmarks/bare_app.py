"""A bare Flask app answering a fixed JSON payload, the baseline for benchmarks/catalogue.py."""
import os

import json

from flask import Flask, jsonify

app = Flask("bare")
app.json.ensure_ascii = False
app.json.sort_keys = False
with open(os.environ["BARE_PAYLOAD_FILE"], "rb") as fh:
    _PAYLOAD = json.loads(fh.read())


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.get("/bare")
def bare():
    return jsonify(_PAYLOAD)
