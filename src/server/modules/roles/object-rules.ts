import type { OrgMember } from "../../http/request-context.js";

/**
 * Object-level rules: what a member may do with one particular object, beyond the
 * route-level permission the guard has already checked. Pure functions of the loaded
 * member (as the guard loaded it for this request) and the object's relevant fields, so the chat module
 * can call them on every conversation it reads or changes, and filter lists with the
 * same logic (`conversationVisibility`).
 */
export type RuleMember = Pick<OrgMember, "memberId" | "isOwner" | "permissions">;

export interface ConversationRef {
  /** The member the conversation is assigned to, or null when unassigned. */
  assigneeMemberId: string | null;
}

/** Organization settings the rules depend on (the settings issue makes them editable). */
export interface InboxRuleSettings {
  /** `chats:read_assigned` members also see the unassigned queue. */
  operatorsSeeUnassigned: boolean;
}

/** Until the settings issue lands: operators see only what is assigned to them (DESIGN §7.3). */
export const DEFAULT_INBOX_RULE_SETTINGS: InboxRuleSettings = { operatorsSeeUnassigned: false };

/**
 * `chats:read_all` sees every conversation; `chats:read_assigned` only those assigned to oneself
 * (plus the unassigned ones when `operatorsSeeUnassigned` is on).
 */
export function canReadConversation(
  member: RuleMember,
  conversation: ConversationRef,
  settings: InboxRuleSettings = DEFAULT_INBOX_RULE_SETTINGS,
): boolean {
  if (member.isOwner || member.permissions.has("chats:read_all")) return true;
  if (!member.permissions.has("chats:read_assigned")) return false;
  if (conversation.assigneeMemberId === null) return settings.operatorsSeeUnassigned;
  return conversation.assigneeMemberId === member.memberId;
}

/** Holds a permission that lets one read conversations (a possible assignee). */
export function holdsChatRead(member: Pick<RuleMember, "isOwner" | "permissions">): boolean {
  return member.isOwner || member.permissions.has("chats:read_all") || member.permissions.has("chats:read_assigned");
}

/**
 * `chats:reply` in a conversation one can read; one assigned to somebody else needs
 * `chats:assign` too (DESIGN §7.3).
 */
export function canReplyConversation(
  member: RuleMember,
  conversation: ConversationRef,
  settings: InboxRuleSettings = DEFAULT_INBOX_RULE_SETTINGS,
): boolean {
  if (member.isOwner) return true;
  if (!member.permissions.has("chats:reply") || !canReadConversation(member, conversation, settings)) return false;
  const someoneElse = conversation.assigneeMemberId !== null && conversation.assigneeMemberId !== member.memberId;
  return !someoneElse || member.permissions.has("chats:assign");
}

/**
 * Assigning, reassigning or unassigning: `chats:assign` for any conversation. Without it,
 * a member who can read an unassigned conversation may take it for themselves (and no one else).
 */
export function canAssignConversation(
  member: RuleMember,
  conversation: ConversationRef,
  toMemberId: string | null,
): boolean {
  if (member.isOwner || member.permissions.has("chats:assign")) return true;
  return (
    conversation.assigneeMemberId === null &&
    toMemberId === member.memberId &&
    member.permissions.has("chats:read_all") &&
    member.permissions.has("chats:reply")
  );
}

/**
 * How a conversation list must be filtered for this member: every conversation, only
 * those assigned to them, or none. The list query applies it as a WHERE clause, so a
 * list never shows what `canReadConversation` would refuse.
 */
export function conversationVisibility(
  member: RuleMember,
  settings: InboxRuleSettings = DEFAULT_INBOX_RULE_SETTINGS,
): { kind: "all" } | { kind: "assignedTo"; memberId: string; orUnassigned: boolean } | { kind: "none" } {
  if (member.isOwner || member.permissions.has("chats:read_all")) return { kind: "all" };
  if (member.permissions.has("chats:read_assigned")) {
    return { kind: "assignedTo", memberId: member.memberId, orUnassigned: settings.operatorsSeeUnassigned };
  }
  return { kind: "none" };
}
