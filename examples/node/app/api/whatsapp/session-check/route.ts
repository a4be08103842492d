/**
 * GET /api/whatsapp/session-check?user=alice@example.com — the Next.js (App Router) route a
 * front end calls before it shows a QR code, answered by wasessd's `check`: whether the user
 * may link a number now, and if not, which rule refuses and what the user's connection is.
 *
 * 200 {"canConnect": true, …} — show the QR code (start it with `connect`);
 * 200 {"canConnect": false, "reason": "already_connected" | "qr_pending" |
 *      "connect_in_progress" | "number_taken", "message", "status", "phoneNumber"};
 * 400 no user · 404 unknown user · 503 the daemon is down.
 */
import { WasessClient, WasessError } from "../../../../src/wasess";

export const dynamic = "force-dynamic";

export interface SessionCheck {
  user: string;
  canConnect: boolean;
  reason: string;
  message: string;
  status: string | null;
  phoneNumber: string | null;
}

export async function GET(request: Request): Promise<Response> {
  const user = new URL(request.url).searchParams.get("user");
  if (!user) {
    return Response.json({ error: "the user query parameter is required" }, { status: 400 });
  }
  let client: WasessClient | null = null;
  try {
    client = await WasessClient.connect();
    const verdict = await client.check(user);
    const body: SessionCheck = {
      user: verdict.user,
      canConnect: verdict.allowed,
      reason: verdict.reason_code,
      message: verdict.message,
      status: verdict.existing?.status ?? null,
      phoneNumber: verdict.existing?.phone_number ?? null,
    };
    // An unknown user is a verdict too (`unknown_user`): the application never registered it.
    return Response.json(body, { status: verdict.reason_code === "unknown_user" ? 404 : 200 });
  } catch (error) {
    if (error instanceof WasessError) {
      const status = { 2: 400, 4: 404, 5: 503 }[error.exitCode] ?? 500;
      return Response.json({ error: error.message, reason: error.reasonCode }, { status });
    }
    throw error;
  } finally {
    client?.close();
  }
}
