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

/** `chats:read_all` sees every conversation; `chats:read_assigned` only those assigned to oneself. */
export function canReadConversation(member: RuleMember, conversation: ConversationRef): boolean {
  if (member.isOwner || member.permissions.has("chats:read_all")) return true;
  return (
    member.permissions.has("chats:read_assigned") &&
    conversation.assigneeMemberId !== null &&
    conversation.assigneeMemberId === member.memberId
  );
}

/** `chats:reply` in a conversation one can read. */
export function canReplyConversation(member: RuleMember, conversation: ConversationRef): boolean {
  return (member.isOwner || member.permissions.has("chats:reply")) && canReadConversation(member, conversation);
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
): { kind: "all" } | { kind: "assignedTo"; memberId: string } | { kind: "none" } {
  if (member.isOwner || member.permissions.has("chats:read_all")) return { kind: "all" };
  if (member.permissions.has("chats:read_assigned")) return { kind: "assignedTo", memberId: member.memberId };
  return { kind: "none" };
}
