import type { AppContext } from "../context.js";

/** Filled in by the organizations work (issue 3): a demo organization with one member per system role. */
export async function seedDemo(ctx: AppContext): Promise<void> {
  ctx.log.warn("SEED_DEMO: demo seeding is not implemented yet");
}
