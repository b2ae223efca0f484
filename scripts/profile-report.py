#!/usr/bin/env python3
"""Groups the samples of `perf script -F comm,tid,ip,sym,dso` (scripts/profile.sh) into the
categories of "Where the time goes" in docs/benchmarks.md and lists the top functions.

usage: profile-report.py MODE.perf.txt [US_PER_REQUEST]

Each sample's stack is walked from the leaf up; the first frame that matches a rule below
names its category (so `malloc` under `serde_json` in the guest counts as guest JSON, and
sqlite under `caps::sql` as SQL). Unmatched stacks count as "other".
"""
import re
import sys
from collections import Counter, defaultdict

# (category, pattern) in priority order: a sample goes to the first category that matches
# any of its user-space frames, written "symbol (dso)"; guest (wasm) frames carry the dso
# /tmp/perf-PID.map. Kernel frames only count towards the user-space code that entered the
# kernel (a socket write under hyper is HTTP, an fsync under sqlite is SQL).
GUEST = r"\(/tmp/perf-\d+\.map\)"
RULES = [
    # The guest task runs inside a span (`Instrumented`), which is not logging.
    ("logging (tracing, guest log lines)", r"tracing_subscriber|tracing_core::|tracing::(?!instrument::Instrumented)|caps::logging|GuestStderr"),
    ("sandbox (call hook CPU meter, epoch thread and checks)", r"call_hook|new_epoch|CpuMeter|orpipe::sandbox|^comm:orpipe-epoch"),
    ("SQL (caps::sql, rusqlite, sqlite)", r"rusqlite|sqlite3|caps::sql"),
    ("key-value (caps::keyvalue)", r"caps::keyvalue"),
    ("wasi:config get-all (caps::config)", r"caps::config"),
    ("admission", r"orpipe::admission"),
    ("outgoing request (wasi-http client, hyper client, caps::outbound)",
     r"caps::outbound|hyper::client|hyper_util::client|http_impl|default_send_request|OutboundHooks|ssrf"),
    ("store & instance creation (Store::new, instantiate, guest ctors)",
     r"Store<.*>::new\b|InstancePre|instantiate|new_store|run_ctors_once|module_start|__wasm_call_ctors|PoolingInstanceAllocator|allocate_module|deallocate_module|decommit|reset_with_anon_memory|madvise|mprotect|munmap"),
    ("guest JSON (serde_json in wasm)", r"(serde_json|serde::|serde_core).*" + GUEST),
    ("guest other code (translation, SSE, allocator)", r"^(?!component-trampolines|wasmtime_builtin|resource_drop_trampoline).*" + GUEST),
    ("wasm<->host glue (trampolines, canonical ABI lift/lower, resources)",
     r"component-trampolines|wasmtime_builtin|resource_drop_trampoline|wasmtime|wasmtime_wasi|CpuMeter|sandbox::|bindings::"),
    ("HTTP server: accept, parse, write (hyper server, orpipe::server)", r"hyper|orpipe::server|orpipe::auth|guest_body|tokio::net|mio::"),
    ("tokio scheduler, thread wake-ups, blocking pool", r"tokio|std::thread|parking_lot|futex"),
]
COMPILED = [(name, re.compile(pattern)) for name, pattern in RULES]
FRAME = re.compile(r"^\s*(?:[0-9a-f]+\s+)?(.*?)\s+\((.*)\)\s*$")


def samples(path):
    """Yields (frames outside the kernel, leaf first; whether the leaf was in the kernel)."""
    stack, kernel = [], False
    with open(path, errors="replace") as text:
        for line in text:
            if not line.strip():
                if stack or kernel:
                    yield stack, kernel
                stack, kernel = [], False
            elif line[0].isspace():
                match = FRAME.match(line)
                if match and match.group(2) == "[kernel.kallsyms]":
                    kernel = kernel or f"[kernel] {match.group(1)}"
                    continue
                frame = f"{match.group(1)} ({match.group(2)})" if match else line.strip()
                stack.insert(len(stack) - 1, frame)  # the comm pseudo-frame stays last
            else:  # a header line (comm tid) starts the next sample
                stack.append("comm:" + line.split()[0])

    if stack or kernel:
        yield stack, kernel


def category(stack):
    for name, pattern in COMPILED:
        if any(pattern.search(frame) for frame in stack):
            return name
    return "other"


def short(symbol):
    symbol = re.sub(r"::h[0-9a-f]{16}( \()", r"\1", symbol)
    return symbol if len(symbol) < 110 else symbol[:107] + "..."


def main():
    path = sys.argv[1]
    per_request = float(sys.argv[2]) if len(sys.argv) > 2 else None
    by_category, by_leaf, total, in_kernel = Counter(), Counter(), 0, 0
    inside = defaultdict(Counter)
    for stack, kernel in samples(path):
        total += 1
        in_kernel += bool(kernel)
        name = category(stack)
        by_category[name] += 1
        leaf = kernel if kernel else short(stack[0]) if stack else "?"
        by_leaf[leaf] += 1
        inside[name][leaf] += 1
    print(f"{total} samples, {in_kernel / max(total, 1):.1%} of them in the kernel")
    print("| category | share of orpipe CPU | µs per request |")
    print("|---|---|---|")
    for name, count in by_category.most_common():
        share = count / total
        us = f"{share * per_request:.0f}" if per_request else ""
        print(f"| {name} | {share:.1%} | {us} |")
    print()
    print("| # | function (self time) | share |")
    print("|---|---|---|")
    for rank, (name, count) in enumerate(by_leaf.most_common(int(sys.argv[3]) if len(sys.argv) > 3 else 15), 1):
        print(f"| {rank} | `{name}` | {count / total:.1%} |")
    print()
    for name, count in by_category.most_common():
        top = ", ".join(f"{leaf} {n / count:.0%}" for leaf, n in inside[name].most_common(4))
        print(f"- {name}: {top}")


main()
