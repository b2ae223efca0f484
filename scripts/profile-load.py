#!/usr/bin/env python3
"""Sends N Chat Completions requests, one at a time on one keep-alive connection, to an
orpipe started by scripts/profile.sh (see "Where the time goes" in docs/benchmarks.md).

usage: profile-load.py PORT N stream|whole
"""
import http.client
import json
import sys

port, count, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
body = json.dumps({
    "model": "openai/gpt-4o-mini",
    "stream": mode == "stream",
    "messages": [{"role": "user", "content": "hi"}],
})
headers = {"Authorization": "Bearer sk-orpipe-bench", "Content-Type": "application/json"}
conn = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(count):
    conn.request("POST", "/v1/chat/completions", body, headers)
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        sys.exit(f"status {response.status}: {data[:300]!r}")
