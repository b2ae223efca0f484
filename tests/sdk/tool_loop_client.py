"""Drives orpipe's tool loop with the official `openai` Python SDK, as a real client would.

Usage: python tool_loop_client.py BASE_URL API_KEY MODEL PROMPT
Streams one completion and fetches one whole completion of PROMPT; prints one JSON object
with what the SDK parsed (text, finish reason, usage, tool calls). Any parse error raises,
failing the calling test.
"""

import json
import sys

from openai import OpenAI


def main() -> None:
    base_url, api_key, model, prompt = sys.argv[1:5]
    client = OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=120)
    messages = [{"role": "user", "content": prompt}]

    content, tool_calls, usage, finish = [], [], None, None
    stream = client.chat.completions.create(
        model=model,
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage.model_dump()
        for choice in chunk.choices:
            if choice.delta.content:
                content.append(choice.delta.content)
            for call in choice.delta.tool_calls or []:
                tool_calls.append(call.model_dump())
            if choice.finish_reason:
                finish = choice.finish_reason

    whole = client.chat.completions.create(model=model, messages=messages)
    message = whole.choices[0].message
    print(
        json.dumps(
            {
                "stream": {
                    "content": "".join(content),
                    "finish_reason": finish,
                    "usage": usage,
                    "tool_calls": tool_calls,
                },
                "completion": {
                    "content": message.content,
                    "finish_reason": whole.choices[0].finish_reason,
                    "usage": whole.usage.model_dump() if whole.usage else None,
                    "tool_calls": [c.model_dump() for c in message.tool_calls or []],
                },
            }
        )
    )


if __name__ == "__main__":
    main()
