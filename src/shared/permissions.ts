/**
 * The permission catalogue: the single source of truth for what can be granted,
 * shared by the server (enforcement) and the web app (showing controls).
 * Order matters only for display; permission sets are bitmasks over CATALOGUE indices.
 */

export const PERMISSION_GROUPS = [
  "team",
  "organization",
  "templates",
  "broadcasts",
  "contacts",
  "chats",
  "automations",
] as const;
export type PermissionGroup = (typeof PERMISSION_GROUPS)[number];

export const PERMISSION_GROUP_LABELS: Record<PermissionGroup, string> = {
  team: "Team",
  organization: "Organization",
  templates: "Templates",
  broadcasts: "Broadcasts",
  contacts: "Contacts",
  chats: "Chats",
  automations: "Automations",
};

export interface PermissionDef {
  key: string;
  group: PermissionGroup;
  label: string;
  description: string;
}

export const CATALOGUE = [
  {
    key: "members:read",
    group: "team",
    label: "View members",
    description: "See the member list: emails, roles, status, last activity, invitations.",
  },
  {
    key: "members:invite",
    group: "team",
    label: "Invite members",
    description: "Invite members; resend and revoke invitations.",
  },
  { key: "members:update", group: "team", label: "Edit members", description: "Edit member details and roles." },
  {
    key: "members:remove",
    group: "team",
    label: "Remove members",
    description: "Remove members (revokes access at once).",
  },
  { key: "roles:read", group: "team", label: "View roles", description: "See roles and their permissions." },
  { key: "roles:manage", group: "team", label: "Manage roles", description: "Create, edit and delete custom roles." },
  {
    key: "org:update",
    group: "organization",
    label: "Edit organization",
    description: "Edit the organization profile and its security policy.",
  },
  {
    key: "settings:read",
    group: "organization",
    label: "View settings",
    description: "See workspace settings: WhatsApp numbers, integrations, webhooks.",
  },
  {
    key: "settings:manage",
    group: "organization",
    label: "Manage settings",
    description: "Change workspace settings: WhatsApp numbers, integrations, webhooks.",
  },
  {
    key: "billing:read",
    group: "organization",
    label: "View billing",
    description: "See the plan, seats and invoices.",
  },
  {
    key: "billing:manage",
    group: "organization",
    label: "Manage billing",
    description: "Change the plan and seats, pay invoices.",
  },
  {
    key: "audit:read",
    group: "organization",
    label: "View audit data",
    description: "Activity log, login activity, access review, exports.",
  },
  { key: "templates:read", group: "templates", label: "View templates", description: "See message templates." },
  {
    key: "templates:manage",
    group: "templates",
    label: "Manage templates",
    description: "Create, edit and delete message templates.",
  },
  {
    key: "broadcasts:read",
    group: "broadcasts",
    label: "View broadcasts",
    description: "See broadcasts and their performance.",
  },
  {
    key: "broadcasts:manage",
    group: "broadcasts",
    label: "Manage broadcasts",
    description: "Create and edit broadcasts.",
  },
  {
    key: "broadcasts:send",
    group: "broadcasts",
    label: "Send broadcasts",
    description: "Send broadcasts to contacts.",
  },
  { key: "contacts:read", group: "contacts", label: "View contacts", description: "See contacts, lists and tags." },
  {
    key: "contacts:manage",
    group: "contacts",
    label: "Manage contacts",
    description: "Create, edit and delete contacts, lists and tags.",
  },
  {
    key: "contacts:import_export",
    group: "contacts",
    label: "Import and export contacts",
    description: "Bulk import and export of contacts.",
  },
  {
    key: "chats:read_assigned",
    group: "chats",
    label: "Read assigned chats",
    description: "See conversations assigned to oneself.",
  },
  { key: "chats:read_all", group: "chats", label: "Read all chats", description: "See every conversation." },
  {
    key: "chats:reply",
    group: "chats",
    label: "Reply to chats",
    description: "Send messages in conversations one can read.",
  },
  {
    key: "chats:assign",
    group: "chats",
    label: "Assign chats",
    description: "Assign, reassign and unassign conversations of anyone.",
  },
  {
    key: "chats:analytics",
    group: "chats",
    label: "Chat analytics",
    description: "See chat performance: response times, SLAs.",
  },
  {
    key: "automations:read",
    group: "automations",
    label: "View automations",
    description: "See BotFlows and automations.",
  },
  {
    key: "automations:manage",
    group: "automations",
    label: "Manage automations",
    description: "Create, edit and delete BotFlows and automations.",
  },
] as const satisfies readonly PermissionDef[];

