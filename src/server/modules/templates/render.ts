import {
  type TemplateComponent,
  type TemplateVariables,
  VARIABLE,
  variablesOf,
} from "../../../shared/schemas/templates.js";
import { badRequest } from "../../http/problem.js";

/**
 * Templates rendered two ways: as WhatsApp shows them (the preview, plain structured text the web
 * draws), and as the Cloud API send body (`template:{name, language:{code}, components}`) the
 * inbox and broadcasts post to `/{phoneNumberId}/messages`.
 *
 * Variable keys (one flat map, so a broadcast's mapping is keyed the same way):
 * - body: `1`, `2`, … or the named variable (`first_name`);
 * - text header: `header.1` or `header.<name>`; media header: `header.media` (a link);
 * - buttons by index: `button.<i>` — a URL button's suffix, a COPY_CODE button's code, a quick
 *   reply's payload (optional);
 * - AUTHENTICATION: `code`, the one-time code (body and its button).
 */

export interface TemplateLike {
  name: string;
  language: string;
  category: "MARKETING" | "UTILITY" | "AUTHENTICATION";
  parameterFormat: "POSITIONAL" | "NAMED";
  components: TemplateComponent[];
}

export interface TemplatePreview {
  header: { format: "TEXT" | "IMAGE" | "VIDEO" | "DOCUMENT"; text: string | null; mediaUrl: string | null } | null;
  body: string;
  footer: string | null;
  buttons: { type: string; text: string; url?: string; phoneNumber?: string; code?: string }[];
}

const distinct = (text: string) => [...new Set(variablesOf(text))];
const fill = (text: string, value: (name: string) => string | undefined) =>
  text.replace(VARIABLE, (whole, name: string) => value(name) ?? whole);

function parts(components: TemplateComponent[]) {
  type Of<T extends TemplateComponent["type"]> = Extract<TemplateComponent, { type: T }>;
  const find = <T extends TemplateComponent["type"]>(type: T) => components.find((c): c is Of<T> => c.type === type);
  return { header: find("HEADER"), body: find("BODY"), footer: find("FOOTER"), buttons: find("BUTTONS") };
}

/** The example values the template was submitted with, keyed like the variables. */
export function exampleValues(t: TemplateLike): TemplateVariables {
  const out: TemplateVariables = {};
  const { header, body, buttons } = parts(t.components);
  if (header?.format === "TEXT" && header.text) {
    const [v] = distinct(header.text);
    const ex = header.example?.header_text?.[0] ?? header.example?.header_text_named_params?.[0]?.example;
    if (v && ex) out[`header.${v}`] = ex;
  } else if (header?.example?.header_handle?.[0]) {
    out["header.media"] = header.example.header_handle[0];
  }
  if (body?.text) {
    const named = new Map((body.example?.body_text_named_params ?? []).map((p) => [p.param_name, p.example]));
    const positional = body.example?.body_text?.[0] ?? [];
    for (const v of distinct(body.text)) {
      const ex = t.parameterFormat === "NAMED" ? named.get(v) : positional[Number(v) - 1];
      if (ex !== undefined) out[v] = ex;
    }
  }
  buttons?.buttons.forEach((b, i) => {
    if (b.type === "URL" && b.example?.[0]) {
      const prefix = b.url.replace(VARIABLE, "");
      out[`button.${i}`] = b.example[0].startsWith(prefix) ? b.example[0].slice(prefix.length) : b.example[0];
    }
    if (b.type === "COPY_CODE") out[`button.${i}`] = b.example;
  });
  if (t.category === "AUTHENTICATION") out.code = "123456";
  return out;
}

