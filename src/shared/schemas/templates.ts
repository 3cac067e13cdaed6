import { z } from "zod";
import { hasNul, uuidSchema } from "./common.js";

/**
 * WhatsApp message templates, in Meta's own shape (`POST /{wabaId}/message_templates`), shared by
 * the server routes, the fake Graph API (which validates like Meta) and the web editor. Every rule
 * reports the field (`components.1.text`) and the reason.
 */

export const TEMPLATE_CATEGORIES = ["MARKETING", "UTILITY", "AUTHENTICATION"] as const;
export const TEMPLATE_STATUSES = ["PENDING", "APPROVED", "REJECTED", "PAUSED", "DISABLED"] as const;
export type TemplateCategory = (typeof TEMPLATE_CATEGORIES)[number];
export type TemplateStatus = (typeof TEMPLATE_STATUSES)[number];

export const TEMPLATE_LIMITS = {
  name: 512,
  headerText: 60,
  body: 1024,
  footer: 60,
  buttons: 10,
  buttonText: 25,
  urlButtons: 2,
  phoneButtons: 1,
  copyCodeButtons: 1,
  url: 2000,
  phone: 20,
  copyCode: 15,
  example: 1024,
} as const;

/** `{{1}}` or `{{first_name}}`; anything else between braces is refused. */
export const VARIABLE = /\{\{\s*([^{}]*?)\s*\}\}/g;
const NAMED = /^[a-z][a-z0-9_]{0,59}$/;
const POSITIONAL = /^[1-9]\d{0,2}$/;

/** The variables of a text, in order of appearance (duplicates kept). */
export function variablesOf(text: string): string[] {
  return [...text.matchAll(VARIABLE)].map((m) => m[1] ?? "");
}

const text = (max: number) =>
  z
    .string()
    .max(max, `At most ${max} characters.`)
    .refine((s) => !hasNul(s), "Remove the NUL characters.");
const example = text(TEMPLATE_LIMITS.example).min(1, "An example cannot be empty.");
const namedParams = z.array(z.object({ param_name: z.string().max(60), example })).max(100);

const headerComponent = z.object({
  type: z.literal("HEADER"),
  format: z.enum(["TEXT", "IMAGE", "VIDEO", "DOCUMENT"]),
  text: text(TEMPLATE_LIMITS.headerText).optional(),
  example: z
    .object({
      header_text: z.array(example).max(1).optional(),
      header_text_named_params: namedParams.max(1).optional(),
      header_handle: z.array(text(2048).min(1)).max(1).optional(),
    })
    .optional(),
});
const bodyComponent = z.object({
  type: z.literal("BODY"),
  text: text(TEMPLATE_LIMITS.body).optional(),
  add_security_recommendation: z.boolean().optional(),
  example: z
    .object({
      body_text: z.array(z.array(example).max(100)).max(1).optional(),
      body_text_named_params: namedParams.optional(),
    })
    .optional(),
});
const footerComponent = z.object({
  type: z.literal("FOOTER"),
  text: text(TEMPLATE_LIMITS.footer).optional(),
  code_expiration_minutes: z.number().int().min(1).max(90).optional(),
});
const buttonSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("QUICK_REPLY"), text: text(TEMPLATE_LIMITS.buttonText).min(1) }),
  z.object({
    type: z.literal("URL"),
    text: text(TEMPLATE_LIMITS.buttonText).min(1),
    url: text(TEMPLATE_LIMITS.url).min(1),
    example: z.array(text(TEMPLATE_LIMITS.url).min(1)).max(1).optional(),
  }),
  z.object({
    type: z.literal("PHONE_NUMBER"),
    text: text(TEMPLATE_LIMITS.buttonText).min(1),
    phone_number: z
      .string()
      .max(TEMPLATE_LIMITS.phone)
      .regex(/^\+?[1-9]\d{5,19}$/, "Expected a phone number in international format, e.g. +15551234567."),
  }),
  z.object({
    type: z.literal("COPY_CODE"),
    example: text(TEMPLATE_LIMITS.copyCode).min(1, "The example code is required."),
  }),
  z.object({
    type: z.literal("OTP"),
    otp_type: z.enum(["COPY_CODE", "ONE_TAP", "ZERO_TAP"]),
    text: text(TEMPLATE_LIMITS.buttonText).optional(),
  }),
]);
const buttonsComponent = z.object({
  type: z.literal("BUTTONS"),
  buttons: z.array(buttonSchema).min(1).max(TEMPLATE_LIMITS.buttons, `At most ${TEMPLATE_LIMITS.buttons} buttons.`),
});

