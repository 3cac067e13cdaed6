/** Delivery steps of an outbound message, in Meta's order; `failed` is off the path. */
const STEPS = ["sent", "delivered", "read"] as const;
type Step = (typeof STEPS)[number];

/**
 * Whether a status webhook proves the message reached `step`: `read` means it was delivered and
 * sent too. Meta's webhooks arrive out of order, so each status stamps every step it implies.
 */
export function reached(status: string, step: Step): boolean {
  const at = STEPS.indexOf(status as Step);
  return at >= 0 && at >= STEPS.indexOf(step);
}
