import { eq, sql } from "drizzle-orm";
import type { AppContext } from "../context.js";
import { contacts, teams } from "../db/schema/index.js";
import type { Actor, OrgMember } from "../http/request-context.js";
import { recordActivity } from "../modules/activity/record.js";
import { bulkContacts } from "../modules/contacts/service.js";
import { createList } from "../modules/lists/service.js";
import { createTag } from "../modules/tags/service.js";
import { createTeam } from "../modules/teams/service.js";

const FIRST = [
  "Ana",
  "Bruno",
  "Camila",
  "Diego",
  "Elena",
  "Felipe",
  "Gabriela",
  "Hugo",
  "Isabel",
  "Javier",
  "Kenji",
  "Laura",
  "Mateo",
  "Nadia",
  "Omar",
  "Paula",
  "Rafael",
  "Sofía",
  "Tomás",
  "Valeria",
];
const LAST = [
  "García",
  "Martínez",
  "López",
  "Sánchez",
  "Pérez",
  "Gómez",
  "Smith",
  "Johnson",
  "Rossi",
  "Müller",
  "Silva",
  "Nguyen",
  "Kim",
  "Okafor",
  "Haddad",
];
const CITIES = ["Madrid", "Barcelona", "Mexico City", "Bogotá", "Buenos Aires", "Lisbon", "Miami", "London"];
export const DEMO_CONTACTS = 300;

/**
 * The demo organization's workspace: two teams, tags (one team-specific), two lists and a few
 * hundred contacts, through the services (so the activity log shows them), once: an
 * organization that already has a team is left as it is.
 */
export async function seedWorkspace(
  ctx: AppContext,
  owner: OrgMember,
  by: Actor,
  memberIds: Record<string, string | null>,
): Promise<void> {
  const orgId = owner.orgId;
  const [existing] = await ctx.db.select({ id: teams.id }).from(teams).where(eq(teams.orgId, orgId)).limit(1);
  if (existing) return;
  const ids = (...keys: string[]) => keys.map((k) => memberIds[k]).filter((x): x is string => Boolean(x));
  const support = await createTeam(ctx.db, owner, by, {
    name: "Support",
    description: "Answers customer chats",
    memberIds: ids("operator", "chat_manager"),
  });
  await createTeam(ctx.db, owner, by, {
    name: "Sales",
    description: "Campaigns and leads",
    memberIds: ids("broadcast_manager", "contact_manager"),
  });
  const vip = await createTag(ctx.db, owner, by, { name: "VIP", color: "#f59e0b" });
  const lead = await createTag(ctx.db, owner, by, { name: "Lead", color: "#3b82f6" });
  await createTag(ctx.db, owner, by, { name: "Customer", color: "#22c55e" });
  const escalation = await createTag(ctx.db, owner, by, { name: "Escalation", color: "#ef4444", teamId: support.id });
  const newsletter = await createList(ctx.db, owner, by, { name: "Newsletter", description: "Monthly news" });
  const spring = await createList(ctx.db, owner, by, { name: "Spring promo" });

  const rows = Array.from({ length: DEMO_CONTACTS }, (_, i) => ({
    orgId,
    // +1 555 01xx numbers are reserved for fiction; the rest of the range is made up too.
    phone: `+1555${String(1_000_000 + i * 37).slice(-7)}`,
    name: i % 17 === 0 ? null : `${FIRST[i % FIRST.length]} ${LAST[(i * 7) % LAST.length]}`,
    attributes: i % 3 === 0 ? { city: CITIES[i % CITIES.length]! } : {},
    optedOutAt: i % 29 === 0 ? new Date() : null,
    optOutSource: i % 29 === 0 ? "manual" : null,
    createdByMemberId: owner.memberId,
    updatedByMemberId: owner.memberId,
    createdAt: sql`now() - ${`${DEMO_CONTACTS - i} hours`}::interval`,
  }));
  const inserted = await ctx.db
    .insert(contacts)
    .values(rows as never)
    .onConflictDoNothing()
    .returning({ id: contacts.id });
  await recordActivity(ctx.db, by, {
    orgId,
    action: "contact.bulk_created",
    target: { type: "contact", id: null, label: `${inserted.length} contacts` },
    changes: { count: { after: inserted.length }, source: { after: "demo seed" } },
  });
  const all = inserted.map((r) => r.id);
  const every = (n: number, from = 0) => all.filter((_, i) => i % n === from);
  await bulkContacts(ctx.db, owner, by, { action: "add_tag", tagId: vip.id, contactIds: every(10) });
  await bulkContacts(ctx.db, owner, by, { action: "add_tag", tagId: lead.id, contactIds: every(4, 1) });
  await bulkContacts(ctx.db, owner, by, { action: "add_tag", tagId: escalation.id, contactIds: every(25, 3) });
  await bulkContacts(ctx.db, owner, by, { action: "add_to_list", listId: newsletter.id, contactIds: every(2) });
  await bulkContacts(ctx.db, owner, by, { action: "add_to_list", listId: spring.id, contactIds: every(5, 2) });
}