/** The template as WhatsApp shows it, with `values` (else the examples; else `{{name}}` stays). */
export function renderPreview(t: TemplateLike, values: TemplateVariables): TemplatePreview {
  const v = { ...exampleValues(t), ...values };
  const { header, body, footer, buttons } = parts(t.components);
  if (t.category === "AUTHENTICATION") {
    const code = v.code ?? "{{1}}";
    const minutes = footer?.code_expiration_minutes;
    return {
      header: null,
      body: `*${code}* is your verification code.${body?.add_security_recommendation ? " For your security, do not share this code." : ""}`,
      footer: minutes ? `This code expires in ${minutes} minutes.` : null,
      buttons: (buttons?.buttons ?? []).map((b) => ({
        type: b.type,
        text:
          (b.type === "OTP" && b.text) || (b.type === "OTP" && b.otp_type !== "COPY_CODE" ? "Autofill" : "Copy code"),
        code,
      })),
    };
  }
  return {
    header: header
      ? header.format === "TEXT"
        ? { format: "TEXT", text: fill(header.text ?? "", (n) => v[`header.${n}`]), mediaUrl: null }
        : { format: header.format, text: null, mediaUrl: v["header.media"] ?? null }
      : null,
    body: fill(body?.text ?? "", (n) => v[n]),
    footer: footer?.text ?? null,
    buttons: (buttons?.buttons ?? []).map((b, i) => {
      switch (b.type) {
        case "URL":
          return { type: b.type, text: b.text, url: fill(b.url, () => v[`button.${i}`]) };
        case "PHONE_NUMBER":
          return { type: b.type, text: b.text, phoneNumber: b.phone_number };
        case "COPY_CODE":
          return { type: b.type, text: "Copy offer code", code: v[`button.${i}`] ?? b.example };
        case "OTP":
          return { type: b.type, text: b.text ?? "Copy code" };
        default:
          return { type: b.type, text: b.text };
      }
    }),
  };
}

export interface CloudTemplateBody {
  name: string;
  language: { code: string };
  components?: Record<string, unknown>[];
}

/**
 * The Cloud API `template` object for a send: every variable of the template must have a value
 * (400 `template_variables_missing` naming them); values are sent as given (Meta escapes them).
 */
export function buildTemplateMessage(t: TemplateLike, variables: TemplateVariables): CloudTemplateBody {
  const missing: string[] = [];
  const need = (key: string): string => {
    const value = variables[key];
    if (value === undefined || value === "") {
      missing.push(key);
      return "";
    }
    return value;
  };
  const named = t.parameterFormat === "NAMED";
  const textParam = (name: string, key: string) => ({
    type: "text",
    ...(named ? { parameter_name: name } : {}),
    text: need(key),
  });
  const components: Record<string, unknown>[] = [];
  const { header, body, buttons } = parts(t.components);

  if (t.category === "AUTHENTICATION") {
    const code = need("code");
    components.push({ type: "body", parameters: [{ type: "text", text: code }] });
    const otp = buttons?.buttons[0];
    if (otp?.type === "OTP" && otp.otp_type !== "ZERO_TAP") {
      components.push({ type: "button", sub_type: "url", index: "0", parameters: [{ type: "text", text: code }] });
    }
  } else {
    if (header?.format === "TEXT") {
      const [v] = distinct(header.text ?? "");
      if (v) components.push({ type: "header", parameters: [textParam(v, `header.${v}`)] });
    } else if (header) {
      const kind = header.format.toLowerCase();
      components.push({ type: "header", parameters: [{ type: kind, [kind]: { link: need("header.media") } }] });
    }
    if (body?.text) {
      const vars = distinct(body.text);
      const ordered = named ? vars : [...vars].sort((a, b) => Number(a) - Number(b));
      if (ordered.length) components.push({ type: "body", parameters: ordered.map((v) => textParam(v, v)) });
    }
    buttons?.buttons.forEach((b, i) => {
      const key = `button.${i}`;
      if (b.type === "URL" && variablesOf(b.url).length) {
        components.push({
          type: "button",
          sub_type: "url",
          index: String(i),
          parameters: [{ type: "text", text: need(key) }],
        });
      } else if (b.type === "COPY_CODE") {
        components.push({
          type: "button",
          sub_type: "copy_code",
          index: String(i),
          parameters: [{ type: "coupon_code", coupon_code: need(key) }],
        });
      } else if (b.type === "QUICK_REPLY" && variables[key]) {
        components.push({
          type: "button",
          sub_type: "quick_reply",
          index: String(i),
          parameters: [{ type: "payload", payload: variables[key] }],
        });
      }
    });
  }
  if (missing.length) {
    throw badRequest(
      "template_variables_missing",
      `Values are missing for ${missing.join(", ")}.`,
      missing.map((k) => ({ path: `variables.${k}`, message: "A value is required.", in: "body" as const })),
    );
  }
  return { name: t.name, language: { code: t.language }, ...(components.length ? { components } : {}) };
}
