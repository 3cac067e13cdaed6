import { ensureWebBuilt } from "./e2e/server.js";

// The API suite checks the headers of the served web app too (test/platform/security.test.ts),
// so the built app must exist: built once here, before the workers start, when missing or stale.
export default function setup(): void {
  ensureWebBuilt();
}
