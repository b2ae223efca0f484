"""Drives a real Open WebUI 0.12.4 connected to orpipe (which talks to the mock OpenRouter)
through Open WebUI's own HTTP API, as its browser front end would. Run by
scripts/owui-e2e.sh, which starts the three servers; prints each check and exits non-zero
on the first failure.

    python e2e.py --phase first   # settings listed, changed, refused, applied; chats
    python e2e.py --phase restart # after orpipe restarted: the saved settings are still in force
"""

import argparse
import json
import re
import sqlite3
import sys
import time
import uuid

import requests

REASONING_MODEL = "anthropic.claude-sonnet-4.5"
SEARCH_MODEL = "openai.gpt-4o-mini"
# Served by the mock in content mode (tests/fixtures/model_image_output.json).
IMAGE_MODEL = "google.gemini-2.5-flash-image"
# A chat whose model calls the MCP server's `add` (the mock's cue, tests/src/mock/tool_calls.rs).
TOOL_PROMPT = 'Add please. [mock:call add {"a": 2, "b": 3}]'
TOOL_CHAT_TITLE = "e2e tools"
# orpipe's hidden marker lines (guest/src/markers.rs): artifact ids and answer phases.
MARKER_LINE = re.compile(r"^\[(?:[0-9A-HJKMNP-TV-Z]{26}|[0-9A-HJKMNP-TV-Z]{20}|P:[a-z_]+)\]: #$")


class Check:
    def __init__(self):
        self.passed = 0

    def __call__(self, condition, what, detail=None):
        if not condition:
            print(f"FAIL  {what}")
            if detail is not None:
                print(f"      {json.dumps(detail, indent=1, default=str)[:3000]}")
            sys.exit(1)
        self.passed += 1
        print(f"ok    {what}")


check = Check()


class OpenWebUI:
    def __init__(self, base, email, password):
        self.base = base.rstrip("/")
        token = requests.post(
            f"{self.base}/api/v1/auths/signin",
            json={"email": email, "password": password},
            timeout=30,
        )
        token.raise_for_status()
        self.user = token.json()
        self.headers = {"Authorization": f"Bearer {self.user['token']}"}

    def get(self, path, **kw):
        return requests.get(f"{self.base}{path}", headers=self.headers, timeout=60, **kw)

    def post(self, path, body, **kw):
        return requests.post(
            f"{self.base}{path}", headers=self.headers, json=body, timeout=120, **kw
        )

    def valves(self):
        response = self.get("/api/v1/pipelines/orpipe/valves?urlIdx=0")
        check(response.status_code == 200, "valves readable through Open WebUI", response.text)
        return response.json()

    def update_valves(self, valves):
        return self.post("/api/v1/pipelines/orpipe/valves/update?urlIdx=0", valves)

    def chat(self, model, text, features=None, title="e2e", follow=None):
        """One UI-equivalent chat turn; returns (chat id, the stored assistant message).
        `follow`: (chat id, the answer replied to, the messages so far) continues that chat,
        whose history Open WebUI then reads from its own database."""
        if follow:
            chat_id, parent_id, earlier = follow
        else:
            chat = self.post(
                "/api/v1/chats/new",
                {"chat": {"title": title, "models": [model],
                          "history": {"messages": {}, "currentId": None}, "messages": []}},
            )
            chat.raise_for_status()
            chat_id, parent_id, earlier = chat.json()["id"], None, []
        user_id, answer_id = str(uuid.uuid4()), str(uuid.uuid4())
        response = self.post(
            "/api/chat/completions",
            {
                "model": model, "stream": True, "chat_id": chat_id, "id": answer_id,
                "user_message": {"id": user_id, "parentId": parent_id, "role": "user",
                                 "content": text, "models": [model],
                                 "timestamp": int(time.time())},
                "messages": earlier + [{"role": "user", "content": text}],
                "params": {}, "features": features or {},
            },
        )
        check(response.status_code == 200, f"chat completion through Open WebUI ({model})",
              response.text)
        message = None
        for _ in range(60):
            stored = self.get(f"/api/v1/chats/{chat_id}").json()
            message = stored["chat"]["history"]["messages"].get(answer_id)
            if message and message.get("done"):
                break
            time.sleep(0.5)
        check(message is not None and message.get("done"), "the answer is stored, done",
              message)
        return chat_id, message


def mock_requests(mock, path="/api/v1/responses"):
    recorded = requests.get(f"{mock}/mock/requests", timeout=10).json()
    return [r for r in recorded if r["path"] == path]


