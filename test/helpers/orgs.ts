import type net from "node:net";
import { eq } from "drizzle-orm";
import { type ParsedMail, simpleParser } from "mailparser";
import { generate } from "otplib";
import { SMTPServer } from "smtp-server";
import type { Db } from "../../src/server/db/client.js";
import { memberRoles, memberships, users } from "../../src/server/db/schema/index.js";
import { hashPassword } from "../../src/server/modules/auth/passwords.js";
import { createSession } from "../../src/server/modules/auth/sessions.js";
import { STRONG_PASSWORD, type TestApp, type TestClient, uniqueEmail } from "./app.js";

/**
 * Fixtures of the organization tests. Organizations are created through the API (the
 * route under test); extra people are inserted straight into the database with one
 * precomputed argon2 hash of STRONG_PASSWORD, so they can re-authenticate without paying
 * for a hash each.
 */
let passwordHash: Promise<string> | null = null;
const strongHash = () => {
  passwordHash ??= hashPassword(STRONG_PASSWORD);
  return passwordHash;
};

export const STRONG = STRONG_PASSWORD;
export const TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

export interface Person {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  token: string;
  client: TestClient;
}

export async function person(
  t: TestApp,
  over: Partial<{ email: string; firstName: string; lastName: string; twoFactor: boolean; verified: boolean }> = {},
): Promise<Person> {
  const db = t.database.db;
  const [u] = await db
    .insert(users)
    .values({
      email: over.email ?? uniqueEmail("org"),
      passwordHash: await strongHash(),
      firstName: over.firstName ?? "Pat",
      lastName: over.lastName ?? "Person",
      emailVerifiedAt: over.verified === false ? null : new Date(),
      ...(over.twoFactor ? { totpSecret: TOTP_SECRET, totpEnabledAt: new Date() } : {}),
    })
    .returning();
  const session = await createSession(db, {
    userId: u!.id,
    ip: "127.0.0.1",
    userAgent: "vitest",
    twoFactorVerified: Boolean(over.twoFactor),
    idleTtlMs: 3_600_000,
  });
  const client = t.client();
  client.bearer = session.token;
  return { id: u!.id, email: u!.email, firstName: u!.firstName, lastName: u!.lastName, token: session.token, client };
}

export interface OrgFixture {
  orgId: string;
  owner: Person;
  ownerMemberId: string;
}

/** An organization created through POST /orgs by a new owner. */
export async function orgWithOwner(t: TestApp, name = "Acme", ownerOver: Parameters<typeof person>[1] = {}) {
  const owner = await person(t, { firstName: "Olive", lastName: "Owner", ...ownerOver });
  const res = await owner.client.post("/api/v1/orgs", { name });
  if (res.statusCode !== 201) throw new Error(`create org failed: ${res.statusCode} ${res.body}`);
  const body = res.json();
  return { orgId: body.id as string, owner, ownerMemberId: body.membership.memberId as string } satisfies OrgFixture;
}

/** A new person who is a member of the organization with these roles (inserted directly). */
export async function memberWith(
  t: TestApp,
  orgId: string,
  roleIds: string[] = [],
  over: Parameters<typeof person>[1] = {},
): Promise<Person & { memberId: string }> {
  const p = await person(t, over);
  const db = t.database.db;
  const [m] = await db
    .insert(memberships)
    .values({ orgId, userId: p.id, firstName: p.firstName, lastName: p.lastName })
    .returning();
  if (roleIds.length)
    await db.insert(memberRoles).values(roleIds.map((roleId) => ({ orgId, memberId: m!.id, roleId })));
  return { ...p, memberId: m!.id };
}

/** A current TOTP code for TOTP_SECRET. */
export function totpNow(): Promise<string> {
  return generate({ secret: TOTP_SECRET });
}

export async function userRow(db: Db, id: string) {
  const [u] = await db.select().from(users).where(eq(users.id, id));
  return u!;
}

/** The accept link's token from a mail body. */
export function inviteTokenFrom(text: string, appUrl: string): string {
  const m = new RegExp(`${appUrl.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/invite/([A-Za-z0-9_-]+)`).exec(text);
  if (!m) throw new Error(`no invite link in: ${text}`);
  return m[1]!;
}

/** A real SMTP server (smtp-server + mailparser) collecting what the app sends. */
export class MailCatcher {
  readonly messages: ParsedMail[] = [];
  private waiters: (() => void)[] = [];
  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  static async start(): Promise<MailCatcher> {
    let self: MailCatcher | null = null;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      logger: false,
      onData(stream, _session, callback) {
        simpleParser(stream)
          .then((mail) => {
            self?.messages.push(mail);
            for (const w of self?.waiters.splice(0) ?? []) w();
            callback();
          })
          .catch((err: Error) => callback(err));
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    self = new MailCatcher(server, (server.server.address() as net.AddressInfo).port);
    return self;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** The first message to `to` (already received or arriving later; the test timeout is the backstop). */
  async waitFor(to: string): Promise<ParsedMail> {
    for (;;) {
      const found = this.messages.find((m) => JSON.stringify(m.to).includes(to));
      if (found) return found;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
