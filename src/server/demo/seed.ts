import { and, eq, sql } from "drizzle-orm";
import { SYSTEM_ROLES, type SystemRoleId } from "../../shared/permissions.js";
import type { AppContext } from "../context.js";
import type { Db, DbOrTx } from "../db/client.js";
import { invitations, memberships, organizations, users } from "../db/schema/index.js";
import type { Actor, AuthUser } from "../http/request-context.js";
import { hashPassword, verifyPassword } from "../modules/auth/passwords.js";
import { authUserColumns, revokeSession, toAuthUser } from "../modules/auth/sessions.js";
import { acceptInvitation } from "../modules/invitations/accept.js";
import { inviteOne, revokeInvitation } from "../modules/invitations/service.js";
import type { Outbox } from "../modules/mail/outbox.js";
import type { Locale, TemplateData, TemplateName } from "../modules/mail/templates.js";
import { loadMember } from "../modules/members/load-member.js";
import { createOrg } from "../modules/orgs/service.js";
import { roleIdsOfMember } from "../modules/roles/repo.js";
import { seedWhatsAppDemo } from "./whatsapp.js";
import { seedWorkspace } from "./workspace.js";

/**
 * SEED_DEMO=1: a demo organization whose owner and one member per system role have
 * verified accounts with a known password, built through the same services as the API
 * (createOrg, inviteOne, acceptInvitation), so the activity log reads like a real team's:
 * org.created, then member.invited + member.joined for each member.
 *
 * Idempotent and safe with several instances starting at once: the whole seed runs in one
 * transaction under an advisory lock, and finds what an earlier start created (accounts by
 * email, the organization by name among those the demo owner owns, members by email).
 * Nothing existing is changed: a demo account whose password was changed keeps it (the
 * table says so), a member whose roles were edited keeps them (the table shows the roles held).
 */

export const DEMO_ORG_NAME = "Acme Support (demo)";
export const DEMO_EMAIL_DOMAIN = "demo.chorus.localhost";
/** Every demo account's password (not in the common-password list, ≥ 10 characters). */
export const DEMO_PASSWORD = "acme-support-demo";

// Any constant: it only has to be the same for every instance of the app.
const DEMO_SEED_LOCK_KEY = 7_283_114_002;

export interface DemoPersona {
  /** "owner" or the system role the member holds. */
  key: "owner" | SystemRoleId;
  email: string;
  firstName: string;
  lastName: string;
}

const NAMES: Record<DemoPersona["key"], [string, string]> = {
  owner: ["Olivia", "Owner"],
  administrator: ["Ada", "Admin"],
  template_manager: ["Tara", "Templates"],
  broadcast_manager: ["Bruno", "Broadcasts"],
  contact_manager: ["Carla", "Contacts"],
  operator: ["Oscar", "Operator"],
  chat_manager: ["Chen", "Chats"],
  automation_manager: ["Aiko", "Automations"],
};

/** The owner, then one persona per system role, in SYSTEM_ROLES order. */
export const DEMO_PERSONAS: readonly DemoPersona[] = (["owner", ...SYSTEM_ROLES.map((r) => r.id)] as const).map(
  (key) => ({ key, email: `${key}@${DEMO_EMAIL_DOMAIN}`, firstName: NAMES[key][0], lastName: NAMES[key][1] }),
);

export interface DemoAccount extends DemoPersona {
  userId: string;
  memberId: string;
  isOwner: boolean;
  /** The roles the member holds now (an earlier demo session may have changed them). */
  roleIds: string[];
  /** Created by this run (false: found from an earlier start). */
  created: boolean;
  /** DEMO_PASSWORD still signs this account in. */
  passwordWorks: boolean;
  twoFactorEnabled: boolean;
}

export interface DemoSeedResult {
  orgId: string;
  orgCreated: boolean;
  accounts: DemoAccount[];
}

export interface SeedDemoOptions {
  /** Where the credentials table goes; standard output by default. */
  print?: (text: string) => void;
}

