/**
 * Runs the session-check route outside Next.js, as the front end would call it:
 *   node dist/src/demo.js alice@example.com bob@example.com
 * Prints one line per user: the HTTP status and the JSON body. Then reads the first user's
 * first event with the typed client (`subscribe` from the start) and prints its kind and
 * reason; it gives up after 5 s.
 */
import { GET } from "../app/api/whatsapp/session-check/route";
import { WasessClient } from "./wasess";

async function main(): Promise<number> {
  const users = process.argv.slice(2);
  for (const user of users) {
    const request = new Request(
      `http://localhost/api/whatsapp/session-check?user=${encodeURIComponent(user)}`,
    );
    const response = await GET(request);
    console.log(JSON.stringify({ user, status: response.status, body: await response.json() }));
  }
  if (users.length > 0) {
    const client = await WasessClient.connect();
    const timer = setTimeout(() => {
      console.error(`no event for ${users[0]} within 5 s`);
      process.exit(1);
    }, 5000);
    for await (const event of client.subscribe({ user: users[0], since: 0 })) {
      if (event.user !== users[0]) throw new Error(`event of ${event.user} in ${users[0]}'s stream`);
      console.log(JSON.stringify({ user: users[0], first: event.kind, reason: event.reason }));
      break;
    }
    clearTimeout(timer);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
