import { and, eq, isNull } from "drizzle-orm";
import type { AppContext } from "../../context.js";
import type { DbOrTx } from "../../db/client.js";
import { loginAttempts } from "../../db/schema/index.js";
import { type SecurityEvent, toLocale } from "../mail/templates.js";
import { deviceFamily, sameFamily, validIp } from "./device.js";
import { remainingRecoveryCodes } from "./recovery-codes.js";

export type { SecurityEvent };

/** Earlier sign-ins from the same address looked at to decide whether a device is new. */
const KNOWN_DEVICES_SCANNED = 100;

interface Recipient {
  id: string;
  email: string;
  firstName: string;
  language: string;
}

/**
 * Emails the account's owner about a change to its security, through the outbox in the caller's
 * transaction (the alert exists exactly when the change does). The `security_alert` notification
 * cannot be turned off, so no preference is consulted. The client's user agent is reduced to a
 * browser and system name from a fixed list: the raw string never reaches the message.
 */
export async function sendSecurityAlert(
  ctx: Pick<AppContext, "outbox" | "config">,
  tx: DbOrTx,
  user: Recipient,
  event: SecurityEvent,
  client: { ip: string | null; userAgent: string | null } | null,
): Promise<void> {
  const device = client ? deviceFamily(client.userAgent) : null;
  await ctx.outbox.enqueue(tx, {
    to: user.email,
    template: "securityAlert",
    locale: toLocale(user.language),
    data: {
      firstName: user.firstName,
      event,
      at: new Date().toISOString(),
      browser: device?.browser ?? null,
      os: device?.os ?? null,
      ip: validIp(client?.ip),
      recoveryCodesLeft: event === "recovery_code_used" ? await remainingRecoveryCodes(tx, user.id) : null,
      url: `${ctx.config.appUrl}/profile?tab=security`,
    },
  });
}

/**
 * A sign-in is from a new device when none of the user's earlier successful sign-ins (sign-up
 * included) came from the same IP address with the same browser and system. Call it before
 * recording the sign-in being judged.
 */
export async function isNewDevice(
  tx: DbOrTx,
  userId: string,
  client: { ip: string | null; userAgent: string | null },
): Promise<boolean> {
  const rows = await tx
    .selectDistinct({ userAgent: loginAttempts.userAgent })
    .from(loginAttempts)
    .where(
      and(
        eq(loginAttempts.userId, userId),
        eq(loginAttempts.success, true),
        client.ip ? eq(loginAttempts.ip, client.ip) : isNull(loginAttempts.ip),
      ),
    )
    .limit(KNOWN_DEVICES_SCANNED);
  const family = deviceFamily(client.userAgent);
  return !rows.some((r) => sameFamily(deviceFamily(r.userAgent), family));
}

/** After a successful sign-in's checks, before it is recorded: alerts when the device is new. */
export async function alertIfNewDevice(
  ctx: Pick<AppContext, "outbox" | "config">,
  tx: DbOrTx,
  user: Recipient,
  client: { ip: string | null; userAgent: string | null },
): Promise<void> {
  if (await isNewDevice(tx, user.id, client)) await sendSecurityAlert(ctx, tx, user, "new_sign_in", client);
}