def image_and_card_checks(owui, args):
    """Image output through the chat endpoint, and a failure before the first byte."""
    chat_path = "/api/v1/chat/completions"
    before = len(mock_requests(args.mock, chat_path))
    _, message = owui.chat(IMAGE_MODEL, "Draw a red dot")
    sent = mock_requests(args.mock, chat_path)[before:]
    check(sent and sent[-1]["body"].get("modalities") == ["image", "text"],
          "the image model was asked for images on OpenRouter's /chat/completions",
          [r["body"].get("modalities") for r in sent])
    check("Here is a red dot." in (message.get("content") or ""),
          "the image answer's text is shown", message.get("content"))
    files = message.get("files") or []
    check(any(f.get("type") == "image" for f in files),
          "Open WebUI keeps the generated image as a file of the message", files)
    check("base64" not in (message.get("content") or ""),
          "the image data is not in the message text")

    _, message = owui.chat(REASONING_MODEL, "Hello [mock:credits]")
    content = message.get("content") or ""
    check(content.startswith("### 💳 Insufficient Credits"),
          "a refusal before the answer started shows the original's card in the chat",
          {"content": content[:300], "error": message.get("error")})


def visible_text(content):
    """The answer as Open WebUI's Markdown shows it: orpipe's marker lines left out."""
    lines = [line for line in (content or "").splitlines()
             if not MARKER_LINE.match(line.strip())]
    return "\n".join(lines).strip()


def part_text(output):
    """A tool output as the model reads it: a string, or the text of its parts."""
    if isinstance(output, list):
        return "\n".join(p.get("text", "") for p in output if isinstance(p, dict))
    return output


def tool_loop_checks(owui, args):
    """A tool of the MCP server `calc` run by orpipe's tool loop, as an Open WebUI user sees
    it: the status lines, then the model's answer from the output, in one reply."""
    before = len(mock_requests(args.mock))
    _, message = owui.chat(SEARCH_MODEL, TOOL_PROMPT, title=TOOL_CHAT_TITLE)
    sent = [r["body"] for r in mock_requests(args.mock)[before:]]
    offered = [t.get("name") for t in sent[0].get("tools", [])] if sent else []
    check("calc__add" in offered, "the MCP server's tools are offered to the model", offered)
    outputs = [part_text(item.get("output")) for body in sent for item in body.get("input", [])
               if isinstance(item, dict) and item.get("type") == "function_call_output"]
    check(len(sent) == 2 and outputs == ["5"],
          "orpipe ran calc__add and asked again with its output, in the same answer",
          {"requests": len(sent), "outputs": outputs})
    content = message.get("content") or ""
    check(visible_text(content) == "Tool results: 5",
          "Open WebUI shows the answer written from the tool's output", content)
    descriptions = [(s.get("description") or "", s.get("done"))
                    for s in message.get("statusHistory") or []]
    running = [i for i, (d, done) in enumerate(descriptions)
               if d == "Running add (calc)…" and not done]
    ran = [i for i, (d, done) in enumerate(descriptions)
           if d.startswith("Ran add (calc) in ") and done]
    check(running and ran and running[0] < ran[0],
          "Open WebUI kept \"Running add (calc)…\" then \"Ran add (calc) in …\"",
          descriptions)
    # Each of the mock's answers reports 10 tokens in and 5 out: two rounds, one sum.
    status = last_status(message)
    check(status and "(in 20 · out 10)" in status.get("description", ""),
          "the status line sums the usage of both rounds", status)
    calls = [item for item in message.get("output") or []
             if item.get("type") in ("function_call", "function_call_output")]
    check(not calls and not message.get("tool_calls") and "tool_calls" not in content,
          "the server tool's call is not shown to Open WebUI as a tool call of its own",
          {"output": message.get("output"), "tool_calls": message.get("tool_calls")})


def last_status(message):
    history = message.get("statusHistory") or []
    return history[-1] if history else None


