/**
 * The events a member can be notified about, and how by default. Shared by the
 * server (PATCH /me validates against it, GET /me fills in defaults) and the web
 * settings page (one row per kind).
 */
export interface NotificationKind {
  key: NotificationKey;
  group: "team" | "security" | "workspace";
  label: string;
  description: string;
  defaults: NotificationChannels;
  /** Email cannot be turned off: a person must hear about sign-ins and credential changes. */
  emailRequired?: true;
}

export interface NotificationChannels {
  email: boolean;
  inApp: boolean;
}

export const NOTIFICATION_KEYS = [
  "invitation_accepted",
  "member_joined",
  "member_removed",
  "role_changed",
  "ownership_transferred",
  "security_alert",
  "conversation_assigned",
  "mentioned",
  "customer_replied",
  "broadcast_finished",
] as const;

export type NotificationKey = (typeof NOTIFICATION_KEYS)[number];
export type NotificationPreferences = Record<NotificationKey, NotificationChannels>;

const on = { email: true, inApp: true };
const inAppOnly = { email: false, inApp: true };

export const NOTIFICATION_KINDS: readonly NotificationKind[] = [
  {
    key: "invitation_accepted",
    group: "team",
    label: "Invitation accepted",
    description: "Someone you invited joined the organization.",
    defaults: on,
  },
  {
    key: "member_joined",
    group: "team",
    label: "Member joined",
    description: "A new member joined an organization you manage.",
    defaults: inAppOnly,
  },
  {
    key: "member_removed",
    group: "team",
    label: "Member removed",
    description: "A member was removed, or you were removed from an organization.",
    defaults: on,
  },
  {
    key: "role_changed",
    group: "team",
    label: "Roles changed",
    description: "Your roles in an organization changed.",
    defaults: on,
  },
  {
    key: "ownership_transferred",
    group: "team",
    label: "Ownership transferred",
    description: "Ownership of an organization you belong to changed hands.",
    defaults: on,
  },
  {
    key: "security_alert",
    group: "security",
    label: "Security alerts",
    description:
      "A sign-in from a new device, a password change or reset, two-factor authentication turned on or off, or a recovery code used.",
    defaults: on,
    emailRequired: true,
  },
  {
    key: "conversation_assigned",
    group: "workspace",
    label: "Conversation assigned",
    description: "A conversation was assigned to you.",
    defaults: inAppOnly,
  },
  {
    key: "mentioned",
    group: "workspace",
    label: "Mentioned in a note",
    description: "Someone mentioned you with @ in a conversation's note.",
    defaults: inAppOnly,
  },
  {
    key: "customer_replied",
    group: "workspace",
    label: "A customer wrote while you were away",
    description:
      "A customer wrote in a conversation assigned to you while you were busy or offline (once until you read it).",
    defaults: inAppOnly,
  },
  {
    key: "broadcast_finished",
    group: "workspace",
    label: "Broadcast finished",
    description: "A broadcast you sent finished delivering.",
    defaults: inAppOnly,
  },
];

/** Stored preferences (possibly partial, possibly naming retired kinds) over the defaults. */
export function resolveNotificationPreferences(
  stored: Partial<Record<string, Partial<NotificationChannels>>> | null | undefined,
): NotificationPreferences {
  const out = {} as NotificationPreferences;
  for (const kind of NOTIFICATION_KINDS) {
    const saved = stored?.[kind.key] ?? {};
    out[kind.key] = {
      email: kind.emailRequired ? true : (saved.email ?? kind.defaults.email),
      inApp: saved.inApp ?? kind.defaults.inApp,
    };
  }
  return out;
}