export type Permission = (typeof CATALOGUE)[number]["key"];
export const PERMISSIONS: readonly Permission[] = CATALOGUE.map((p) => p.key);

/** Never grantable through a role: only the owner flag carries them. */
export const OWNER_ONLY_PERMISSIONS = ["org:delete", "org:transfer"] as const;
export type OwnerOnlyPermission = (typeof OWNER_ONLY_PERMISSIONS)[number];

export const OWNER_ONLY_CATALOGUE: readonly { key: OwnerOnlyPermission; label: string; description: string }[] = [
  { key: "org:delete", label: "Delete organization", description: "Delete the organization and all its data." },
  {
    key: "org:transfer",
    label: "Transfer ownership",
    description: "Hand the organization over to another member, who becomes its owner.",
  },
];

export function isOwnerOnlyPermission(value: string): value is OwnerOnlyPermission {
  return (OWNER_ONLY_PERMISSIONS as readonly string[]).includes(value);
}

/** The catalogue grouped for display, groups in PERMISSION_GROUPS order. */
export function groupedCatalogue(): { key: PermissionGroup; label: string; permissions: PermissionDef[] }[] {
  return PERMISSION_GROUPS.map((g) => ({
    key: g,
    label: PERMISSION_GROUP_LABELS[g],
    permissions: CATALOGUE.filter((p) => p.group === g).map((p) => ({ ...p })),
  }));
}

export function isPermission(value: string): value is Permission {
  return INDEX.has(value as Permission);
}

const INDEX = new Map<Permission, number>(PERMISSIONS.map((key, i) => [key, i]));

const byPrefix = (prefix: string): Permission[] => PERMISSIONS.filter((p) => p.startsWith(`${prefix}:`));

export const SYSTEM_ROLES = [
  {
    id: "administrator",
    name: "Administrator",
    description: "Full access: manages users, roles, settings and everything else.",
    permissions: [...PERMISSIONS],
  },
  {
    id: "template_manager",
    name: "Template Manager",
    description: "Creates, edits and manages message templates.",
    permissions: byPrefix("templates"),
  },
  {
    id: "broadcast_manager",
    name: "Broadcast Manager",
    description: "Creates and sends broadcasts and monitors their performance.",
    permissions: [...byPrefix("broadcasts"), "templates:read", "contacts:read"],
  },
  {
    id: "contact_manager",
    name: "Contact Manager",
    description: "Adds, edits and organizes contacts.",
    permissions: byPrefix("contacts"),
  },
  {
    id: "operator",
    name: "Operator",
    description: "Answers the customer chats assigned to them.",
    permissions: ["chats:read_assigned", "chats:reply"],
  },
  {
    id: "chat_manager",
    name: "Chat Manager",
    description: "Routes and monitors conversations, assigns them to operators.",
    permissions: [...byPrefix("chats"), "members:read"],
  },
  {
    id: "automation_manager",
    name: "Automation Manager",
    description: "Builds BotFlows and automations.",
    permissions: [...byPrefix("automations"), "templates:read"],
  },
] as const satisfies readonly { id: string; name: string; description: string; permissions: readonly Permission[] }[];

export type SystemRoleId = (typeof SYSTEM_ROLES)[number]["id"];
export const SYSTEM_ROLE_IDS: readonly SystemRoleId[] = SYSTEM_ROLES.map((r) => r.id);
export function isSystemRoleId(id: string): id is SystemRoleId {
  return SYSTEM_ROLE_IDS.includes(id as SystemRoleId);
}

