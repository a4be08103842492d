#!/usr/bin/env python3
"""Follow wasessd's events from another language: connect to the socket, subscribe, print.

Standard library only. Usage:
    python3 examples/watch_events.py SOCKET [--user USER] [--since ID] [--count N]

Prints one JSON object per event (the `params` of each `event` notification). With --count,
exits after N events; otherwise runs until the daemon stops or Ctrl-C.
"""

import argparse
import json
import socket
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("socket")
    parser.add_argument("--user")
    parser.add_argument("--since", type=int)
    parser.add_argument("--count", type=int)
    args = parser.parse_args()

    params = {}
    if args.user:
        params["user"] = args.user
    if args.since is not None:
        params["since"] = args.since

    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(args.socket)
    except OSError as error:
        print(f"cannot reach wasessd at {args.socket}: {error}", file=sys.stderr)
        return 5
    request = {"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": params}
    conn.sendall((json.dumps(request) + "\n").encode())

    seen = 0
    with conn, conn.makefile("r", encoding="utf-8") as lines:
        for line in lines:
            message = json.loads(line)
            if message.get("method") == "event":
                print(json.dumps(message["params"]), flush=True)
                seen += 1
                if args.count is not None and seen >= args.count:
                    return 0
            elif "error" in message:
                print(message["error"]["message"], file=sys.stderr)
                return message["error"]["data"]["exit_code"]
            elif "result" in message:
                return 0
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
