import { describe, expect, it } from "vitest";
import {
  canAssignConversation,
  canReadConversation,
  canReplyConversation,
  conversationVisibility,
  type RuleMember,
} from "../../src/server/modules/roles/object-rules.js";
import {
  effectivePermissions,
  type Permission,
  PermissionSet,
  systemRolePermissions,
} from "../../src/shared/permissions.js";

const ME = "11111111-1111-4111-8111-111111111111";
const OTHER = "22222222-2222-4222-8222-222222222222";

function member(roleIds: string[], extra: Permission[] = [], isOwner = false): RuleMember {
  const sets = roleIds.map((id) => systemRolePermissions(id)!);
  return { memberId: ME, isOwner, permissions: effectivePermissions(isOwner, [...sets, PermissionSet.of(extra)]) };
}

const mine = { assigneeMemberId: ME };
const theirs = { assigneeMemberId: OTHER };
const unassigned = { assigneeMemberId: null };

describe("conversation rules", () => {
  it("an operator reads and replies only to conversations assigned to them", () => {
    const op = member(["operator"]);
    expect(canReadConversation(op, mine)).toBe(true);
    expect(canReadConversation(op, theirs)).toBe(false);
    expect(canReadConversation(op, unassigned)).toBe(false);
    expect(canReplyConversation(op, mine)).toBe(true);
    expect(canReplyConversation(op, theirs)).toBe(false);
    expect(canAssignConversation(op, unassigned, ME)).toBe(false);
    expect(conversationVisibility(op)).toEqual({ kind: "assignedTo", memberId: ME, orUnassigned: false });
    // operatorsSeeUnassigned on: the queue too, never somebody else's.
    const seeQueue = { operatorsSeeUnassigned: true };
    expect(canReadConversation(op, unassigned, seeQueue)).toBe(true);
    expect(canReadConversation(op, theirs, seeQueue)).toBe(false);
    expect(conversationVisibility(op, seeQueue)).toEqual({ kind: "assignedTo", memberId: ME, orUnassigned: true });
  });

  it("chats:read_all reads everything; replying still needs chats:reply", () => {
    const reader = member([], ["chats:read_all"]);
    for (const c of [mine, theirs, unassigned]) {
      expect(canReadConversation(reader, c)).toBe(true);
      expect(canReplyConversation(reader, c)).toBe(false);
    }
    expect(conversationVisibility(reader)).toEqual({ kind: "all" });
  });

  it("chats:reply without any read permission replies nowhere", () => {
    const replier = member([], ["chats:reply"]);
    for (const c of [mine, theirs, unassigned]) expect(canReplyConversation(replier, c)).toBe(false);
    expect(conversationVisibility(replier)).toEqual({ kind: "none" });
  });

  it("a chat manager reads, replies and assigns anything; the owner too", () => {
    for (const m of [member(["chat_manager"]), member([], [], true), member(["administrator"])]) {
      for (const c of [mine, theirs, unassigned]) {
        expect(canReadConversation(m, c)).toBe(true);
        expect(canReplyConversation(m, c)).toBe(true);
        expect(canAssignConversation(m, c, OTHER)).toBe(true);
        expect(canAssignConversation(m, c, null)).toBe(true);
      }
    }
  });

  it("reading all and replying without chats:assign: no reply in somebody else's conversation", () => {
    const m = member([], ["chats:read_all", "chats:reply"]);
    expect(canReplyConversation(m, theirs)).toBe(false);
    expect(canReplyConversation(m, mine)).toBe(true);
    expect(canReplyConversation(m, unassigned)).toBe(true);
  });

  it("without chats:assign, a member who sees all may only take an unassigned conversation for themselves", () => {
    const m = member([], ["chats:read_all", "chats:reply"]);
    expect(canAssignConversation(m, unassigned, ME)).toBe(true);
    expect(canAssignConversation(m, unassigned, OTHER)).toBe(false);
    expect(canAssignConversation(m, theirs, ME)).toBe(false);
    expect(canAssignConversation(m, mine, null)).toBe(false);
  });

  it("members without chat permissions see nothing", () => {
    for (const id of ["template_manager", "broadcast_manager", "contact_manager", "automation_manager"]) {
      const m = member([id]);
      expect(canReadConversation(m, mine), id).toBe(false);
      expect(conversationVisibility(m), id).toEqual({ kind: "none" });
    }
  });
});
