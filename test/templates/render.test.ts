import { describe, expect, it } from "vitest";
import { AppError } from "../../src/server/http/problem.js";
import { buildTemplateMessage, renderPreview, type TemplateLike } from "../../src/server/modules/templates/render.js";
import { messageBody } from "../../src/server/modules/whatsapp/graph-client.js";
import { createTemplateBody, type TemplateComponent } from "../../src/shared/schemas/templates.js";

const marketing: TemplateLike = {
  name: "spring_sale",
  language: "en_US",
  category: "MARKETING",
  parameterFormat: "POSITIONAL",
  components: [
    { type: "HEADER", format: "TEXT", text: "Hi {{1}}", example: { header_text: ["Ann"] } },
    { type: "BODY", text: "Order {{1}} ships {{2}}, code {{1}} again.", example: { body_text: [["A-1", "Monday"]] } },
    { type: "FOOTER", text: "Reply STOP" },
    {
      type: "BUTTONS",
      buttons: [
        { type: "URL", text: "Track", url: "https://e.example/t/{{1}}", example: ["https://e.example/t/A-1"] },
        { type: "URL", text: "Home", url: "https://e.example/" },
        { type: "COPY_CODE", example: "SAVE10" },
        { type: "QUICK_REPLY", text: "Stop" },
      ],
    },
  ] as TemplateComponent[],
};