export const templateComponentSchema = z.discriminatedUnion("type", [
  headerComponent,
  bodyComponent,
  footerComponent,
  buttonsComponent,
]);
export type TemplateComponent = z.infer<typeof templateComponentSchema>;
export type TemplateButton = z.infer<typeof buttonSchema>;

export const templateNameSchema = z
  .string()
  .min(1, "Required.")
  .max(TEMPLATE_LIMITS.name, `At most ${TEMPLATE_LIMITS.name} characters.`)
  .regex(/^[a-z0-9_]+$/, "Only lowercase letters, digits and underscores.");
/** Meta's language codes: `en`, `en_US`, `pt_BR`, `zh_HK`, `ha`, `fil`… */
export const templateLanguageSchema = z
  .string()
  .max(15)
  .regex(/^[a-z]{2,3}(_[A-Z]{2}|_[A-Za-z]{4})?$/, "Expected a language code such as en, en_US or pt_BR.");

type Ctx = z.core.$RefinementCtx;

/** Positional variables must be {{1}}, {{2}}, … in order of first appearance with no gap. */
function checkVariables(
  ctx: Ctx,
  path: (string | number)[],
  vars: string[],
  format: "POSITIONAL" | "NAMED",
  maxDistinct?: number,
): string[] {
  const distinct = [...new Set(vars)];
  for (const v of distinct) {
    const ok = format === "NAMED" ? NAMED.test(v) : POSITIONAL.test(v);
    if (!ok) {
      ctx.addIssue({
        code: "custom",
        path,
        message:
          format === "NAMED"
            ? `Variable {{${v.slice(0, 40)}}}: named variables are lowercase letters, digits and underscores (parameter_format NAMED).`
            : `Variable {{${v.slice(0, 40)}}}: positional variables are {{1}}, {{2}}, … (parameter_format POSITIONAL).`,
      });
      return distinct;
    }
  }
  if (format === "POSITIONAL") {
    const nums = distinct.map(Number).sort((a, b) => a - b);
    if (nums.some((n, i) => n !== i + 1)) {
      ctx.addIssue({
        code: "custom",
        path,
        message: "Positional variables must be sequential from {{1}} with no gaps.",
      });
    }
  }
  if (maxDistinct !== undefined && distinct.length > maxDistinct) {
    ctx.addIssue({ code: "custom", path, message: `At most ${maxDistinct} variable here.` });
  }
  return distinct;
}