def first_phase(owui, args):
    raw = owui.get("/openai/models/0").json()
    check(raw.get("pipelines") is True, "orpipe's /models says it is a Pipelines server",
          {k: v for k, v in raw.items() if k != "data"})
    listed = owui.get("/api/v1/pipelines/list").json()
    check(any(p.get("idx") == 0 for p in listed.get("data", [])),
          "Open WebUI lists orpipe in the Pipelines tab", listed)
    pipelines = owui.get("/api/v1/pipelines/?urlIdx=0").json()
    check(any(p.get("id") == "orpipe" for p in pipelines.get("data", pipelines)),
          "the Pipelines tab shows the orpipe pipeline", pipelines)
    spec = owui.get("/api/v1/pipelines/orpipe/valves/spec?urlIdx=0").json()
    properties = spec.get("properties", {})
    untitled = [k for k, v in properties.items() if not v.get("title")]
    check(properties and not untitled, f"{len(properties)} settings, every one with a title",
          untitled or spec)
    check(properties.get("reasoning_effort", {}).get("enum"),
          "the default reasoning effort is a select", properties.get("reasoning_effort"))
    check(properties.get("status_line", {}).get("type") == "boolean",
          "the status line is a switch", properties.get("status_line"))

    valves = owui.valves()
    check(valves.get("reasoning_effort") == "medium", "default reasoning effort: medium",
          valves)

    # A bad value anywhere: refused, nothing stored. Open WebUI 0.12.4's proxy drops the
    # error body (it shows "Pipeline not found"), so the named field is checked on
    # orpipe's own answer to the same update.
    bad = dict(valves, reasoning_effort="high", web_search_max_results="lots")
    response = owui.update_valves(bad)
    check(response.status_code >= 400, "Open WebUI reports the refused update", response.text)
    direct = requests.post(f"{args.orpipe}/v1/orpipe/valves/update", json=bad, timeout=30,
                           headers={"Authorization": f"Bearer {args.admin_key}"})
    check(direct.status_code == 400 and "web_search_max_results" in direct.text,
          "orpipe names the bad setting", direct.text)
    check(owui.valves().get("reasoning_effort") == "medium",
          "after the refusals nothing changed")

    # The admin changes one setting, as the tab does: the whole object with one edit.
    changed = dict(valves, reasoning_effort="high")
    response = owui.update_valves(changed)
    check(response.status_code == 200, "the admin saves reasoning effort = high",
          response.text)
    check(owui.valves().get("reasoning_effort") == "high", "the change is in force")

    # Chat with a reasoning model: reasons by default with the saved effort.
    before = len(mock_requests(args.mock))
    chat_id, message = owui.chat(REASONING_MODEL, "Why is the sky blue?")
    sent = mock_requests(args.mock)[before:]
    check(sent, "the chat reached OpenRouter (the mock)")
    body = sent[-1]["body"]
    check(body.get("reasoning", {}).get("effort") == "high"
          and body["reasoning"].get("summary") == "auto",
          "the very next chat reasons with the saved effort and a summary",
          body.get("reasoning"))
    check(body.get("user") == owui.user["id"],
          "the user's Open WebUI id goes upstream as `user`", body.get("user"))
    check(owui.user["email"] not in json.dumps(body) and owui.user["name"] not in json.dumps(body),
          "neither the user's email nor name goes upstream")
    check(any(o.get("type") == "reasoning" for o in message.get("output", [])),
          "Open WebUI shows the reasoning block", message.get("output"))
    status = last_status(message)
    check(status and status.get("done") and "tokens" in status.get("description", ""),
          f"the status line is kept with the message: {status and status.get('description')!r}",
          message.get("statusHistory"))
    descriptions = [s.get("description", "") for s in message.get("statusHistory") or []]
    check(any("Thinking" in d for d in descriptions), "\"Thinking…\" showed while it reasoned",
          descriptions)
    db = sqlite3.connect(f"{args.orpipe_data}/orpipe.db")
    rows = db.execute("SELECT chat_id, item_type FROM orpipe_artifacts").fetchall()
    # orpipe namespaces conversation ids by their source (`owui:` for Open WebUI's).
    check((f"owui:{chat_id}", "reasoning") in rows,
          "the reasoning is stored under Open WebUI's own chat id", rows)

    # Web search from the message box toggle.
    before = len(mock_requests(args.mock))
    _, message = owui.chat(SEARCH_MODEL, "What happened today?", {"web_search": True})
    body = mock_requests(args.mock)[before:][-1]["body"]
    tools = [t.get("type") for t in body.get("tools", [])]
    check("openrouter:web_search" in tools, "the web search toggle reached OpenRouter", tools)
    descriptions = [s.get("description", "") for s in message.get("statusHistory") or []]
    check(any("Searching the web" in d for d in descriptions),
          "\"Searching the web…\" showed", descriptions)
    urls = [s.get("source", {}).get("url") for s in message.get("sources") or []]
    check(urls and all(u and u.startswith("http") for u in urls) and len(urls) == len(set(urls)),
          f"sources are citation chips, each once: {urls}", message.get("sources"))

    tool_loop_checks(owui, args)

    # Switch the status line off: the next answer has none.
    response = owui.update_valves(dict(owui.valves(), status_line=False))
    check(response.status_code == 200, "the admin switches the status line off", response.text)
    _, message = owui.chat(SEARCH_MODEL, "Hello")
    check(not any("tokens" in (s.get("description") or "")
                  for s in message.get("statusHistory") or []),
          "no status line after switching it off", message.get("statusHistory"))

    image_and_card_checks(owui, args)

    # A plain client (no Open WebUI) straight to orpipe: no event chunks.
    stream = requests.post(
        f"{args.orpipe}/v1/chat/completions",
        headers={"Authorization": f"Bearer {args.client_key}"},
        json={"model": SEARCH_MODEL, "stream": True,
              "messages": [{"role": "user", "content": "hi"}]},
        timeout=60,
    )
    check(stream.status_code == 200 and "[DONE]" in stream.text and '"event"' not in stream.text,
          "a plain client gets no event chunks", stream.text[:2000])


