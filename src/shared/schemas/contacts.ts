import { z } from "zod";
import { hasNul, multiLineSchema, singleLineSchema, uuidSchema } from "./common.js";

/**
 * Request bodies and queries of contacts, tags, lists and teams, shared by the server routes and
 * the web forms. Phone numbers are checked by `normalizePhone` (src/shared/phone.ts), which says
 * why a number is refused; here they are only bounded text.
 */

export const MAX_ATTRIBUTES = 50;
export const MAX_ATTRIBUTE_VALUE = 1000;
/** `attr.<key>` in a CSV header: letters, digits and `_`, starting with a letter. */
export const ATTRIBUTE_KEY = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;
export const MAX_BULK_IDS = 1000;

/**
 * Why an import row (or, row 0, the whole import) was not imported: each error of
 * `GET /contacts/imports/:id` carries one of these codes and its `params`; the web app translates
 * them (`contacts.importError.<code>` in src/web/locales), the English `message` is for API users.
 */
export const IMPORT_ERROR_CODES = [
  "row_field_count", // params: fields, columns
  "nul_character", // column (1-based)
  "phone_not_a_number", // value
  "phone_invalid_country",
  "phone_too_short",
  "phone_too_long",
  "phone_not_possible",
  "phone_extension",
  "name_too_long", // max
  "name_control_characters",
  "too_many_names", // column (tags | lists), max
  "label_too_long", // column, name, max
  "label_control_characters", // column
  "attribute_too_long", // key, max
  "too_many_attributes", // max (after merging with the contact's attributes)
  "opted_out_value", // value
  "tag_limit_reached", // max, name
  "list_limit_reached", // max, name
  "csv_unreadable", // row 0: detail
  "too_many_rows", // row 0: max, total
  "internal_error", // row 0
  "other", // errors recorded before the codes: the message only
] as const;
export type ImportErrorCode = (typeof IMPORT_ERROR_CODES)[number];
/** A bulk action on a filter touches at most this many contacts (set-based, in one transaction). */
export const MAX_BULK_FILTER = 100_000;
export const CONTACT_SORTS = ["created", "name", "lastMessage"] as const;
export const BULK_ACTIONS = ["add_tag", "remove_tag", "add_to_list", "remove_from_list", "delete"] as const;

export const phoneInputSchema = z.string().trim().min(1, "Required.").max(40);
/** ISO 3166 alpha-2, for numbers written without their international prefix. */
export const countrySchema = z
  .string()
  .max(2)
  .trim()
  .toUpperCase()
  .regex(/^[A-Z]{2}$/, "Expected a two-letter country code (ISO 3166), e.g. ES.");
/** WhatsApp's id of the person: digits, no `+` (may differ from the phone for a few countries). */
export const waIdSchema = z
  .string()
  .max(20)
  .trim()
  .regex(/^[1-9]\d{5,19}$/, "Expected the WhatsApp id: digits only.");
export const contactNameSchema = singleLineSchema(200);

// `maxLength` restated for the OpenAPI document: Zod leaves it out of a record's propertyNames.
const attributeKey = z
  .string()
  .max(40)
  .regex(ATTRIBUTE_KEY, "Attribute names: a letter, then letters, digits or _ (40 at most).")
  .meta({ maxLength: 40 });
const attributeValue = z
  .string()
  .max(MAX_ATTRIBUTE_VALUE)
  .refine((s) => !hasNul(s), "Remove the NUL characters.");

export const attributesSchema = z
  .record(attributeKey, attributeValue)
  .refine((a) => Object.keys(a).length <= MAX_ATTRIBUTES, `At most ${MAX_ATTRIBUTES} attributes.`);
/** In an edit: a value sets the attribute, null removes it, absent keys stay as they are. */
export const attributesPatchSchema = z
  .record(attributeKey, attributeValue.nullable())
  .refine((a) => Object.keys(a).length <= MAX_ATTRIBUTES, `At most ${MAX_ATTRIBUTES} attributes.`);

const idList = (max: number) => z.array(uuidSchema).max(max);

export const createContactBody = z
  .object({
    phone: phoneInputSchema,
    country: countrySchema.optional().meta({ description: "Country of a number written without + (ISO 3166)." }),
    name: contactNameSchema.nullable().optional(),
    attributes: attributesSchema.optional(),
    waId: waIdSchema.nullable().optional(),
    optedOut: z.boolean().optional().meta({ description: "Marketing opt-out (source `manual`)." }),
    tagIds: idList(100).optional(),
    listIds: idList(100).optional(),
  })
  .strict();
