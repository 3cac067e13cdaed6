// `npm run sim:inbound -- --channel <id> --from <phone> --text "hi" [--dup N] [--burst N] [--bad-signature]`
//
// Posts Meta-shaped, HMAC-SHA256-signed `messages` webhooks at a running Chorus, as Meta would:
// --burst N distinct messages (in parallel), each posted --dup N times in parallel (Meta's
// at-least-once redelivery), or signed with a wrong secret (--bad-signature: expect 401).
//
// The channel's webhook id and app secret come from the database (DATABASE_URL, PostgreSQL;
// decrypted with SECRET_KEY) or from --webhook-url and --secret (copy them from the channel; a
// PGlite data directory is never opened while the server holds it).
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { and, eq, ilike, or } from "drizzle-orm";
import { loadConfigOrExit } from "../../../config.js";
import { openDatabase } from "../../../db/client.js";
import { waChannels } from "../../../db/schema/index.js";
import { isUuidShaped } from "../../../lib/uuid.js";
import { appSecretOf } from "../../channels/repo.js";
import { signBody } from "../webhook-routes.js";

const { values } = parseArgs({
  options: {
    channel: { type: "string" },
    from: { type: "string", default: "15551230001" },
    text: { type: "string", default: "hi" },
    name: { type: "string", default: "Sim Customer" },
    dup: { type: "string", default: "1" },
    burst: { type: "string", default: "1" },
    "bad-signature": { type: "boolean", default: false },
    secret: { type: "string" },
    "webhook-url": { type: "string" },
    "phone-number-id": { type: "string" },
    url: { type: "string" },
  },
});

const config = loadConfigOrExit(process.env);
const base = (values.url ?? `http://127.0.0.1:${config.port}`).replace(/\/+$/, "");

async function channelFromDatabase(ref: string) {
  if (!config.databaseUrl) {
    throw new Error(
      "No DATABASE_URL: pass --webhook-url, --secret and --phone-number-id (the embedded database is not opened while the server runs).",
    );
  }
  const database = await openDatabase({ url: config.databaseUrl, poolSize: 1 });
  try {
    const [row] = await database.db
      .select()
      .from(waChannels)
      .where(
        isUuidShaped(ref)
          ? eq(waChannels.id, ref)
          : and(or(ilike(waChannels.name, `%${ref}%`), eq(waChannels.phoneNumberId, ref))),
      )
      .limit(1);
    if (!row) throw new Error(`No channel matches ${ref}.`);
    return {
      path: `/api/v1/webhooks/whatsapp/${row.webhookKey}`,
      secret: appSecretOf(config, row),
      phoneNumberId: row.phoneNumberId,
      display: row.displayPhoneNumber,
    };
  } finally {
    await database.close();
  }
}

const channel =
  values["webhook-url"] && values.secret && values["phone-number-id"]
    ? {
        path: new URL(values["webhook-url"]).pathname,
        secret: values.secret,
        phoneNumberId: values["phone-number-id"],
        display: "",
      }
    : await channelFromDatabase(values.channel ?? "");
const secret = values["bad-signature"] ? `${channel.secret}-wrong` : channel.secret;
const from = String(values.from).replace(/\D/g, "");
const burst = Math.max(1, Number(values.burst));
const dup = Math.max(1, Number(values.dup));

const payloads = Array.from({ length: burst }, (_, i) =>
  JSON.stringify({
    object: "whatsapp_business_account",
    entry: [
      {
        id: "0",
        changes: [
          {
            field: "messages",
            value: {
              messaging_product: "whatsapp",
              metadata: {
                display_phone_number: channel.display.replace(/\D/g, ""),
                phone_number_id: channel.phoneNumberId,
              },
              contacts: [{ profile: { name: values.name }, wa_id: from }],
              messages: [
                {
                  from,
                  id: `wamid.${Buffer.from(`CLI${randomBytes(10).toString("hex")}`).toString("base64")}`,
                  timestamp: String(Math.floor(Date.now() / 1000)),
                  type: "text",
                  text: { body: burst > 1 ? `${values.text} #${i + 1}` : values.text },
                },
              ],
            },
          },
        ],
      },
    ],
  }),
);

const started = performance.now();
const codes = new Map<number, number>();
await Promise.all(
  payloads.flatMap((body) =>
    Array.from({ length: dup }, async () => {
      const res = await fetch(`${base}${channel.path}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-hub-signature-256": signBody(body, secret) },
        body,
      }).catch(() => null);
      const code = res?.status ?? 0;
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }),
  ),
);
const ms = performance.now() - started;
const summary = [...codes].map(([c, n]) => `${n}× ${c === 0 ? "network error" : c}`).join(", ");
process.stdout.write(
  `${burst} message(s) × ${dup} deliver(ies) to ${base}${channel.path.replace(/[0-9a-f]{32}$/, "…")}: ${summary} in ${ms.toFixed(0)} ms\n`,
);
process.exit(codes.has(200) && codes.size === 1 ? 0 : values["bad-signature"] && codes.has(401) ? 0 : 1);
