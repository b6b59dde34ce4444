#!/usr/bin/python3
"""Calls a deployed Stupid Modal function from Python, with only the proto and a CBOR library.

Needs Debian's system Python with its gRPC and CBOR packages:

    apt-get install python3-grpcio python3-cbor2

Run it against a server (`deno task server`) where the demo app is deployed (`await app.deploy()`):

    STUPID_MODAL_TOKEN=<token> /usr/bin/python3 examples/python_client.py demo inference 3 5
    21.5

Arguments: app name, function name, then each argument as JSON (default: demo inference 3 5).
STUPID_MODAL_SERVER is host:port (default 127.0.0.1:50051); STUPID_MODAL_TOKEN is the bearer token.
The result is printed as JSON; a failure goes to stderr and the exit code is 1 (2 for bad usage).
"""

import json
import os
import sys

import cbor2
import grpc

# The protobuf messages are encoded by hand (with grpc's generic unary_unary), not generated from the
# proto at run time: Debian 12's python3-grpc-tools 1.14 does generate working client code here, but it would
# be a third package, it writes files at every run, and its 2018 protoc emits code that protobuf
# runtimes from 4.x on refuse ("Descriptors cannot be created directly"). Invoke reads and writes a
# dozen fields of four messages; their numbers, copied from protos/stupid_modal.proto next to each use,
# never change (the proto's compatibility rule), so this needs only grpcio and cbor2.


def varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def length_delimited(field, data):
    """A string, bytes or message field: tag (field number, wire type 2), length, data."""
    return varint(field << 3 | 2) + varint(len(data)) + data


def parse(data):
    """A message's fields as {field number: last value}; varints as int, length-delimited as bytes."""
    fields, i = {}, 0
    while i < len(data):
        tag, i = read_varint(data, i)
        field, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            fields[field], i = read_varint(data, i)
        elif wire_type == 2:
            size, i = read_varint(data, i)
            fields[field], i = data[i:i + size], i + size
        elif wire_type in (1, 5):  # fixed 64 / 32 bits: none in the messages read here, skipped
            i += 8 if wire_type == 1 else 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
    return fields


def read_varint(data, i):
    n = shift = 0
    while True:
        byte = data[i]
        n |= (byte & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if byte < 0x80:
            return n, i


def invoke_request(app_name, function, args):
    # message InvokeRequest { string app_name = 2; string function = 3; bytes args = 4; }
    return (length_delimited(2, app_name.encode()) + length_delimited(3, function.encode())
            + length_delimited(4, cbor2.dumps(args)))  # args: one CBOR array of the arguments


def text(fields, field):
    return fields.get(field, b"").decode()


def js_number(digits):
    """JSON integers as JavaScript reads them: beyond 32 bits cbor2 would send a 64-bit integer, a BigInt there."""
    n = int(digits)
    return n if -2**32 <= n < 2**32 else float(n)


def js_like(value):
    """A decoded result for printing: cbor-x sends whole numbers beyond 32 bits as floats; print them as JS does."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    if isinstance(value, list):
        return [js_like(item) for item in value]
    if isinstance(value, dict):
        return {key: js_like(item) for key, item in value.items()}
    return value


def main():
    argv = sys.argv[1:] or ["demo", "inference", "3", "5"]
    if len(argv) < 2:
        print("usage: python_client.py [APP FUNCTION [JSON_ARG ...]]  (default: demo inference 3 5)", file=sys.stderr)
        return 2
    app_name, function, *raw_args = argv
    try:
        args = [json.loads(arg, parse_int=js_number) for arg in raw_args]
    except json.JSONDecodeError as err:
        print(f"each argument must be JSON (quote strings: '\"text\"'): {err}", file=sys.stderr)
        return 2
    server = os.environ.get("STUPID_MODAL_SERVER") or "127.0.0.1:50051"
    token = os.environ.get("STUPID_MODAL_TOKEN", "")
    metadata = [("authorization", f"Bearer {token}")] if token else []

    with grpc.insecure_channel(server) as channel:
        invoke = channel.unary_unary("/stupidmodal.v1.StupidModal/Invoke",
                                     request_serializer=lambda request: request,
                                     response_deserializer=parse)
        try:
            response = invoke(invoke_request(app_name, function, args), metadata=metadata)
        except grpc.RpcError as err:
            print(describe(err, server), file=sys.stderr)
            return 1

    # message InvokeResponse { oneof outcome { bytes value = 1; Failure failure = 2; } }
    if 1 in response:
        print(json.dumps(js_like(cbor2.loads(response[1])), default=repr))
        return 0
    if 2 not in response:
        print("the server answered with neither a value nor a failure", file=sys.stderr)
        return 1
    # message Failure { uint32 code = 1; string message = 2; RemoteErrorInfo remote = 3; }
    failure = parse(response[2])
    if 3 in failure:
        # message RemoteErrorInfo { string name = 1; string message = 2; string stack = 3; bytes cause = 4; }
        remote = parse(failure[3])
        headline = f"{text(remote, 1)}: {text(remote, 2)}"
        print(f"{app_name}.{function} raised {headline}", file=sys.stderr)
        stack = text(remote, 3).removeprefix(headline).strip("\n")  # its first line repeats the headline
        if stack:
            print(stack, file=sys.stderr)
        if remote.get(4):
            cause = cbor2.loads(remote[4])
            if isinstance(cause, dict) and "message" in cause:
                cause = f"{cause.get('name', 'Error')}: {cause['message']}"
            print(f"caused by {cause}", file=sys.stderr)
    else:
        print(f"{app_name}.{function} failed [{failure.get(1, 0)}]: {text(failure, 2)}", file=sys.stderr)
    return 1


def describe(err, server):
    """A clear line for a gRPC status: the usual cause, then the server's own message."""
    code, details = err.code(), err.details()
    if code == grpc.StatusCode.UNAVAILABLE:
        return f"unavailable: cannot reach a Stupid Modal server at {server} (is it running?): {details}"
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return f"unauthenticated: set STUPID_MODAL_TOKEN to the server's token: {details}"
    if code == grpc.StatusCode.NOT_FOUND:
        return f"not found: {details}"
    return f"{code.name.lower()}: {details}"


if __name__ == "__main__":
    sys.exit(main())