function checkStandard(
  ctx: Ctx,
  components: TemplateComponent[],
  format: "POSITIONAL" | "NAMED",
  named: boolean,
): void {
  components.forEach((c, i) => {
    const at = (...p: (string | number)[]) => ["components", i, ...p];
    switch (c.type) {
      case "HEADER": {
        if (c.format === "TEXT") {
          if (!c.text?.trim()) {
            ctx.addIssue({ code: "custom", path: at("text"), message: "A TEXT header needs its text." });
            break;
          }
          const vars = checkVariables(ctx, at("text"), variablesOf(c.text), format, 1);
          if (vars.length === 1) {
            const given = named ? c.example?.header_text_named_params?.length : c.example?.header_text?.length;
            if (!given) {
              ctx.addIssue({
                code: "custom",
                path: at("example", named ? "header_text_named_params" : "header_text"),
                message: "A header variable needs an example value.",
              });
            } else if (named && c.example?.header_text_named_params?.[0]?.param_name !== vars[0]) {
              ctx.addIssue({
                code: "custom",
                path: at("example", "header_text_named_params", 0, "param_name"),
                message: `Expected the example of {{${vars[0]}}}.`,
              });
            }
          }
        } else {
          if (c.text !== undefined) {
            ctx.addIssue({ code: "custom", path: at("text"), message: `A ${c.format} header has no text.` });
          }
          if (!c.example?.header_handle?.length) {
            ctx.addIssue({
              code: "custom",
              path: at("example", "header_handle"),
              message: `A ${c.format} header needs an example media handle or link.`,
            });
          }
        }
        break;
      }
      case "BODY": {
        if (!c.text?.trim()) {
          ctx.addIssue({ code: "custom", path: at("text"), message: "The body text is required." });
          break;
        }
        if (c.add_security_recommendation !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: at("add_security_recommendation"),
            message: "Only AUTHENTICATION templates have a security recommendation.",
          });
        }
        const vars = checkVariables(ctx, at("text"), variablesOf(c.text), format);
        if (vars.length === 0) break;
        if (named) {
          const given = new Set((c.example?.body_text_named_params ?? []).map((p) => p.param_name));
          const missing = vars.filter((v) => !given.has(v));
          if (missing.length) {
            ctx.addIssue({
              code: "custom",
              path: at("example", "body_text_named_params"),
              message: `Example values required for ${missing.map((v) => `{{${v}}}`).join(", ")}.`,
            });
          }
        } else {
          const given = c.example?.body_text?.[0]?.length ?? 0;
          if (given !== vars.length) {
            ctx.addIssue({
              code: "custom",
              path: at("example", "body_text"),
              message: `Expected ${vars.length} example value(s), one per variable; got ${given}.`,
            });
          }
        }
        const t = c.text.trim();
        if (/^\{\{[^{}]*\}\}/.test(t) || /\{\{[^{}]*\}\}$/.test(t)) {
          ctx.addIssue({
            code: "custom",
            path: at("text"),
            message: "The body cannot start or end with a variable.",
          });
        }
        break;
      }
      case "FOOTER": {
        if (!c.text?.trim()) {
          ctx.addIssue({ code: "custom", path: at("text"), message: "The footer text is required." });
        } else if (variablesOf(c.text).length) {
          ctx.addIssue({ code: "custom", path: at("text"), message: "The footer cannot have variables." });
        }
        if (c.code_expiration_minutes !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: at("code_expiration_minutes"),
            message: "Only AUTHENTICATION templates have a code expiration.",
          });
        }
        break;
      }
      case "BUTTONS": {
        const count = (t: string) => c.buttons.filter((b) => b.type === t).length;
        const limit = (t: string, n: number) => {
          if (count(t) > n) {
            ctx.addIssue({ code: "custom", path: at("buttons"), message: `At most ${n} ${t} button(s).` });
          }
        };
        limit("URL", TEMPLATE_LIMITS.urlButtons);
        limit("PHONE_NUMBER", TEMPLATE_LIMITS.phoneButtons);
        limit("COPY_CODE", TEMPLATE_LIMITS.copyCodeButtons);
        // Meta groups quick replies: they come all before or all after the other buttons.
        const kinds = c.buttons.map((b) => (b.type === "QUICK_REPLY" ? "q" : "o")).join("");
        if (/q+o+q+|o+q+o+/.test(kinds)) {
          ctx.addIssue({
            code: "custom",
            path: at("buttons"),
            message: "Quick replies must be grouped together, before or after the other buttons.",
          });
        }
        c.buttons.forEach((b, j) => {
          const bp = at("buttons", j);
          if (b.type === "OTP") {
            ctx.addIssue({ code: "custom", path: [...bp, "type"], message: "OTP buttons are for AUTHENTICATION." });
          }
          if (b.type === "URL") {
            if (!/^https?:\/\/[^\s{}]+/i.test(b.url)) {
              ctx.addIssue({ code: "custom", path: [...bp, "url"], message: "Expected an http(s) URL." });
            }
            const vars = variablesOf(b.url);
            if (vars.length > 1 || (vars.length === 1 && !/\{\{\s*1\s*\}\}$/.test(b.url))) {
              ctx.addIssue({
                code: "custom",
                path: [...bp, "url"],
                message: "A URL can have one variable, {{1}}, at its end.",
              });
            } else if (vars.length === 1 && !b.example?.length) {
              ctx.addIssue({
                code: "custom",
                path: [...bp, "example"],
                message: "A URL with a variable needs an example URL.",
              });
            }
          }
        });
        break;
      }
    }
  });
}