/**
 * Custom role ids are `role_` + 16 lowercase base-32 characters (80 random bits): no
 * system role id starts with `role_`, so the two can never collide.
 */
export const CUSTOM_ROLE_ID_PREFIX = "role_";
export const CUSTOM_ROLE_ID_PATTERN = /^role_[a-z2-7]{16}$/;

/**
 * The quick role picker of the invite dialog, most restrictive first: the web app
 * pre-selects the first entry.
 */
export const QUICK_ROLE_PICKER: readonly { roleId: SystemRoleId; hint: string }[] = [
  { roleId: "operator", hint: "Only replies to customer chats" },
  { roleId: "chat_manager", hint: "Routes and monitors chats" },
  { roleId: "automation_manager", hint: "Builds BotFlows and automations" },
  { roleId: "template_manager", hint: "Manages templates" },
  { roleId: "broadcast_manager", hint: "Runs broadcasts" },
  { roleId: "contact_manager", hint: "Maintains contacts" },
  { roleId: "administrator", hint: "Manages settings and users" },
];

/**
 * A set of catalogue permissions as a bitmask. 27 permissions fit one 32-bit word
 * today; the catalogue may grow, so words are an array. Checks are a shift and an
 * AND: no allocation, no lookup beyond one Map hit.
 */
export class PermissionSet {
  private constructor(private readonly words: Uint32Array) {}

  static readonly WORDS = Math.ceil(PERMISSIONS.length / 32);

  static empty(): PermissionSet {
    return new PermissionSet(new Uint32Array(PermissionSet.WORDS));
  }

  static all(): PermissionSet {
    return PermissionSet.of(PERMISSIONS);
  }

  static of(perms: Iterable<string>): PermissionSet {
    const words = new Uint32Array(PermissionSet.WORDS);
    for (const p of perms) {
      const i = INDEX.get(p as Permission);
      if (i !== undefined) words[i >>> 5] = (words[i >>> 5] as number) | (1 << (i & 31));
    }
    return new PermissionSet(words);
  }

  /** Every permission of `perms` is in this set. */
  hasAll(perms: readonly Permission[]): boolean {
    for (const p of perms) if (!this.has(p)) return false;
    return true;
  }

  has(p: Permission): boolean {
    const i = INDEX.get(p);
    if (i === undefined) return false;
    return ((this.words[i >>> 5] as number) & (1 << (i & 31))) !== 0;
  }

  union(other: PermissionSet): PermissionSet {
    const words = new Uint32Array(PermissionSet.WORDS);
    for (let w = 0; w < words.length; w++) words[w] = (this.words[w] as number) | (other.words[w] as number);
    return new PermissionSet(words);
  }

  /** Permissions of this set that are not in `other`. */
  minus(other: PermissionSet): PermissionSet {
    const words = new Uint32Array(PermissionSet.WORDS);
    for (let w = 0; w < words.length; w++) words[w] = (this.words[w] as number) & ~(other.words[w] as number);
    return new PermissionSet(words);
  }

  /** Permissions in this set that `held` lacks: non-empty means granting this set is an escalation. */
  missingFrom(held: PermissionSet): Permission[] {
    return this.toArray().filter((p) => !held.has(p));
  }

  get size(): number {
    return this.toArray().length;
  }

  toArray(): Permission[] {
    return PERMISSIONS.filter((p) => this.has(p));
  }
}

const SYSTEM_ROLE_SETS = new Map<string, PermissionSet>(
  SYSTEM_ROLES.map((r) => [r.id, PermissionSet.of(r.permissions)]),
);

export function systemRolePermissions(id: string): PermissionSet | undefined {
  return SYSTEM_ROLE_SETS.get(id);
}

/** Effective permissions of a member: the owner holds all; otherwise the union of the roles' sets. */
export function effectivePermissions(isOwner: boolean, roleSets: Iterable<PermissionSet>): PermissionSet {
  if (isOwner) return PermissionSet.all();
  let acc = PermissionSet.empty();
  for (const s of roleSets) acc = acc.union(s);
  return acc;
}
