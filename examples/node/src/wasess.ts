/**
 * A typed client for wasessd's socket protocol (docs/protocol.md), with no dependencies:
 * JSON-RPC 2.0, one JSON object per line, over the daemon's Unix socket.
 *
 *   const client = await WasessClient.connect();          // $WASESS_SOCKET, or the default
 *   const verdict = await client.check("alice@example.com");
 *   for await (const event of client.subscribe({ kinds: ["state"] })) { … }
 */
import { existsSync } from "node:fs";
import { connect as connectSocket, type Socket } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";

export type Status =
  | "DISCONNECTED"
  | "PENDING_QR"
  | "CONNECTED"
  | "CONFLICT"
  | "LOGGED_OUT"
  | "PAUSED";

export type ReasonCode =
  | "allowed"
  | "unknown_user"
  | "already_connected"
  | "qr_pending"
  | "number_taken"
  | "connect_in_progress";

/** A user's registry row. Times are RFC 3339 strings. */
export interface Connection {
  user: string;
  status: Status;
  phone_number: string | null;
  qr_issued_at: string | null;
  qr_expires_at: string | null;
  last_connected_at: string | null;
  reconnect_attempts: number;
  node_id: string | null;
  epoch: number;
  reason: string;
  paused_until: string | null;
  updated_at: string;
}

/** The answer of `check`: whether the user may connect now, and which rule refuses. */
export interface Verdict {
  user: string;
  allowed: boolean;
  reason_code: ReasonCode;
  message: string;
  existing: Connection | null;
}

/** A QR code (or pair code) to show; render `code` as a QR image. */
export interface QrNotice {
  user: string;
  code: string;
  pair_code: boolean;
  /** When this code stops working (WhatsApp rotates it). */
  code_expires_at: string;
  /** When the pairing gives up. */
  pairing_expires_at: string;
}

export interface ConnectResult {
  user: string;
  outcome: "paired" | "pending";
  phone_number: string | null;
  displaced: string[];
  qr: QrNotice | null;
}

export type EventKind = "state" | "qr" | "pairing" | "message" | "message_sent" | "user";

export interface WasessEvent {
  id: number;
  at: string;
  kind: EventKind;
  user: string | null;
  from_status: Status | null;
  to_status: Status | null;
  reason: string;
  node_id: string | null;
  data: Record<string, unknown>;
}

export interface Hello {
  version: string;
  protocol: number;
  node_id: string;
  backend: string;
  pid: number;
  [field: string]: unknown;
}

/** An error the daemon answered with: its one-line message and stable exit code. */
export class WasessError extends Error {
  constructor(
    message: string,
    /** 2 usage, 3 refused, 4 not found, 5 unreachable, 6 timed out, 7 WhatsApp. */
    readonly exitCode: number,
    /** The rule that refused, when one did (e.g. `already_connected`). */
    readonly reasonCode: string | null,
  ) {
    super(message);
    this.name = "WasessError";
  }
}

interface RpcMessage {
  jsonrpc: "2.0";
  id?: number;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: { exit_code?: number; reason_code?: string } };
}

type Pending = {
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
  onNotification?: (method: string, params: unknown) => void;
};

/**
 * Where the daemon listens, as `wasess` finds it: $WASESS_SOCKET; for root, the system
 * daemon's socket; else this user's own daemon's, or the system daemon's when this user runs
 * none.
 */
export function defaultSocket(): string {
  if (process.env.WASESS_SOCKET) return process.env.WASESS_SOCKET;
  if (process.getuid?.() === 0) return SYSTEM_SOCKET;
  const dataHome = process.env.XDG_DATA_HOME || join(homedir(), ".local", "share");
  const own = join(dataHome, "wasess", "run", "wasessd.sock");
  return !existsSync(own) && existsSync(SYSTEM_SOCKET) ? SYSTEM_SOCKET : own;
}

const SYSTEM_SOCKET = "/run/wasess/wasessd.sock";

export class WasessClient {
  private nextId = 1;
  private buffer = "";
  private readonly pending = new Map<number, Pending>();
  private closed: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.receive(chunk));
    socket.on("close", () => this.fail(new WasessError("the daemon closed the connection", 5, null)));
    socket.on("error", (error) => this.fail(new WasessError(error.message, 5, null)));
  }

  /** Connects to the daemon; rejects with exit code 5 when it is unreachable. */
  static connect(path: string = defaultSocket()): Promise<WasessClient> {
    return new Promise((resolve, reject) => {
      const socket = connectSocket(path);
      socket.once("connect", () => resolve(new WasessClient(socket)));
      socket.once("error", (error) =>
        reject(new WasessError(`cannot reach wasessd at ${path}: ${error.message}`, 5, null)),
      );
    });
  }

  close(): void {
    this.socket.end();
  }

  /** One call; `onNotification` hears what the daemon sends before the result. */
  call<T>(
    method: string,
    params: object = {},
    onNotification?: (method: string, params: unknown) => void,
  ): Promise<T> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (result: unknown) => void, reject, onNotification });
      this.socket.write(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n");
    });
  }

  hello(): Promise<Hello> {
    return this.call("hello");
  }

  check(user: string): Promise<Verdict> {
    return this.call("check", { user });
  }

  /** Starts a pairing; with `detach`, returns at the first QR code. */
  connectUser(
    user: string,
    options: { detach?: boolean; onQr?: (qr: QrNotice) => void } = {},
  ): Promise<ConnectResult> {
    return this.call("connect", { user, detach: options.detach ?? false }, (method, params) => {
      if (method === "qr") options.onQr?.(params as QrNotice);
    });
  }

  /**
   * Follows events as they are written; resumes after `since`. The iteration ends when
   * the daemon stops; break out of it to stop following.
   */
  async *subscribe(
    filter: { user?: string; since?: number; kinds?: EventKind[] } = {},
  ): AsyncGenerator<WasessEvent> {
    const queue: WasessEvent[] = [];
    let wake: (() => void) | null = null;
    let done = false;
    let failure: Error | null = null;
    this.call("subscribe", filter, (method, params) => {
      if (method === "event") {
        queue.push(params as WasessEvent);
        wake?.();
      }
    }).then(
      () => {
        done = true;
        wake?.();
      },
      (error: Error) => {
        failure = error;
        wake?.();
      },
    );
    try {
      while (true) {
        const event = queue.shift();
        if (event) {
          yield event;
          continue;
        }
        if (failure) throw failure;
        if (done) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
    } finally {
      this.close();
    }
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    let newline: number;
    while ((newline = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      if (line.trim() === "") continue;
      let message: RpcMessage;
      try {
        message = JSON.parse(line) as RpcMessage;
      } catch {
        this.fail(new WasessError(`the daemon sent a line that is not JSON: ${line}`, 1, null));
        this.socket.destroy();
        return;
      }
      this.dispatch(message);
    }
  }

  private dispatch(message: RpcMessage): void {
    if (message.id === undefined || message.id === null) {
      // A notification belongs to the call in progress (one long call per connection).
      for (const pending of this.pending.values()) {
        pending.onNotification?.(message.method ?? "", message.params);
      }
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (message.error) {
      const data = message.error.data ?? {};
      pending.reject(
        new WasessError(message.error.message, data.exit_code ?? 1, data.reason_code ?? null),
      );
    } else {
      pending.resolve(message.result);
    }
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.closed = error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}
