// A typed client for the API: every path, parameter, body and answer is checked
// against src/schema.d.ts, which `npm run generate` writes from the API on record.
import createFetchClient, { type Client } from "openapi-fetch";
import type { paths } from "./schema";

export type { components, paths } from "./schema";

/** Where the API is, and how requests say who sends them. */
export interface ClientOptions {
  /** The API's address, such as `http://localhost:3000`. */
  baseUrl: string;
  /** An API token (`POST /auth/tokens`); without one, the session cookie. */
  token?: string;
}

/** Creates a client that signs requests with `token`, or else the session cookie. */
export function createClient({ baseUrl, token }: ClientOptions): Client<paths> {
  if (token !== undefined) {
    const headers = { Authorization: `Bearer ${token}` };
    return createFetchClient<paths>({ baseUrl, headers });
  }
  // A browser sends cookies to another origin only when asked to, and the API
  // answers that page only if its origin is in CORS_ALLOWED_ORIGINS.
  return createFetchClient<paths>({ baseUrl, credentials: "include" });
}
