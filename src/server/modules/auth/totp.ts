import { and, eq, isNull, lt, or } from "drizzle-orm";
import { generateSecret, generateURI, verify } from "otplib";
import QRCode from "qrcode";
import type { DbOrTx } from "../../db/client.js";
import { users } from "../../db/schema/index.js";

export const TOTP_ISSUER = "Chorus";
/** One 30-second step either side: authenticator clocks drift, and typing takes time. */
const EPOCH_TOLERANCE_SECONDS = 30;

export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

export async function totpEnrollment(secret: string, email: string) {
  const otpauthUrl = generateURI({ issuer: TOTP_ISSUER, label: email, secret });
  const qrSvg = await QRCode.toString(otpauthUrl, { type: "svg", errorCorrectionLevel: "M", margin: 1 });
  return { secret, otpauthUrl, qrSvg };
}

/** The time step a code belongs to, or null when it is not valid now (or not after `afterStep`). */
export async function matchTotp(secret: string, code: string, afterStep: number | null): Promise<number | null> {
  try {
    const result = await verify({
      secret,
      token: code,
      epochTolerance: EPOCH_TOLERANCE_SECONDS,
      ...(afterStep !== null ? { afterTimeStep: afterStep } : {}),
    });
    return result.valid && "timeStep" in result ? result.timeStep : null;
  } catch {
    // A malformed secret or token is simply not a match.
    return null;
  }
}

/**
 * Accepts a TOTP code once: the step is recorded in users.totp_last_step by a conditional
 * update, so the same code (or an older one) fails afterwards, even for a concurrent request.
 */
export async function spendTotpCode(
  db: DbOrTx,
  user: { id: string; totpSecret: string | null; totpLastStep: number | null },
  code: string,
): Promise<boolean> {
  if (!user.totpSecret) return false;
  const step = await matchTotp(user.totpSecret, code, user.totpLastStep);
  if (step === null) return false;
  const updated = await db
    .update(users)
    .set({ totpLastStep: step })
    .where(and(eq(users.id, user.id), or(isNull(users.totpLastStep), lt(users.totpLastStep, step))))
    .returning({ id: users.id });
  return updated.length > 0;
}