function checkAuthentication(ctx: Ctx, components: TemplateComponent[]): void {
  components.forEach((c, i) => {
    const at = (...p: (string | number)[]) => ["components", i, ...p];
    if (c.type === "HEADER") {
      ctx.addIssue({ code: "custom", path: at("type"), message: "AUTHENTICATION templates have no header." });
    } else if (c.type === "BODY" && c.text !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: at("text"),
        message: "AUTHENTICATION bodies are Meta's fixed text: give add_security_recommendation only.",
      });
    } else if (c.type === "FOOTER" && c.text !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: at("text"),
        message: "AUTHENTICATION footers are Meta's fixed text: give code_expiration_minutes only.",
      });
    } else if (c.type === "BUTTONS" && (c.buttons.length !== 1 || c.buttons[0]?.type !== "OTP")) {
      ctx.addIssue({
        code: "custom",
        path: at("buttons"),
        message: "AUTHENTICATION templates have exactly one OTP button (COPY_CODE, ONE_TAP or ZERO_TAP).",
      });
    }
  });
  if (!components.some((c) => c.type === "BUTTONS")) {
    ctx.addIssue({ code: "custom", path: ["components"], message: "AUTHENTICATION templates need an OTP button." });
  }
}

export function checkComponents(
  ctx: Ctx,
  category: TemplateCategory,
  components: TemplateComponent[],
  parameterFormat: "POSITIONAL" | "NAMED" = "POSITIONAL",
): void {
  const counts = new Map<string, number>();
  for (const c of components) counts.set(c.type, (counts.get(c.type) ?? 0) + 1);
  for (const [type, n] of counts) {
    if (n > 1) ctx.addIssue({ code: "custom", path: ["components"], message: `At most one ${type} component.` });
  }
  if (!counts.get("BODY")) {
    ctx.addIssue({ code: "custom", path: ["components"], message: "A BODY component is required." });
  }
  if (category === "AUTHENTICATION") checkAuthentication(ctx, components);
  else checkStandard(ctx, components, parameterFormat, parameterFormat === "NAMED");
}

const componentsField = z.array(templateComponentSchema).min(1, "At least a BODY.").max(4);
const parameterFormatField = z.enum(["POSITIONAL", "NAMED"]);

/** Meta's create body, without our channel id (what the fake Graph API validates). */
export const metaTemplateBody = z
  .object({
    name: templateNameSchema,
    language: templateLanguageSchema,
    category: z.enum(TEMPLATE_CATEGORIES),
    parameter_format: parameterFormatField.optional(),
    allow_category_change: z.boolean().optional(),
    components: componentsField,
  })
  .superRefine((b, ctx) => checkComponents(ctx, b.category, b.components, b.parameter_format));

export const createTemplateBody = z
  .object({
    channelId: uuidSchema,
    name: templateNameSchema,
    language: templateLanguageSchema,
    category: z.enum(TEMPLATE_CATEGORIES),
    parameterFormat: parameterFormatField.default("POSITIONAL"),
    components: componentsField,
  })
  .superRefine((b, ctx) => checkComponents(ctx, b.category, b.components, b.parameterFormat));
export type CreateTemplateInput = z.infer<typeof createTemplateBody>;

/** Meta lets an edit change the category (not of an approved template) and the components. */
export const updateTemplateBody = z
  .object({
    category: z.enum(TEMPLATE_CATEGORIES).optional(),
    parameterFormat: parameterFormatField.optional(),
    components: componentsField.optional(),
  })
  .refine((b) => b.category !== undefined || b.components !== undefined, "Nothing to change.");
export type UpdateTemplateInput = z.infer<typeof updateTemplateBody>;

export const listTemplatesQuery = z.object({
  channelId: uuidSchema.optional(),
  status: z.enum(TEMPLATE_STATUSES).optional(),
  q: z.string().max(100).optional(),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

export const syncTemplatesBody = z.object({ channelId: uuidSchema });

/** Sample values keyed by variable: {"1": "Ann"} or {"first_name": "Ann"}; `button.0` for a URL's. */
export const templateVariablesSchema = z.record(
  z.string().max(60),
  z
    .string()
    .max(1024)
    .refine((s) => !hasNul(s), "Remove the NUL characters."),
);
export type TemplateVariables = z.infer<typeof templateVariablesSchema>;
export const previewTemplateBody = z.object({ variables: templateVariablesSchema.default({}) });
