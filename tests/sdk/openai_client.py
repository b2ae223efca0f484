"""Drives orpipe with the official `openai` Python SDK, as a real client would.

Usage: python openai_client.py BASE_URL API_KEY
Streams one completion and fetches one whole completion; prints one JSON object with what
the SDK parsed. Any parse error raises, failing the calling test.
"""

import json
import sys

from openai import OpenAI


def main() -> None:
    base_url, api_key = sys.argv[1], sys.argv[2]
    client = OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=60)
    messages = [{"role": "user", "content": "Was 1995 thirty years ago?"}]

    content, reasoning, usage, finish = [], [], None, None
    stream = client.chat.completions.create(
        model="anthropic/claude-sonnet-4.5", messages=messages, stream=True
    )
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage.model_dump()
        for choice in chunk.choices:
            delta = choice.delta
            if delta.content:
                content.append(delta.content)
            # Not in the SDK's typed model: read from the extra fields it keeps.
            extra = getattr(delta, "model_extra", None) or {}
            if extra.get("reasoning_content"):
                reasoning.append(extra["reasoning_content"])
            if choice.finish_reason:
                finish = choice.finish_reason

    models = [m.id for m in client.models.list()]
    whole = client.chat.completions.create(model="openai/gpt-4o-mini", messages=messages)
    print(
        json.dumps(
            {
                "stream": {
                    "content": "".join(content),
                    "reasoning": "".join(reasoning),
                    "finish_reason": finish,
                    "usage": usage,
                },
                "models": models,
                "completion": {
                    "content": whole.choices[0].message.content,
                    "finish_reason": whole.choices[0].finish_reason,
                    "usage": whole.usage.model_dump() if whole.usage else None,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
