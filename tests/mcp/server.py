"""A small MCP server for orpipe's end-to-end tests: the official Python SDK serving
Streamable HTTP (dual-era: the 2025 handshake revisions and the stateless 2026-07-28).

Usage: python server.py PORT [--json]   (--json: answers as JSON instead of SSE streams)
Prints `ready` on stdout once it listens.
"""

import asyncio
import json
import sys
import time

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("orpipe-test")


@server.tool()
def add(a: int, b: int) -> int:
    """Adds two whole numbers."""
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Returns the text it was given."""
    return text


@server.tool()
def fail(reason: str) -> str:
    """Always fails with the given reason."""
    # ToolError: the SDK passes its message to the client (other exceptions are hidden).
    raise ToolError(reason)


@server.tool()
async def sleep(seconds: float) -> str:
    """Waits, then says when it started and ended (this server's monotonic clock)."""
    # Async, so calls that arrive together wait side by side.
    start = time.monotonic()
    await asyncio.sleep(seconds)
    return json.dumps({"start": start, "end": time.monotonic()})


def main() -> None:
    port = int(sys.argv[1])
    json_response = "--json" in sys.argv[2:]
    app = server.streamable_http_app(json_response=json_response)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    print("ready", flush=True)
    uv.run()


if __name__ == "__main__":
    main()
