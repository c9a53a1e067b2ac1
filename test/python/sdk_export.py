"""
What the OpenTelemetry Python SDK sends, with the standard library only: the OTLP/HTTP protobuf
encoding of its exporter (opentelemetry-exporter-otlp-proto-http), posted the way it posts it. The SDK
is not on this machine's package indexes, so the tests drive Spantree with this instead: an agent run
exported as the SDK's BatchSpanProcessor exports it (each step as it ends, the root last), and with
the pending-span recipe of docs/otlp.md (each span once more as it starts, without an end time).

    python3 sdk_export.py <endpoint> <key> <trace id hex> <root span id hex> pending|batch
"""
import json
import struct
import sys
import time
import urllib.request


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number, wire_type, payload):
    return varint((number << 3) | wire_type) + payload


def length_delimited(number, data):
    return field(number, 2, varint(len(data)) + data)


def string(number, text):
    return length_delimited(number, text.encode("utf-8"))


def fixed64(number, value):
    return field(number, 1, struct.pack("<Q", value))


def any_value(value):
    # AnyValue: string 1, bool 2, int 3, double 4 (as the SDK's _encode_value picks them)
    if isinstance(value, bool):
        return field(2, 0, varint(int(value)))
    if isinstance(value, int):
        return field(3, 0, varint(value & 0xFFFFFFFFFFFFFFFF))
    if isinstance(value, float):
        return field(4, 1, struct.pack("<d", value))
    return string(1, str(value))


def key_value(key, value):
    return string(1, key) + length_delimited(2, any_value(value))


def encode_span(span):
    # Span: trace_id 1, span_id 2, parent_span_id 4, name 5, kind 6, start 7, end 8, attributes 9, status 15
    out = length_delimited(1, bytes.fromhex(span["trace_id"])) + length_delimited(2, bytes.fromhex(span["span_id"]))
    if span.get("parent_id"):
        out += length_delimited(4, bytes.fromhex(span["parent_id"]))
    out += string(5, span["name"]) + field(6, 0, varint(span.get("kind", 1)))
    out += fixed64(7, span["start"])
    if span.get("end"):  # the SDK leaves end_time_unix_nano out while a span runs
        out += fixed64(8, span["end"])
    for key, value in span.get("attributes", {}).items():
        out += length_delimited(9, key_value(key, value))
    return out


def export(endpoint, key, spans):
    scope = string(1, "sdk-like") + string(2, "1.0.0")
    scope_spans = length_delimited(1, scope) + b"".join(length_delimited(2, encode_span(span)) for span in spans)
    resource = length_delimited(1, key_value("service.name", "python-agent"))
    resource_spans = length_delimited(1, resource) + length_delimited(2, scope_spans)
    body = length_delimited(1, resource_spans)
    request = urllib.request.Request(
        endpoint,
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {key}"},
    )
    with urllib.request.urlopen(request) as response:
        return response.status, response.headers.get("Spantree-Retention")


def main():
    endpoint, key, trace_id, root_id, mode = sys.argv[1:6]
    now = time.time_ns() - 10_000_000_000
    ms = 1_000_000
    root = {"trace_id": trace_id, "span_id": root_id, "name": "invoke_agent travel", "start": now,
            "attributes": {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "travel"}}
    # The steps' ids: the trace id's two halves (a fresh trace id, fresh ids).
    chat = {"trace_id": trace_id, "span_id": trace_id[:16], "parent_id": root_id, "name": "chat gpt-4o-mini", "kind": 3, "start": now + 100 * ms,
            "attributes": {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
                           "gen_ai.usage.input_tokens": 120, "gen_ai.usage.output_tokens": 30,
                           "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "A weekend in Lisbon?"}]}]),
                           "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "Go to Alfama."}]}])}}
    tool = {"trace_id": trace_id, "span_id": trace_id[16:], "parent_id": root_id, "name": "execute_tool book_hotel", "start": now + 900 * ms,
            "attributes": {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "book_hotel"}}
    steps = []
    if mode == "pending":
        # The recipe: each span once as it starts, without an end time.
        for span in (root, chat, tool):
            steps.append(("pending " + span["name"], [dict(span)]))
    chat["end"], tool["end"], root["end"] = now + 800 * ms, now + 1500 * ms, now + 2000 * ms
    # The BatchSpanProcessor: spans as they end, the root last.
    steps.append(("ended steps", [chat, tool]))
    steps.append(("ended root", [root]))
    for label, spans in steps:
        status, retention = export(endpoint, key, spans)
        print(json.dumps({"sent": label, "status": status, "retention": retention}), flush=True)
        # The test reads the trace between exports: wait for its word (a line on stdin) to go on.
        sys.stdin.readline()


if __name__ == "__main__":
    main()