def tool_replay_checks(owui, args):
    """After the restart, the next turn of the tool chat (its history read by Open WebUI
    from its own database) brings the stored call and output back to the model."""
    chats = owui.get("/api/v1/chats/").json()
    chat_id = next((c["id"] for c in chats if c.get("title") == TOOL_CHAT_TITLE), None)
    check(chat_id, "the tool chat is listed in Open WebUI", chats)
    messages = owui.get(f"/api/v1/chats/{chat_id}").json()["chat"]["history"]["messages"]
    answer = next((m for m in messages.values() if m.get("role") == "assistant"), None)
    check(answer and visible_text(answer.get("content")) == "Tool results: 5",
          "its answer is stored", answer)
    earlier = [{"role": "user", "content": TOOL_PROMPT},
               {"role": "assistant", "content": answer["content"]}]
    before = len(mock_requests(args.mock))
    owui.chat(SEARCH_MODEL, "Thanks.", follow=(chat_id, answer["id"], earlier))
    sent = mock_requests(args.mock)[before:]
    check(sent, "the follow-up reached OpenRouter (the mock)")
    items = [i for i in sent[-1]["body"].get("input", []) if isinstance(i, dict)]
    kinds = [(i.get("type"), i.get("role")) for i in items]
    calls = [i.get("name") for i in items if i.get("type") == "function_call"]
    outputs = [part_text(i.get("output")) for i in items
               if i.get("type") == "function_call_output"]
    check(calls == ["calc__add"] and outputs == ["5"],
          "after orpipe restarted, the model sees the tool's call and output again", kinds)
    output_at = next(n for n, i in enumerate(items) if i.get("type") == "function_call_output")
    reply_at = next((n for n, i in enumerate(items) if i.get("role") == "assistant"), -1)
    check(output_at < reply_at, "in their place: before the answer written from them", kinds)
    texts = json.dumps([i.get("content") for i in items if i.get("type") == "message"])
    check("]: #" not in texts, "no marker line reaches the model", texts)


def restart_phase(owui, args):
    valves = owui.valves()
    check(valves.get("reasoning_effort") == "high" and valves.get("status_line") is False,
          "after orpipe restarted, the saved settings are still in force", valves)
    before = len(mock_requests(args.mock))
    _, message = owui.chat(REASONING_MODEL, "Again?")
    body = mock_requests(args.mock)[before:][-1]["body"]
    check(body.get("reasoning", {}).get("effort") == "high",
          "and the next chat uses them", body.get("reasoning"))
    tool_replay_checks(owui, args)
    # Leave the deployment as the next run expects it.
    defaults = {k: None for k in valves}
    response = owui.update_valves(defaults)
    check(response.status_code == 200 and owui.valves().get("reasoning_effort") == "medium",
          "null resets every setting to its default", response.text)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", choices=["first", "restart"], required=True)
    parser.add_argument("--owui", required=True)
    parser.add_argument("--orpipe", required=True)
    parser.add_argument("--orpipe-data", required=True)
    parser.add_argument("--mock", required=True)
    parser.add_argument("--client-key", required=True)
    parser.add_argument("--admin-key", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()
    owui = OpenWebUI(args.owui, args.email, args.password)
    {"first": first_phase, "restart": restart_phase}[args.phase](owui, args)
    print(f"{args.phase}: {check.passed} checks passed")


if __name__ == "__main__":
    main()
