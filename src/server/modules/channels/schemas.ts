import { z } from "zod";
import { singleLineSchema, uuidSchema } from "../../../shared/schemas/common.js";

export const orgParams = z.object({ orgId: uuidSchema });
export const channelParams = z.object({ orgId: uuidSchema, channelId: uuidSchema });

/** Meta's ids are digits (phone number id, WhatsApp Business Account id). */
const metaId = z
  .string()
  .trim()
  .max(32)
  .regex(/^\d{1,32}$/, "Expected Meta's numeric id.");
const displayPhone = z
  .string()
  .trim()
  .min(3)
  .max(32)
  .regex(/^\+?[\d\s().-]{3,32}$/, "Expected a phone number.");
const secret = z
  .string()
  .trim()
  .min(8, "Too short.")
  .max(2048)
  .regex(/^[\x21-\x7e]+$/, "Expected printable characters without spaces.");

export const createChannelBody = z
  .object({
    name: singleLineSchema(80),
    mode: z.enum(["cloud", "simulator"]).meta({
      description:
        "`cloud`: Meta's Cloud API (WA_GRAPH_URL). `simulator`: the fake Graph API built into Chorus (refused in production).",
    }),
    phoneNumberId: metaId.optional().meta({ description: "Required for `cloud`; generated for `simulator`." }),
    wabaId: metaId.optional().meta({ description: "Required for `cloud`; generated for `simulator`." }),
    displayPhoneNumber: displayPhone,
    accessToken: secret
      .optional()
      .meta({ description: "Required for `cloud`; generated for `simulator`. Never returned." }),
    appSecret: secret
      .optional()
      .meta({ description: "Required for `cloud`; generated for `simulator`. Never returned." }),
    mpsLimit: z.number().int().min(1).max(1000).optional().meta({ description: "Messages per second (default 80)." }),
  })
  .meta({ id: "CreateChannelInput" });
export type CreateChannelInput = z.output<typeof createChannelBody>;

export const updateChannelBody = z
  .object({
    name: singleLineSchema(80).optional(),
    phoneNumberId: metaId.optional(),
    wabaId: metaId.optional(),
    displayPhoneNumber: displayPhone.optional(),
    accessToken: secret.optional(),
    appSecret: secret.optional(),
    mpsLimit: z.number().int().min(1).max(1000).optional(),
    regenerateVerifyToken: z.boolean().optional(),
  })
  .meta({ id: "UpdateChannelInput" });
export type UpdateChannelInput = z.output<typeof updateChannelBody>;

export const channelSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    mode: z.enum(["cloud", "simulator"]),
    phoneNumberId: z.string(),
    wabaId: z.string(),
    displayPhoneNumber: z.string(),
    webhookUrl: z.string().meta({ description: "Paste into Meta's App Dashboard → WhatsApp → Configuration." }),
    verifyToken: z.string().meta({ description: "Paste next to the webhook URL in Meta's console." }),
    mpsLimit: z.number().int(),
    verifiedName: z.string().nullable(),
    qualityRating: z.string().nullable(),
    lastTestedAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "Channel" });
export type ChannelDto = z.infer<typeof channelSchema>;

export const channelListSchema = z.object({ items: z.array(channelSchema), nextCursor: z.string().nullable() });

/** What any member may know of a number: enough to pick it or filter by it, no Meta ids or webhook details. */
export const channelOptionSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    displayPhoneNumber: z.string(),
    mode: z.enum(["cloud", "simulator"]),
  })
  .meta({ id: "ChannelOption" });
export const channelOptionListSchema = z.object({
  items: z.array(channelOptionSchema),
  nextCursor: z.string().nullable(),
});

export const channelTestSchema = z
  .object({
    ok: z.boolean(),
    verifiedName: z.string().nullable(),
    qualityRating: z.string().nullable(),
    displayPhoneNumber: z.string().nullable(),
    error: z
      .object({ code: z.number().int(), title: z.string(), details: z.string().nullable() })
      .nullable()
      .meta({ description: "Meta's error when the Graph API refused (e.g. 190 for an expired token)." }),
  })
  .meta({ id: "ChannelTest" });