describe("buildTemplateMessage: the Cloud API template object, field by field", () => {
  it("positional: header, body (each variable once, in order), url and copy_code buttons, quick reply payload", () => {
    const m = buildTemplateMessage(marketing, {
      "header.1": "Bea",
      "2": "Friday",
      "1": "B-7",
      "button.0": "B-7",
      "button.2": "HELLO5",
      "button.3": "stop-promos",
    });
    expect(Object.keys(m)).toEqual(["name", "language", "components"]);
    expect(m.name).toBe("spring_sale");
    expect(m.language).toEqual({ code: "en_US" });
    expect(m.components).toEqual([
      { type: "header", parameters: [{ type: "text", text: "Bea" }] },
      {
        type: "body",
        parameters: [
          { type: "text", text: "B-7" },
          { type: "text", text: "Friday" },
        ],
      },
      { type: "button", sub_type: "url", index: "0", parameters: [{ type: "text", text: "B-7" }] },
      {
        type: "button",
        sub_type: "copy_code",
        index: "2",
        parameters: [{ type: "coupon_code", coupon_code: "HELLO5" }],
      },
      {
        type: "button",
        sub_type: "quick_reply",
        index: "3",
        parameters: [{ type: "payload", payload: "stop-promos" }],
      },
    ]);
  });

  it("goes into /messages unchanged through the Graph client's body builder", () => {
    const m = buildTemplateMessage(marketing, {
      "header.1": "a",
      "1": "b",
      "2": "c",
      "button.0": "d",
      "button.2": "e",
    });
    const body = messageBody({
      to: "+15551234567",
      content: {
        type: "template",
        name: m.name,
        language: m.language.code,
        ...(m.components ? { components: m.components } : {}),
      },
    });
    expect(body).toMatchObject({ messaging_product: "whatsapp", to: "15551234567", type: "template", template: m });
  });

  it("named variables carry parameter_name", () => {
    const t: TemplateLike = {
      name: "welcome",
      language: "es",
      category: "UTILITY",
      parameterFormat: "NAMED",
      components: [
        {
          type: "HEADER",
          format: "TEXT",
          text: "Hola {{first_name}}",
          example: { header_text_named_params: [{ param_name: "first_name", example: "Ana" }] },
        },
        {
          type: "BODY",
          text: "Tu pedido {{order_id}} de {{first_name}} llegó.",
          example: {
            body_text_named_params: [
              { param_name: "order_id", example: "1" },
              { param_name: "first_name", example: "Ana" },
            ],
          },
        },
      ],
    };
    expect(buildTemplateMessage(t, { "header.first_name": "Eva", order_id: "9", first_name: "Eva" })).toEqual({
      name: "welcome",
      language: { code: "es" },
      components: [
        { type: "header", parameters: [{ type: "text", parameter_name: "first_name", text: "Eva" }] },
        {
          type: "body",
          parameters: [
            { type: "text", parameter_name: "order_id", text: "9" },
            { type: "text", parameter_name: "first_name", text: "Eva" },
          ],
        },
      ],
    });
  });

  it("media header: {type:image, image:{link}}", () => {
    for (const format of ["IMAGE", "VIDEO", "DOCUMENT"] as const) {
      const kind = format.toLowerCase();
      const t: TemplateLike = {
        ...marketing,
        components: [
          { type: "HEADER", format, example: { header_handle: ["4::aW1n"] } },
          { type: "BODY", text: "Look at this." },
        ],
      };
      expect(buildTemplateMessage(t, { "header.media": "https://cdn.example/x" }).components).toEqual([
        { type: "header", parameters: [{ type: kind, [kind]: { link: "https://cdn.example/x" } }] },
      ]);
    }
  });

  it("no variables: no components at all", () => {
    const t: TemplateLike = { ...marketing, components: [{ type: "BODY", text: "Hello there." }] };
    expect(buildTemplateMessage(t, {})).toEqual({ name: "spring_sale", language: { code: "en_US" } });
  });

  it("AUTHENTICATION: the code in the body and in the OTP button (url sub_type, index 0)", () => {
    const t: TemplateLike = {
      name: "login_code",
      language: "en",
      category: "AUTHENTICATION",
      parameterFormat: "POSITIONAL",
      components: [
        { type: "BODY", add_security_recommendation: true },
        { type: "FOOTER", code_expiration_minutes: 10 },
        { type: "BUTTONS", buttons: [{ type: "OTP", otp_type: "COPY_CODE" }] },
      ],
    };
    expect(buildTemplateMessage(t, { code: "482913" }).components).toEqual([
      { type: "body", parameters: [{ type: "text", text: "482913" }] },
      { type: "button", sub_type: "url", index: "0", parameters: [{ type: "text", text: "482913" }] },
    ]);
    const p = renderPreview(t, { code: "482913" });
    expect(p.body).toBe("*482913* is your verification code. For your security, do not share this code.");
    expect(p.footer).toBe("This code expires in 10 minutes.");
    expect(p.buttons).toEqual([{ type: "OTP", text: "Copy code", code: "482913" }]);
  });

  it("missing values: 400 template_variables_missing naming each", () => {
    try {
      buildTemplateMessage(marketing, { "1": "x" });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      const e = err as AppError;
      expect(e.code).toBe("template_variables_missing");
      expect(e.extra.errors?.map((x) => x.path)).toEqual([
        "variables.header.1",
        "variables.2",
        "variables.button.0",
        "variables.button.2",
      ]);
    }
  });
});

describe("the shared schema (what the web form reuses)", () => {
  it("accepts a valid MARKETING template and defaults parameterFormat", () => {
    const r = createTemplateBody.safeParse({
      channelId: "00000000-0000-4000-8000-000000000000",
      name: "spring_sale",
      language: "en_US",
      category: "MARKETING",
      components: marketing.components,
    });
    expect(r.success, JSON.stringify(r.error?.issues)).toBe(true);
    expect(r.data?.parameterFormat).toBe("POSITIONAL");
  });

  it("quick replies must be grouped", () => {
    const r = createTemplateBody.safeParse({
      channelId: "00000000-0000-4000-8000-000000000000",
      name: "x",
      language: "en",
      category: "MARKETING",
      components: [
        { type: "BODY", text: "Hello." },
        {
          type: "BUTTONS",
          buttons: [
            { type: "QUICK_REPLY", text: "a" },
            { type: "URL", text: "b", url: "https://e.example" },
            { type: "QUICK_REPLY", text: "c" },
          ],
        },
      ],
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["components", 1, "buttons"]);
    expect(r.error?.issues[0]?.message).toMatch(/grouped/);
  });
});
