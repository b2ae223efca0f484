"""Starts TensorZero's gateway (embedded in its PyPI wheel) for the side-by-side bench.

Usage: python tensorzero_gateway.py MOCK_BASE_URL CONFIG_DIR

Writes CONFIG_DIR/tensorzero.toml with one model, `bench`, whose provider is the mock's
Responses API (`api_type = "responses"`: TensorZero's Chat -> Responses bridge, the
like-for-like peer of orpipe), starts the gateway inside this process (so this PID is
the one whose CPU and memory the bench reads), prints `listening on BASE_URL` where
BASE_URL is its OpenAI-compatible base (`.../openai/v1`), and runs until stdin closes
or SIGTERM arrives.
"""

import os
import signal
import sys
import threading

os.environ.setdefault("TENSORZERO_DISABLE_PSEUDONYMOUS_USAGE_ANALYTICS", "1")
# The mock wants a key (any but its bad one).
os.environ.setdefault("BENCH_UPSTREAM_KEY", "sk-or-v1-bench")

import tensorzero  # noqa: E402  (the environment must be set first)

CONFIG = """
[gateway.observability]
enabled = false

[models.bench]
routing = ["mock"]

[models.bench.providers.mock]
type = "openai"
model_name = "openai/gpt-4o-mini"
api_base = "{api_base}"
api_key_location = "env::BENCH_UPSTREAM_KEY"
api_type = "responses"
"""


def main() -> None:
    mock_base_url, config_dir = sys.argv[1], sys.argv[2]
    config_file = os.path.join(config_dir, "tensorzero.toml")
    with open(config_file, "w", encoding="utf-8") as out:
        out.write(CONFIG.format(api_base=mock_base_url.rstrip("/") + "/"))
    gateway = tensorzero._start_http_gateway(
        config_file=config_file,
        clickhouse_url=None,
        postgres_url=None,
        valkey_url=None,
        async_setup=False,
    )
    print(f"listening on {gateway.base_url}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # The bench holds our stdin open; EOF means it went away without signalling.
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    gateway.close()


if __name__ == "__main__":
    main()
