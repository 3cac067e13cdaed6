/**
 * The server's rules for acting on a member, asked before an action is offered (issue 18, High 3):
 * the owner is protected, nobody removes themself (that is leaving) or changes their own roles, and
 * one acts only on members whose every role one may grant (no escalation, outranking; the server
 * lists those roles as `grantableRoles` in GET /orgs/:orgId/me). A page that lists members (or,
 * later, assigns roles elsewhere) asks `memberActions(member)` from the org context.
 */
import { SYSTEM_ROLES } from "../../shared/permissions.js";
import i18n from "./i18n.js";
import { permissionsOf } from "./session.js";
import type { OrgMe, RoleRef } from "./types.js";

export interface MemberLike {
  memberId: string;
  userId?: string;
  isOwner: boolean;
  roleIds?: string[];
  roles?: RoleRef[];
}

export interface MemberActions {
  /** Names (and roles, unless `changeRoles` is false) can be edited. */
  update: boolean;
  /** The member's roles can be changed (not one's own). */
  changeRoles: boolean;
  remove: boolean;
}

export function memberActionsOf(me: OrgMe): (m: MemberLike) => MemberActions {
  const can = permissionsOf(me);
  const grantable = new Set((me.grantableRoles ?? []).map((r) => r.id));
  return (m) => {
    const self = m.memberId === me.memberId;
    const ids = m.roleIds ?? m.roles?.map((r) => r.id) ?? [];
    const outranked = me.isOwner || ids.every((id) => grantable.has(id));
    const editable = !m.isOwner && outranked;
    return {
      update: can("members:update") && editable,
      changeRoles: can("members:update") && editable && !self,
      remove: can("members:remove") && editable && !self,
    };
  };
}

/** Display names of roles: system roles translated, custom ones by the names the caller can see. */
export function roleLabeller(me: OrgMe, roles: RoleRef[] | undefined): (id: string) => string {
  const names = new Map<string, string>();
  for (const r of [...(roles ?? []), ...(me.roles ?? []), ...(me.grantableRoles ?? [])]) names.set(r.id, r.name);
  return (id) => {
    if (SYSTEM_ROLES.some((r) => r.id === id)) return i18n.t(`systemRoles.${id}.name`);
    return names.get(id) ?? i18n.t("team.customRole");
  };
}
