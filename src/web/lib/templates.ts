import {
  type TemplateCategory,
  type TemplateComponent,
  type TemplateStatus,
  variablesOf,
} from "../../shared/schemas/templates.js";

/** A template as GET /orgs/:orgId/templates answers it. */
export interface Template {
  id: string;
  channelId: string;
  name: string;
  language: string;
  category: TemplateCategory;
  parameterFormat: "POSITIONAL" | "NAMED";
  components: TemplateComponent[];
  status: TemplateStatus;
  rejectionReason: string | null;
  createdAt: string;
  updatedAt: string;
}

export const templateKeys = {
  list: (orgId: string) => ["orgs", orgId, "templates"] as const,
};

/** The editor's values (text fields; examples keyed by variable). */
export interface TemplateDraft {
  channelId: string;
  name: string;
  language: string;
  category: TemplateCategory;
  headerText: string;
  body: string;
  footer: string;
  /** Quick-reply buttons, one per line. */
  buttons: string;
  headerExample: string;
  examples: Record<string, string>;
}

/** The distinct variables of a text, in order of first appearance. */
export function distinctVariables(text: string): string[] {
  return [...new Set(variablesOf(text))];
}

export function quickReplies(buttons: string): string[] {
  return buttons
    .split("\n")
    .map((b) => b.trim())
    .filter(Boolean);
}

/**
 * The POST body in Meta's component shape, and which editor field each component index stands for
 * (so a schema issue at `components.1.text` lands under the body field).
 */
export function templateBody(d: TemplateDraft): {
  body: Record<string, unknown>;
  fieldOf: (path: string) => string;
} {
  const components: Record<string, unknown>[] = [];
  const kinds: string[] = [];
  const headerVars = distinctVariables(d.headerText);
  if (d.headerText.trim()) {
    kinds.push("header");
    components.push({
      type: "HEADER",
      format: "TEXT",
      text: d.headerText,
      ...(headerVars.length ? { example: { header_text: [d.headerExample] } } : {}),
    });
  }
  const bodyVars = distinctVariables(d.body);
  kinds.push("body");
  components.push({
    type: "BODY",
    text: d.body,
    ...(bodyVars.length ? { example: { body_text: [bodyVars.map((v) => d.examples[v] ?? "")] } } : {}),
  });
  if (d.footer.trim()) {
    kinds.push("footer");
    components.push({ type: "FOOTER", text: d.footer });
  }
  const replies = quickReplies(d.buttons);
  if (replies.length) {
    kinds.push("buttons");
    components.push({ type: "BUTTONS", buttons: replies.map((text) => ({ type: "QUICK_REPLY", text })) });
  }
  const fieldOf = (path: string): string => {
    const m = /^components\.(\d+)(?:\.(.*))?$/.exec(path);
    if (!m) return path === "components" ? "body" : path;
    const kind = kinds[Number(m[1])];
    const rest = m[2] ?? "";
    if (kind === "header") return rest.startsWith("example") ? "headerExample" : "headerText";
    if (kind === "body") {
      const ex = /^example\.body_text\.0\.(\d+)/.exec(rest);
      if (ex) return `example.${bodyVars[Number(ex[1])] ?? ""}`;
      return rest.startsWith("example") ? `example.${bodyVars[0] ?? ""}` : "body";
    }
    return kind ?? "body";
  };
  return {
    body: { channelId: d.channelId, name: d.name, language: d.language, category: d.category, components },
    fieldOf,
  };
}

/** Text with `{{v}}` replaced by the value given (or left as is). */
export function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{\s*([^{}]*?)\s*\}\}/g, (all, v: string) => values[v]?.trim() || all);
}

export interface BubbleContent {
  header: string | null;
  body: string;
  footer: string | null;
  buttons: string[];
}

/** What a stored template shows, its examples filling the variables. */
export function bubbleOf(t: Pick<Template, "components">): BubbleContent {
  let header: string | null = null;
  let body = "";
  let footer: string | null = null;
  let buttons: string[] = [];
  for (const c of t.components) {
    if (c.type === "HEADER" && c.format === "TEXT")
      header = fill(c.text ?? "", { 1: c.example?.header_text?.[0] ?? "" });
    if (c.type === "HEADER" && c.format !== "TEXT") header = `[${c.format}]`;
    if (c.type === "BODY") {
      const ex = c.example?.body_text?.[0] ?? [];
      const values: Record<string, string> = {};
      ex.forEach((v, i) => {
        values[String(i + 1)] = v;
      });
      for (const p of c.example?.body_text_named_params ?? []) values[p.param_name] = p.example;
      body = fill(c.text ?? "", values);
    }
    if (c.type === "FOOTER") footer = c.text ?? null;
    if (c.type === "BUTTONS")
      buttons = c.buttons.map((b) => ("text" in b && b.text ? b.text : b.type === "COPY_CODE" ? "Copy code" : b.type));
  }
  return { header, body, footer, buttons };
}

/** The template's variables as a broadcast maps them: body ones (`1`, `first_name`), then `header.<v>`. */
export function templateVariables(t: Pick<Template, "components">): string[] {
  const out: string[] = [];
  for (const c of t.components) {
    if (c.type === "BODY") out.push(...distinctVariables(c.text ?? ""));
  }
  for (const c of t.components) {
    if (c.type === "HEADER" && c.format === "TEXT")
      out.push(...distinctVariables(c.text ?? "").map((v) => `header.${v}`));
    if (c.type === "BUTTONS")
      c.buttons.forEach((b, i) => {
        if (b.type === "URL" && variablesOf(b.url).length) out.push(`button.${i}`);
      });
  }
  return out;
}

/**
 * The editor's values of a stored template, or null when the editor cannot show it faithfully
 * (media header, URL/phone/code buttons, named variables, AUTHENTICATION): such templates are
 * edited at Meta and brought back with "Sync from Meta".
 */
export function draftOf(t: Template): TemplateDraft | null {
  if (t.category === "AUTHENTICATION" || t.parameterFormat === "NAMED") return null;
  const d: TemplateDraft = {
    channelId: t.channelId,
    name: t.name,
    language: t.language,
    category: t.category,
    headerText: "",
    body: "",
    footer: "",
    buttons: "",
    headerExample: "",
    examples: {},
  };
  for (const c of t.components) {
    if (c.type === "HEADER") {
      if (c.format !== "TEXT") return null;
      d.headerText = c.text ?? "";
      d.headerExample = c.example?.header_text?.[0] ?? "";
    } else if (c.type === "BODY") {
      d.body = c.text ?? "";
      (c.example?.body_text?.[0] ?? []).forEach((v, i) => {
        d.examples[String(i + 1)] = v;
      });
    } else if (c.type === "FOOTER") d.footer = c.text ?? "";
    else if (c.type === "BUTTONS") {
      if (c.buttons.some((b) => b.type !== "QUICK_REPLY")) return null;
      d.buttons = c.buttons.map((b) => ("text" in b ? b.text : "")).join("\n");
    }
  }
  return d;
}

/** Meta lets a template be edited unless it is in review or disabled. */
export function canEdit(t: Template): boolean {
  return t.status !== "PENDING" && t.status !== "DISABLED" && draftOf(t) !== null;
}