export type CreateContactInput = z.output<typeof createContactBody>;

export const updateContactBody = z
  .object({
    phone: phoneInputSchema,
    country: countrySchema,
    name: contactNameSchema.nullable(),
    attributes: attributesPatchSchema,
    waId: waIdSchema.nullable(),
    optedOut: z.boolean(),
    tagIds: idList(100),
    listIds: idList(100),
  })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).some((k) => k !== "country"), { message: "Give at least one field to change." });
export type UpdateContactInput = z.output<typeof updateContactBody>;

const searchText = z
  .string()
  .trim()
  .max(100)
  .refine((s) => !hasNul(s), "The search contains a character that is not allowed.");

/** The filters of the list, the export and bulk actions on a filter. */
export const contactFilterSchema = z.object({
  q: searchText.optional().meta({
    description: "Name prefix (case-insensitive), or phone prefix when it is digits, with or without +.",
  }),
  tagId: uuidSchema.optional(),
  listId: uuidSchema.optional(),
});
export type ContactFilter = z.output<typeof contactFilterSchema>;

export const listContactsQuery = contactFilterSchema.extend({
  sort: z.enum(CONTACT_SORTS).default("created").meta({
    description: "created: newest first; name: A→Z; lastMessage: most recent first, never-messaged last.",
  }),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(1000).optional(),
});
export type ListContactsQuery = z.output<typeof listContactsQuery>;

export const exportContactsQuery = contactFilterSchema.extend({ format: z.enum(["csv"]).default("csv") });

export const importContactsQuery = z.object({
  country: countrySchema.optional().meta({ description: "Country of numbers written without + (ISO 3166)." }),
});

export const bulkContactsBody = z
  .object({
    action: z.enum(BULK_ACTIONS),
    tagId: uuidSchema.optional(),
    listId: uuidSchema.optional(),
    contactIds: z.array(uuidSchema).min(1).max(MAX_BULK_IDS).optional(),
    filter: contactFilterSchema.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if ((b.contactIds === undefined) === (b.filter === undefined)) {
      ctx.addIssue({ code: "custom", path: ["contactIds"], message: "Give either contactIds or filter." });
    }
    if ((b.action === "add_tag" || b.action === "remove_tag") && !b.tagId) {
      ctx.addIssue({ code: "custom", path: ["tagId"], message: "Required for a tag action." });
    }
    if ((b.action === "add_to_list" || b.action === "remove_from_list") && !b.listId) {
      ctx.addIssue({ code: "custom", path: ["listId"], message: "Required for a list action." });
    }
  });
export type BulkContactsInput = z.output<typeof bulkContactsBody>;

// --- tags, lists, teams ------------------------------------------------------------------

export const colorSchema = z
  .string()
  .max(7)
  .trim()
  .regex(/^#[0-9a-fA-F]{6}$/, "Expected a colour like #22c55e.")
  .transform((c) => c.toLowerCase());

export const createTagBody = z
  .object({
    name: singleLineSchema(50),
    color: colorSchema.optional(),
    teamId: uuidSchema.nullable().optional().meta({ description: "A team of the organization: a team-specific tag." }),
  })
  .strict();
export type CreateTagInput = z.output<typeof createTagBody>;
export const updateTagBody = z
  .object({ name: singleLineSchema(50), color: colorSchema, teamId: uuidSchema.nullable() })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: "Give at least one of name, color, teamId." });
export type UpdateTagInput = z.output<typeof updateTagBody>;
export const listTagsQuery = z.object({ teamId: uuidSchema.optional() });

export const createListBody = z
  .object({ name: singleLineSchema(100), description: multiLineSchema(500).optional() })
  .strict();
export type CreateListInput = z.output<typeof createListBody>;
export const updateListBody = createListBody
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: "Give at least one of name, description." });
export type UpdateListInput = z.output<typeof updateListBody>;
export const listMembershipBody = z.object({ contactIds: z.array(uuidSchema).min(1).max(MAX_BULK_IDS) }).strict();

export const createTeamBody = z
  .object({
    name: singleLineSchema(60),
    description: multiLineSchema(500).optional(),
    memberIds: z.array(uuidSchema).max(500).default([]),
  })
  .strict();
export type CreateTeamInput = z.output<typeof createTeamBody>;
export const updateTeamBody = z
  .object({ name: singleLineSchema(60), description: multiLineSchema(500), memberIds: z.array(uuidSchema).max(500) })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: "Give at least one of name, description, memberIds." });
export type UpdateTeamInput = z.output<typeof updateTeamBody>;
