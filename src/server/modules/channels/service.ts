import { randomInt } from "node:crypto";
import { and, asc, eq } from "drizzle-orm";
import type { AppContext } from "../../context.js";
import { pgCode } from "../../db/pg-errors.js";
import type { ActivityChanges } from "../../db/schema/index.js";
import { waChannels } from "../../db/schema/index.js";
import { AppError, badRequest, conflict, notFound } from "../../http/problem.js";
import type { Actor } from "../../http/request-context.js";
import { asCreated, diff, recordActivity } from "../activity/record.js";
import { GraphError } from "../whatsapp/graph-client.js";
import {
  type ChannelRow,
  getChannel,
  graphTargetOf,
  newVerifyToken,
  newWebhookKey,
  SECRET_PURPOSE,
  verifyTokenOf,
  webhookUrlOf,
} from "./repo.js";
import type { ChannelDto, CreateChannelInput, UpdateChannelInput } from "./schemas.js";
import { secretBoxOf } from "./secret-box.js";

const channelNotFound = () => notFound("channel", "channel_not_found");
const numberTaken = () =>
  conflict("channel_exists", "This phone number id is already connected (here or in another organization).");

export function channelDto(ctx: AppContext, row: ChannelRow): ChannelDto {
  return {
    id: row.id,
    name: row.name,
    mode: row.mode,
    phoneNumberId: row.phoneNumberId,
    wabaId: row.wabaId,
    displayPhoneNumber: row.displayPhoneNumber,
    webhookUrl: webhookUrlOf(ctx.config, row),
    verifyToken: verifyTokenOf(ctx.config, row),
    mpsLimit: row.mpsLimit,
    verifiedName: row.verifiedName,
    qualityRating: row.qualityRating,
    lastTestedAt: row.lastTestedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** What the activity log may say about a channel: never a secret, only that one changed. */
function publicFields(row: Pick<ChannelRow, "name" | "mode" | "phoneNumberId" | "wabaId" | "displayPhoneNumber">) {
  return {
    name: row.name,
    mode: row.mode,
    phoneNumberId: row.phoneNumberId,
    wabaId: row.wabaId,
    displayPhoneNumber: row.displayPhoneNumber,
  };
}

const digits = (n: number) =>
  Array.from({ length: n }, (_, i) => (i === 0 ? randomInt(1, 10) : randomInt(0, 10))).join("");

export async function listChannels(ctx: AppContext, orgId: string): Promise<ChannelDto[]> {
  const rows = await ctx.db
    .select()
    .from(waChannels)
    .where(eq(waChannels.orgId, orgId))
    .orderBy(asc(waChannels.createdAt), asc(waChannels.id));
  return rows.map((r) => channelDto(ctx, r));
}

/** The numbers as any member may see them (template writers, broadcast senders, the inbox's filter). */
export async function listChannelOptions(ctx: AppContext, orgId: string) {
  return ctx.db
    .select({
      id: waChannels.id,
      name: waChannels.name,
      displayPhoneNumber: waChannels.displayPhoneNumber,
      mode: waChannels.mode,
    })
    .from(waChannels)
    .where(eq(waChannels.orgId, orgId))
    .orderBy(asc(waChannels.createdAt), asc(waChannels.id));
}

export async function createChannel(
  ctx: AppContext,
  orgId: string,
  actor: Actor,
  input: CreateChannelInput,
): Promise<ChannelDto> {
  const simulator = input.mode === "simulator";
  if (simulator && ctx.config.nodeEnv === "production") {
    throw badRequest("simulator_not_allowed", "Simulator channels are not available in production.", [
      { path: "mode", message: "Not available in production.", in: "body" },
    ]);
  }
  if (!simulator) {
    const missing = (["phoneNumberId", "wabaId", "accessToken", "appSecret"] as const).filter((k) => !input[k]);
    if (missing.length) {
      throw badRequest(
        "validation_failed",
        "A cloud channel needs Meta's phone number id, WABA id, access token and app secret.",
        missing.map((k) => ({ path: k, message: "Required.", in: "body" as const })),
      );
    }
  }
  const box = secretBoxOf(ctx.config);
  const values = {
    orgId,
    name: input.name,
    mode: input.mode,
    phoneNumberId: input.phoneNumberId ?? digits(15),
    wabaId: input.wabaId ?? digits(15),
    displayPhoneNumber: input.displayPhoneNumber,
    accessTokenEnc: box.encrypt(input.accessToken ?? `SIM${newVerifyToken()}`, SECRET_PURPOSE.accessToken),
    appSecretEnc: box.encrypt(input.appSecret ?? newWebhookKey(), SECRET_PURPOSE.appSecret),
    verifyTokenEnc: box.encrypt(newVerifyToken(), SECRET_PURPOSE.verifyToken),
    webhookKey: newWebhookKey(),
    mpsLimit: input.mpsLimit ?? 80,
  };
  try {
    const row = await ctx.db.transaction(async (tx) => {
      const [row] = await tx.insert(waChannels).values(values).returning();
      await recordActivity(tx, actor, {
        orgId,
        action: "channel.created",
        target: { type: "channel", id: row!.id, label: row!.name },
        changes: asCreated(publicFields(row!)),
      });
      return row!;
    });
    return channelDto(ctx, row);
  } catch (err) {
    if (!(err instanceof AppError) && pgCode(err) === "23505") throw numberTaken();
    throw err;
  }
}

export async function updateChannel(
  ctx: AppContext,
  orgId: string,
  channelId: string,
  actor: Actor,
  input: UpdateChannelInput,
): Promise<ChannelDto> {
  const box = secretBoxOf(ctx.config);
  try {
    const row = await ctx.db.transaction(async (tx) => {
      const [before] = await tx
        .select()
        .from(waChannels)
        .where(and(eq(waChannels.orgId, orgId), eq(waChannels.id, channelId)))
        .for("update");
      if (!before) throw channelNotFound();
      const plain = {
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.phoneNumberId !== undefined ? { phoneNumberId: input.phoneNumberId } : {}),
        ...(input.wabaId !== undefined ? { wabaId: input.wabaId } : {}),
        ...(input.displayPhoneNumber !== undefined ? { displayPhoneNumber: input.displayPhoneNumber } : {}),
        ...(input.mpsLimit !== undefined ? { mpsLimit: input.mpsLimit } : {}),
      };
      const [row] = await tx
        .update(waChannels)
        .set({
          ...plain,
          ...(input.accessToken ? { accessTokenEnc: box.encrypt(input.accessToken, SECRET_PURPOSE.accessToken) } : {}),
          ...(input.appSecret ? { appSecretEnc: box.encrypt(input.appSecret, SECRET_PURPOSE.appSecret) } : {}),
          ...(input.regenerateVerifyToken
            ? { verifyTokenEnc: box.encrypt(newVerifyToken(), SECRET_PURPOSE.verifyToken) }
            : {}),
          updatedAt: new Date(),
        })
        .where(and(eq(waChannels.orgId, orgId), eq(waChannels.id, channelId)))
        .returning();
      const changes: ActivityChanges = { ...(diff({ ...before, mpsLimit: before.mpsLimit }, plain) ?? {}) };
      // Which credentials were replaced, never their values (nor words a log scanner would flag).
      const rotated = [
        input.accessToken ? "access" : null,
        input.appSecret ? "app" : null,
        input.regenerateVerifyToken ? "verification" : null,
      ].filter((x): x is string => x !== null);
      if (rotated.length) changes.credentials = { after: `replaced: ${rotated.join(", ")}` };
      if (Object.keys(changes).length) {
        await recordActivity(tx, actor, {
          orgId,
          action: "channel.updated",
          target: { type: "channel", id: row!.id, label: row!.name },
          changes,
        });
      }
      return row!;
    });
    ctx.log.debug({ channelId }, "channel updated");
    return channelDto(ctx, row);
  } catch (err) {
    if (!(err instanceof AppError) && pgCode(err) === "23505") throw numberTaken();
    throw err;
  }
}

export async function deleteChannel(ctx: AppContext, orgId: string, channelId: string, actor: Actor): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .delete(waChannels)
      .where(and(eq(waChannels.orgId, orgId), eq(waChannels.id, channelId)))
      .returning();
    if (!row) throw channelNotFound();
    await recordActivity(tx, actor, {
      orgId,
      action: "channel.deleted",
      target: { type: "channel", id: row.id, label: row.name },
      changes: null,
    });
  });
}

