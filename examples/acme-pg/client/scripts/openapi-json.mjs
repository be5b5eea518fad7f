// Prints the API on record: the OpenAPI document in tests/api/snapshots/openapi.snap
// (which the app's tests compare with what it serves, and `saas add resource` and
// `saas remove resource` update) without the header insta writes above it.
// `npm run generate` reads it from here, so the snapshot stays the one copy.
import { readFileSync } from "node:fs";

const path = new URL("../../tests/api/snapshots/openapi.snap", import.meta.url);
const snapshot = readFileSync(path, "utf8");
// The header is YAML between two `---` lines; the document follows it.
const header = /^---\n[\s\S]*?\n---\n/.exec(snapshot);
if (header === null) {
  throw new Error(`${path.pathname}: no insta header between \`---\` lines`);
}
process.stdout.write(snapshot.slice(header[0].length));
