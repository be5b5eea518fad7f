// A frontend's first steps, checked against the API by `npm run typecheck`: sign
// up and list the account's sessions; then an API token for a program.
import { createClient } from "./client";

/** Where `cargo run` serves the API. */
const baseUrl = "http://localhost:3000";

/** Signs up (the browser keeps the session cookie) and lists the account's sessions. */
export async function signUpAndListSessions(
  email: string,
  password: string,
  name: string,
): Promise<string[]> {
  const api = createClient({ baseUrl });
  const signup = await api.POST("/auth/signup", {
    body: { email, password, name },
  });
  if (signup.error) throw new Error(signup.error.error.message);

  // A resource added with `saas add resource` is listed the same way, under
  // "/<plural>", a page at a time: `data.items`, `data.next_cursor`.
  const sessions = await api.GET("/auth/sessions");
  if (sessions.error) throw new Error(sessions.error.error.message);
  return sessions.data.map((session) => session.user_agent ?? "unknown");
}

/** Creates a read-only API token with the session, and a client signed with it. */
export async function readOnlyTokenClient(tokenName: string) {
  const api = createClient({ baseUrl });
  const created = await api.POST("/auth/tokens", {
    body: { name: tokenName, read_only: true },
  });
  if (created.error) throw new Error(created.error.error.message);
  return createClient({ baseUrl, token: created.data.token });
}
