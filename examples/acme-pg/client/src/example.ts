// A frontend's first steps, checked against the API by `npm run typecheck`: sign
// up, pick an organization and list its members; then an API token for a program.
import { createClient } from "./client";

/** Where `cargo run` serves the API. */
const baseUrl = "http://localhost:3000";

/** Signs up (the browser keeps the session cookie) and names the new org's members. */
export async function signUpAndListMembers(
  email: string,
  password: string,
  name: string,
): Promise<string[]> {
  const api = createClient({ baseUrl });
  const signup = await api.POST("/auth/signup", {
    body: { email, password, name },
  });
  if (signup.error) throw new Error(signup.error.error.message);

  // Every account starts with an organization of its own; invitations add others.
  const orgs = await api.GET("/orgs");
  if (orgs.error) throw new Error(orgs.error.error.message);
  const org = orgs.data[0];
  if (org === undefined) throw new Error("no organization");

  // A resource added with `saas add resource` is listed the same way, under
  // "/orgs/{org_id}/<plural>", a page at a time: `data.items`, `data.next_cursor`.
  const members = await api.GET("/orgs/{org_id}/members", {
    params: { path: { org_id: org.id } },
  });
  if (members.error) throw new Error(members.error.error.message);
  return members.data.map((member) => `${member.name} (${member.role})`);
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
