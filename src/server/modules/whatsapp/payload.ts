import { z } from "zod";

/**
 * Meta's webhook shapes (research §1): the envelope is checked strictly where Chorus relies
 * on a field (ids, phone number id, timestamps), and loosely elsewhere so a new field Meta adds
 * tomorrow never makes a payload "malformed". Each message keeps its raw object.
 */

const unixSeconds = z
  .union([z.string().regex(/^\d{1,12}$/), z.number().int().nonnegative()])
  .transform((v) => new Date(Number(v) * 1000));

export const inboundMessageSchema = z
  .object({
    from: z.string().regex(/^\d{3,20}$/),
    id: z.string().min(1).max(128),
    timestamp: unixSeconds,
    type: z.string().min(1).max(40),
  })
  .passthrough();
export type InboundMessage = z.infer<typeof inboundMessageSchema>;

export const statusSchema = z
  .object({
    id: z.string().min(1).max(128),
    status: z.enum(["sent", "delivered", "read", "failed"]),
    timestamp: unixSeconds,
    recipient_id: z.string().optional(),
    biz_opaque_callback_data: z.string().optional(),
    errors: z
      .array(
        z
          .object({
            code: z.number().int(),
            title: z.string().optional(),
            message: z.string().optional(),
            error_data: z.object({ details: z.string().optional() }).passthrough().optional(),
          })
          .passthrough(),
      )
      .optional(),
  })
  .passthrough();
export type StatusUpdate = z.infer<typeof statusSchema>;

const contactSchema = z
  .object({ wa_id: z.string().regex(/^\d{3,20}$/), profile: z.object({ name: z.string().optional() }).optional() })
  .passthrough();

export const messagesValueSchema = z
  .object({
    messaging_product: z.literal("whatsapp"),
    metadata: z.object({ phone_number_id: z.string().min(1), display_phone_number: z.string().optional() }),
    contacts: z.array(contactSchema).optional(),
    messages: z.array(z.unknown()).optional(),
    statuses: z.array(z.unknown()).optional(),
    errors: z.array(z.unknown()).optional(),
  })
  .passthrough();

export const templateStatusValueSchema = z
  .object({
    event: z.string(),
    message_template_id: z.union([z.number(), z.string()]),
    message_template_name: z.string(),
    message_template_language: z.string(),
    reason: z.string().nullable().optional(),
  })
  .passthrough();

export const envelopeSchema = z.object({
  object: z.literal("whatsapp_business_account"),
  entry: z
    .array(
      z.object({
        id: z.string(),
        changes: z.array(z.object({ field: z.string(), value: z.record(z.string(), z.unknown()) })),
      }),
    )
    .min(1),
});

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" ? (v as Obj) : {});
const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);

export const MEDIA_TYPES = new Set(["image", "audio", "video", "document", "sticker"]);

/** The searchable text of an inbound message (its body, caption, chosen reply, place…). */
export function textOf(m: InboundMessage): string | null {
  const part = obj((m as Obj)[m.type]);
  switch (m.type) {
    case "text":
      return str(part.body);
    case "image":
    case "video":
    case "document":
    case "audio":
    case "sticker":
      return str(part.caption) ?? str(part.filename);
    case "location":
      return [str(part.name), str(part.address)].filter(Boolean).join(", ") || `${part.latitude}, ${part.longitude}`;
    case "contacts": {
      const list = Array.isArray((m as Obj).contacts) ? ((m as Obj).contacts as unknown[]) : [];
      return (
        list
          .map((c) => str(obj(obj(c).name).formatted_name))
          .filter(Boolean)
          .join(", ") || null
      );
    }
    case "interactive": {
      const reply = obj(part.button_reply ?? part.list_reply ?? part.nfm_reply);
      return str(reply.title) ?? str(reply.body) ?? str(reply.name);
    }
    case "button":
      return str(part.text);
    case "reaction":
      return str(part.emoji);
    case "system":
      return str(part.body);
    case "order":
      return str(part.text);
    default:
      return null;
  }
}

/** Media fields stored with a media message (download later through GET /{mediaId}). */
export function mediaOf(m: InboundMessage): { id: string; mimeType: string | null; sha256: string | null } | null {
  if (!MEDIA_TYPES.has(m.type)) return null;
  const part = obj((m as Obj)[m.type]);
  const id = str(part.id);
  return id ? { id, mimeType: str(part.mime_type), sha256: str(part.sha256) } : null;
}
