import { randomBytes } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { CUSTOM_ROLE_ID_PREFIX, type PermissionSet } from "../../../shared/permissions.js";
import type { Db, DbOrTx } from "../../db/client.js";
import { roles } from "../../db/schema/index.js";
import { AppError, badRequest, conflict, forbidden, notFound } from "../../http/problem.js";
import type { Actor, OrgMember } from "../../http/request-context.js";
import { asCreated, diff, recordActivity } from "../activity/record.js";
import { returnConversationsOfMembersWithoutChatAccess } from "../conversations/release.js";
import {
  findRoles,
  getRole,
  memberCounts,
  moveRoleHolders,
  nameTaken,
  type RoleRow,
  replaceRoleInPendingInvitations,
  roleIdsOfMember,
  rolesOfHolders,
} from "./repo.js";
import { assertNoEscalation, assertNoSelfLockout, assertOutranksHolders, parseRolePermissions } from "./rules.js";
import type { CreateRoleInput, RoleDto, UpdateRoleInput } from "./schemas.js";

type Acting = Pick<OrgMember, "orgId" | "memberId" | "isOwner" | "permissions">;

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** `role_` + 16 base-32 characters (80 random bits). System role ids never start with `role_`. */
export function newCustomRoleId(): string {
  const bytes = randomBytes(16);
  let id = CUSTOM_ROLE_ID_PREFIX;
  for (const b of bytes) id += BASE32[b & 31];
  return id;
}

export function roleDto(r: RoleRow, memberCount: number): RoleDto {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    isSystem: r.isSystem,
    permissions: r.permissions.toArray(),
    memberCount,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

const roleNameTaken = (name: string) =>
  conflict("role_name_taken", `A role named "${name}" already exists in this organization.`, { field: "name" });

/** A PostgreSQL error code, whether the driver error is thrown as is or wrapped by Drizzle. */
function pgCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 4; e = e.cause as never, i++) {
    if (typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  }
  return undefined;
}

const sameSet = (a: PermissionSet, b: PermissionSet) => a.missingFrom(b).length === 0 && b.missingFrom(a).length === 0;

/** The permission sets of the roles the actor will hold after `change`, read in the transaction. */
async function actorRolesAfter(
  tx: DbOrTx,
  actor: Acting,
  change: { roleId: string; becomes: PermissionSet | null; replacement?: PermissionSet | null },
): Promise<{ holds: boolean; sets: PermissionSet[] }> {
  const held = await roleIdsOfMember(tx, actor.orgId, actor.memberId);
  if (!held.includes(change.roleId)) return { holds: false, sets: [] };
  const others = await findRoles(
    tx,
    actor.orgId,
    held.filter((id) => id !== change.roleId),
  );
  const sets = others.map((r) => r.permissions);
  if (change.becomes) sets.push(change.becomes);
  if (change.replacement) sets.push(change.replacement);
  return { holds: true, sets };
}

export async function createRole(db: Db, actor: Acting, by: Actor, input: CreateRoleInput): Promise<RoleDto> {
  const permissions = parseRolePermissions(input.permissions);
  assertNoEscalation(actor, permissions);
  try {
    return await db.transaction(async (tx) => {
      if (await nameTaken(tx, actor.orgId, input.name)) throw roleNameTaken(input.name);
      const [row] = await tx
        .insert(roles)
        .values({
          orgId: actor.orgId,
          id: newCustomRoleId(),
          name: input.name,
          description: input.description ?? "",
          isSystem: false,
          permissions: permissions.toArray(),
        })
        .returning();
      const created = row!;
      await recordActivity(tx, by, {
        orgId: actor.orgId,
        action: "role.created",
        target: { type: "role", id: created.id, label: created.name },
        changes: asCreated({ name: created.name, description: created.description, permissions: created.permissions }),
      });
      return roleDto({ ...created, permissions }, 0);
    });
  } catch (err) {
    if (!(err instanceof AppError) && pgCode(err) === "23505") throw roleNameTaken(input.name);
    throw err;
  }
}

