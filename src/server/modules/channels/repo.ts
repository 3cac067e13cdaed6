import { randomBytes } from "node:crypto";
import { and, eq } from "drizzle-orm";
import type { Config } from "../../config.js";
import type { DbOrTx } from "../../db/client.js";
import { waChannels } from "../../db/schema/index.js";
import type { GraphTarget } from "../whatsapp/graph-client.js";
import { secretBoxOf } from "./secret-box.js";

export type ChannelRow = typeof waChannels.$inferSelect;

/** Purposes bound into each ciphertext (AES-GCM additional data). */
export const SECRET_PURPOSE = {
  accessToken: "wa_channels.access_token",
  appSecret: "wa_channels.app_secret",
  verifyToken: "wa_channels.verify_token",
} as const;

/** 128 bits, hex: the webhook URL's last segment. */
export const newWebhookKey = () => randomBytes(16).toString("hex");
export const newVerifyToken = () => randomBytes(24).toString("base64url");

export async function getChannel(db: DbOrTx, orgId: string, channelId: string): Promise<ChannelRow | undefined> {
  const [row] = await db
    .select()
    .from(waChannels)
    .where(and(eq(waChannels.orgId, orgId), eq(waChannels.id, channelId)));
  return row;
}

export function webhookUrlOf(config: Config, row: Pick<ChannelRow, "webhookKey">): string {
  return `${config.appUrl}/api/v1/webhooks/whatsapp/${row.webhookKey}`;
}

/** The Graph API base a channel talks to: Meta's, or the simulator's. */
export function graphBaseOf(config: Config, row: Pick<ChannelRow, "mode">): string {
  return row.mode === "simulator" ? config.waSimulatorUrl : config.waGraphUrl;
}

export function graphTargetOf(config: Config, row: ChannelRow): GraphTarget {
  return {
    baseUrl: graphBaseOf(config, row),
    phoneNumberId: row.phoneNumberId,
    accessToken: secretBoxOf(config).decrypt(row.accessTokenEnc, SECRET_PURPOSE.accessToken),
  };
}

export function appSecretOf(config: Config, row: Pick<ChannelRow, "appSecretEnc">): string {
  return secretBoxOf(config).decrypt(row.appSecretEnc, SECRET_PURPOSE.appSecret);
}

export function verifyTokenOf(config: Config, row: Pick<ChannelRow, "verifyTokenEnc">): string {
  return secretBoxOf(config).decrypt(row.verifyTokenEnc, SECRET_PURPOSE.verifyToken);
}