export async function seedDemo(ctx: AppContext, opts: SeedDemoOptions = {}): Promise<DemoSeedResult> {
  if (ctx.config.nodeEnv === "production") {
    ctx.log.warn(
      "SEED_DEMO is on in production: the demo accounts have a published password. They belong only to the demo organization.",
    );
  }
  const result = await ctx.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${DEMO_SEED_LOCK_KEY})`);
    // The services open their own transactions: on `tx` they become savepoints of this one.
    return seedIn({ ...ctx, db: tx as unknown as Db });
  });
  const print = opts.print ?? ((text: string) => process.stdout.write(text));
  print(credentialsTable(ctx.config.appUrl, result));
  const created = result.accounts.filter((a) => a.created).length;
  ctx.log.info(
    { orgId: result.orgId, orgCreated: result.orgCreated, accountsCreated: created },
    result.orgCreated || created ? "demo organization seeded" : "demo organization already seeded",
  );
  return result;
}

const SEED_CLIENT = { ip: null, userAgent: "SEED_DEMO" };

async function seedIn(ctx: AppContext): Promise<DemoSeedResult> {
  const [ownerPersona, ...rolePersonas] = DEMO_PERSONAS as [DemoPersona, ...DemoPersona[]];
  const owner = await ensureVerifiedAccount(ctx.db, ownerPersona);
  const ownerActor = actorFor(owner.user);

  let orgId = await findDemoOrg(ctx.db, owner.user.id);
  const orgCreated = !orgId;
  if (!orgId) {
    const org = await createOrg(ctx, owner.user, ownerActor, {
      name: DEMO_ORG_NAME,
      defaultLanguage: "en",
      timezone: "UTC",
    });
    orgId = org.id;
  }
  const ownerMember = await loadMember(ctx.db, orgId, owner.user.id);
  if (!ownerMember?.isOwner) throw new Error("SEED_DEMO: the demo owner is not the owner of the demo organization");

  const accounts: DemoAccount[] = [await describe(ctx.db, orgId, ownerPersona, owner.created)];
  const links = invitationLinks(ctx.outbox);
  for (const persona of rolePersonas) {
    if (await memberIdByEmail(ctx.db, orgId, persona.email)) {
      accounts.push(await describe(ctx.db, orgId, persona, false));
      continue;
    }
    // Someone (a demo visitor) may have invited this address by hand: that invitation gives way.
    const [pending] = await ctx.db
      .select({ id: invitations.id })
      .from(invitations)
      .where(
        and(eq(invitations.orgId, orgId), eq(invitations.email, persona.email), eq(invitations.status, "pending")),
      );
    if (pending) await revokeInvitation(ctx, ownerMember, ownerActor, pending.id);

    await inviteOne({ ...ctx, outbox: links.outbox }, ownerMember, ownerActor, {
      email: persona.email,
      firstName: persona.firstName,
      lastName: persona.lastName,
      roleIds: [persona.key],
    });
    const token = links.take(persona.email);
    const existing = await accountByEmail(ctx.db, persona.email);
    const accepted = await acceptInvitation(
      ctx,
      token,
      existing ? { user: existing } : null,
      existing ? {} : { password: DEMO_PASSWORD },
      SEED_CLIENT,
      { ...ownerActor, type: "user", userAgent: SEED_CLIENT.userAgent },
    );
    // Accepting signs a new account in; nobody holds that session's token, so it goes.
    if (accepted.session) await revokeSession(ctx.db, accepted.userId, accepted.session.id);
    accounts.push(await describe(ctx.db, orgId, persona, !existing));
  }
  const memberIds: Record<string, string | null> = {};
  for (const persona of rolePersonas) memberIds[persona.key] = await memberIdByEmail(ctx.db, orgId, persona.email);
  await seedWorkspace(ctx, ownerMember, ownerActor, memberIds);
  await seedWhatsAppDemo(ctx, orgId, ownerActor);
  return { orgId, orgCreated, accounts };
}

function actorFor(user: AuthUser): Actor {
  return {
    type: "user",
    id: user.id,
    name: `${user.firstName} ${user.lastName}`.trim(),
    ip: null,
    userAgent: SEED_CLIENT.userAgent,
    requestId: null,
  };
}

const userColumns = { id: users.id, ...authUserColumns, passwordHash: users.passwordHash };

async function userRowByEmail(db: DbOrTx, email: string) {
  const [row] = await db.select(userColumns).from(users).where(eq(users.email, email)).limit(1);
  return row ?? null;
}

async function accountByEmail(db: DbOrTx, email: string): Promise<AuthUser | null> {
  const row = await userRowByEmail(db, email);
  return row ? toAuthUser(row) : null;
}

/**
 * The owner's account: there is no service that creates an account already verified (sign-up
 * mails a link), so it is inserted here the way invitation acceptance inserts one: argon2id
 * hash, email verified.
 */
async function ensureVerifiedAccount(db: DbOrTx, p: DemoPersona): Promise<{ user: AuthUser; created: boolean }> {
  const found = await accountByEmail(db, p.email);
  if (found) return { user: found, created: false };
  await db
    .insert(users)
    .values({
      email: p.email,
      passwordHash: await hashPassword(DEMO_PASSWORD),
      firstName: p.firstName,
      lastName: p.lastName,
      language: "en",
      emailVerifiedAt: sql`now()`,
    })
    .onConflictDoNothing();
  const user = await accountByEmail(db, p.email);
  if (!user) throw new Error(`SEED_DEMO: could not create ${p.email}`);
  return { user, created: true };
}

/** The demo organization: the oldest one named DEMO_ORG_NAME that the demo owner owns. */
/**
 * The demo organization is the oldest one the demo owner account owns, whatever it is called
 * now: a visitor may rename it, or create more organizations with the published account.
 */
async function findDemoOrg(db: DbOrTx, ownerUserId: string): Promise<string | null> {
  const [row] = await db
    .select({ id: organizations.id })
    .from(organizations)
    .innerJoin(memberships, eq(memberships.orgId, organizations.id))
    .where(and(eq(memberships.userId, ownerUserId), eq(memberships.isOwner, true)))
    .orderBy(organizations.createdAt, organizations.id)
    .limit(1);
  return row?.id ?? null;
}

async function memberIdByEmail(db: DbOrTx, orgId: string, email: string): Promise<string | null> {
  const [row] = await db
    .select({ id: memberships.id })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.orgId, orgId), eq(users.email, email)))
    .limit(1);
  return row?.id ?? null;
}

async function describe(db: DbOrTx, orgId: string, persona: DemoPersona, created: boolean): Promise<DemoAccount> {
  const [row] = await db
    .select({ ...userColumns, memberId: memberships.id, isOwner: memberships.isOwner })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.orgId, orgId), eq(users.email, persona.email)))
    .limit(1);
  if (!row) throw new Error(`SEED_DEMO: ${persona.email} is not a member of the demo organization`);
  return {
    ...persona,
    userId: row.id,
    memberId: row.memberId,
    isOwner: row.isOwner,
    roleIds: (await roleIdsOfMember(db, orgId, row.memberId)).sort(),
    created,
    // An account created now has the demo password; one found from an earlier start is checked.
    passwordWorks: created || (await verifyPassword(row.passwordHash, DEMO_PASSWORD)),
    twoFactorEnabled: row.totpEnabledAt !== null,
  };
}

/**
 * The outbox the seed hands to inviteOne: it keeps the invitation link (the seed accepts it at
 * once, so mailing it to a demo address would only fill the mailbox) and passes any other
 * message on to the real outbox (it is the real outbox, but for invitations).
 */
function invitationLinks(outbox: Outbox) {
  const tokens = new Map<string, string>();
  const keeping = Object.create(outbox) as Outbox;
  keeping.enqueue = async <N extends TemplateName>(
    tx: DbOrTx,
    msg: { to: string; template: N; data: TemplateData<N>; locale: Locale; orgId?: string | null },
  ): Promise<string> => {
    if (msg.template !== "invitation") return outbox.enqueue(tx, msg);
    const url = (msg.data as TemplateData<"invitation">).url;
    tokens.set(msg.to, url.slice(url.lastIndexOf("/") + 1));
    return "";
  };
  return {
    outbox: keeping,
    take(email: string): string {
      const token = tokens.get(email);
      if (!token) throw new Error(`SEED_DEMO: no invitation link for ${email}`);
      tokens.delete(email);
      return token;
    },
  };
}

/** The credentials as a plain-text table, for the console. */
export function credentialsTable(appUrl: string, result: DemoSeedResult): string {
  const rows = result.accounts.map((a) => [
    a.isOwner ? "owner" : a.roleIds.join(", ") || "(no role)",
    `${a.firstName} ${a.lastName}`,
    a.email,
    (a.passwordWorks ? DEMO_PASSWORD : "(changed since seeding)") + (a.twoFactorEnabled ? " + 2FA" : ""),
  ]);
  const header = ["role", "name", "email", "password"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i]!)).join("  ")}`.trimEnd();
  return [
    "",
    `Demo organization "${DEMO_ORG_NAME}" (${result.orgId}): sign in at ${appUrl}/signin with`,
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    "",
    "",
  ].join("\n");
}