export async function updateRole(
  db: Db,
  actor: Acting,
  by: Actor,
  roleId: string,
  input: UpdateRoleInput,
): Promise<RoleDto> {
  const nextPermissions = input.permissions ? parseRolePermissions(input.permissions) : null;
  try {
    return await db.transaction(async (tx) => {
      const role = await getRole(tx, actor.orgId, roleId, true);
      if (!role) throw notFound("role", "role_not_found");
      if (role.isSystem) {
        throw forbidden("system_role_read_only", `${role.name} is a system role: it cannot be changed.`);
      }
      if (nextPermissions && !sameSet(nextPermissions, role.permissions)) {
        // What the edit puts into the role must be held (a grant); and since the edit changes every
        // holder's permissions, the caller must outrank each holder, as for editing them one by one.
        assertNoEscalation(actor, nextPermissions.minus(role.permissions));
        await assertOutranksHolders(tx, actor, await rolesOfHolders(tx, actor.orgId, roleId));
        const { holds, sets } = await actorRolesAfter(tx, actor, { roleId, becomes: nextPermissions });
        if (holds) assertNoSelfLockout(actor, sets);
      }
      if (input.name !== undefined && (await nameTaken(tx, actor.orgId, input.name, roleId))) {
        throw roleNameTaken(input.name);
      }
      const before = { name: role.name, description: role.description, permissions: role.permissions.toArray() };
      const after = {
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(nextPermissions ? { permissions: nextPermissions.toArray() } : {}),
      };
      const changes = diff(before, after);
      const counts = await memberCounts(tx, actor.orgId, roleId);
      if (!changes) return roleDto(role, counts.get(roleId) ?? 0); // nothing changes: no write, no record
      const [row] = await tx
        .update(roles)
        .set({ ...after, updatedAt: sql`now()` })
        .where(and(eq(roles.orgId, actor.orgId), eq(roles.id, roleId)))
        .returning();
      const updated = row!;
      // Holders left without a chat-read permission: their open conversations go back to the queue.
      if (changes.permissions) await returnConversationsOfMembersWithoutChatAccess(tx, by, actor.orgId, "all");
      await recordActivity(tx, by, {
        orgId: actor.orgId,
        action: "role.updated",
        target: { type: "role", id: roleId, label: updated.name },
        changes,
      });
      return roleDto({ ...updated, permissions: nextPermissions ?? role.permissions }, counts.get(roleId) ?? 0);
    });
  } catch (err) {
    if (!(err instanceof AppError) && pgCode(err) === "23505") throw roleNameTaken(input.name ?? "");
    throw err;
  }
}

export interface DeleteRoleResult {
  deleted: string;
  replacedWith: string | null;
  membersMoved: number;
  invitationsUpdated: number;
}

export async function deleteRole(
  db: Db,
  actor: Acting,
  by: Actor,
  roleId: string,
  replaceWith: string | undefined,
): Promise<DeleteRoleResult> {
  try {
    return await db.transaction(async (tx) => {
      // The row lock makes a concurrent assignment of this role wait, then fail on the foreign key.
      const role = await getRole(tx, actor.orgId, roleId, true);
      if (!role) throw notFound("role", "role_not_found");
      if (role.isSystem) {
        throw forbidden("system_role_read_only", `${role.name} is a system role: it cannot be deleted.`);
      }
      let replacement: RoleRow | null = null;
      if (replaceWith !== undefined) {
        if (replaceWith === roleId) {
          throw badRequest("invalid_replacement", "A role cannot be replaced by itself.", [
            { path: "replaceWith", message: "Choose another role.", in: "query" },
          ]);
        }
        replacement = await getRole(tx, actor.orgId, replaceWith);
        if (!replacement) {
          throw badRequest("unknown_role", `No such role in this organization: ${replaceWith}.`, [
            { path: "replaceWith", message: `Unknown role ${replaceWith}.`, in: "query" },
          ]);
        }
        // Moving members onto the replacement grants it to them, and takes this role away from them:
        // the caller must outrank every holder, as for changing their roles one by one.
        assertNoEscalation(actor, replacement.permissions);
        await assertOutranksHolders(tx, actor, await rolesOfHolders(tx, actor.orgId, roleId));
      }
      const holders = (await memberCounts(tx, actor.orgId, roleId)).get(roleId) ?? 0;
      if (holders > 0 && !replacement) {
        throw conflict(
          "role_in_use",
          `${holders} member${holders === 1 ? " holds" : "s hold"} this role. Name a replacement role (?replaceWith=) to delete it.`,
          { memberCount: holders },
        );
      }
      const { holds, sets } = await actorRolesAfter(tx, actor, {
        roleId,
        becomes: null,
        replacement: replacement?.permissions ?? null,
      });
      if (holds) assertNoSelfLockout(actor, sets);

      const membersMoved = await moveRoleHolders(tx, actor.orgId, roleId, replacement?.id ?? null);
      const invitationsUpdated = await replaceRoleInPendingInvitations(
        tx,
        actor.orgId,
        roleId,
        replacement?.id ?? null,
      );
      await tx.delete(roles).where(and(eq(roles.orgId, actor.orgId), eq(roles.id, roleId)));
      if (membersMoved > 0) await returnConversationsOfMembersWithoutChatAccess(tx, by, actor.orgId, "all");
      await recordActivity(tx, by, {
        orgId: actor.orgId,
        action: "role.deleted",
        target: { type: "role", id: roleId, label: role.name },
        changes: {
          name: { before: role.name },
          description: { before: role.description },
          permissions: { before: role.permissions.toArray() },
          ...(replacement ? { replacedWith: { after: { id: replacement.id, name: replacement.name } } } : {}),
          ...(membersMoved ? { membersMoved: { after: membersMoved } } : {}),
          ...(invitationsUpdated ? { invitationsUpdated: { after: invitationsUpdated } } : {}),
        },
      });
      return { deleted: roleId, replacedWith: replacement?.id ?? null, membersMoved, invitationsUpdated };
    });
  } catch (err) {
    // A member was given the role between our count and the delete (foreign key RESTRICT).
    if (!(err instanceof AppError) && pgCode(err) === "23503") {
      throw conflict("role_in_use", "Members hold this role. Name a replacement role (?replaceWith=) to delete it.");
    }
    throw err;
  }
}