export async function testChannel(ctx: AppContext, orgId: string, channelId: string, actor: Actor, graph: GraphLike) {
  const row = await getChannel(ctx.db, orgId, channelId);
  if (!row) throw channelNotFound();
  try {
    const profile = await graph.phoneNumber(graphTargetOf(ctx.config, row));
    await ctx.db.transaction(async (tx) => {
      await tx
        .update(waChannels)
        .set({ verifiedName: profile.verifiedName, qualityRating: profile.qualityRating, lastTestedAt: new Date() })
        .where(and(eq(waChannels.orgId, orgId), eq(waChannels.id, channelId)));
      await recordActivity(tx, actor, {
        orgId,
        action: "channel.tested",
        target: { type: "channel", id: row.id, label: row.name },
        changes: {
          ok: { after: true },
          verifiedName: { after: profile.verifiedName },
          qualityRating: { after: profile.qualityRating },
        },
      });
    });
    return { ok: true, ...profile, error: null };
  } catch (err) {
    if (!(err instanceof GraphError)) throw err;
    // The attempt is recorded too (who tested, and Meta's code), never Meta's text.
    await ctx.db.transaction(async (tx) => {
      await tx
        .update(waChannels)
        .set({ lastTestedAt: new Date() })
        .where(and(eq(waChannels.orgId, orgId), eq(waChannels.id, channelId)));
      await recordActivity(tx, actor, {
        orgId,
        action: "channel.tested",
        target: { type: "channel", id: row.id, label: row.name },
        changes: { ok: { after: false }, errorCode: { after: err.code } },
      });
    });
    return {
      ok: false,
      verifiedName: null,
      qualityRating: null,
      displayPhoneNumber: null,
      error: { code: err.code, title: err.title, details: err.details },
    };
  }
}

interface GraphLike {
  phoneNumber(target: ReturnType<typeof graphTargetOf>): Promise<{
    verifiedName: string | null;
    qualityRating: string | null;
    displayPhoneNumber: string | null;
  }>;
}
