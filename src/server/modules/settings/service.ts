import { eq, sql } from "drizzle-orm";
import {
  assignmentSettingsSchema,
  businessHoursSchema,
  DEFAULT_SETTINGS,
  type UpdateSettingsBody,
  type WorkspaceSettings,
} from "../../../shared/schemas/settings.js";
import type { Db, DbOrTx } from "../../db/client.js";
import { workspaceSettings } from "../../db/schema/index.js";
import { conflict } from "../../http/problem.js";
import type { Actor, OrgMember } from "../../http/request-context.js";
import { diff, recordActivity } from "../activity/record.js";

type Row = typeof workspaceSettings.$inferSelect;

export interface SettingsDto extends WorkspaceSettings {
  /** 0 while the organization has never saved settings (the defaults apply). */
  version: number;
  updatedAt: string | null;
}

// jsonb hands keys back in its own order: parsed through the schema, they compare (activity diff) as sent.
const fromRow = (r: Row): WorkspaceSettings => ({
  timezone: r.timezone,
  businessHours: businessHoursSchema.parse(r.businessHours),
  operatorsSeeUnassigned: r.operatorsSeeUnassigned,
  assignment: assignmentSettingsSchema.parse(r.assignment),
  defaultLanguage: r.defaultLanguage,
});

/**
 * The organization's workspace settings (DESIGN §7.1 `/settings`), or the defaults when it never
 * saved any. One primary-key read, not cached: visibility depends on it, and a stale copy on
 * another instance would show operators the queue after it was turned off.
 */
export async function getWorkspaceSettings(db: DbOrTx, orgId: string): Promise<WorkspaceSettings> {
  const row = await settingsRow(db, orgId);
  return row ? fromRow(row) : DEFAULT_SETTINGS;
}

async function settingsRow(db: DbOrTx, orgId: string): Promise<Row | undefined> {
  const [row] = await db.select().from(workspaceSettings).where(eq(workspaceSettings.orgId, orgId));
  return row;
}

export async function readSettings(db: DbOrTx, orgId: string): Promise<SettingsDto> {
  const row = await settingsRow(db, orgId);
  return row
    ? { ...fromRow(row), version: row.version, updatedAt: row.updatedAt.toISOString() }
    : { ...DEFAULT_SETTINGS, version: 0, updatedAt: null };
}

/** Runs in the settings change's transaction after it is written (what the change sets in motion). */
export type SettingsChanged = (tx: DbOrTx, before: WorkspaceSettings, after: WorkspaceSettings) => Promise<void>;

/**
 * Applies a partial change (nested objects replaced whole). `version`, when given, must be the
 * version the caller read (409 `settings_changed` otherwise: two admins editing at once never
 * overwrite each other silently). The activity record carries before/after of what changed;
 * `onChanged` (the routes: the assignment backlog) runs in the same transaction when something did.
 */
export async function updateSettings(
  db: Db,
  acting: Pick<OrgMember, "orgId">,
  by: Actor,
  patch: UpdateSettingsBody & { version?: number },
  onChanged?: SettingsChanged,
): Promise<SettingsDto> {
  const { version, ...changes } = patch;
  return db.transaction(async (tx) => {
    // The row exists from here on, locked: concurrent saves queue behind this one.
    await tx
      .insert(workspaceSettings)
      .values({ orgId: acting.orgId, ...DEFAULT_SETTINGS, version: 0 })
      .onConflictDoNothing();
    const [row] = await tx
      .select()
      .from(workspaceSettings)
      .where(eq(workspaceSettings.orgId, acting.orgId))
      .for("update");
    if (!row) throw new Error("workspace_settings row vanished inside its transaction");
    if (version !== undefined && version !== row.version) {
      throw conflict(
        "settings_changed",
        "The settings were changed by someone else since you loaded them; reload and apply your change again.",
      );
    }
    const before = fromRow(row);
    const changed = diff(before as unknown as Record<string, unknown>, changes);
    if (!changed) return { ...before, version: row.version, updatedAt: row.updatedAt.toISOString() };
    const [saved] = await tx
      .update(workspaceSettings)
      .set({ ...changes, version: sql`${workspaceSettings.version} + 1`, updatedAt: sql`now()`, updatedBy: by.id })
      .where(eq(workspaceSettings.orgId, acting.orgId))
      .returning();
    if (!saved) throw new Error("workspace_settings row vanished inside its transaction");
    await recordActivity(tx, by, {
      orgId: acting.orgId,
      action: "settings.updated",
      target: { type: "settings", id: acting.orgId, label: "Workspace settings" },
      changes: changed,
    });
    const after = fromRow(saved);
    await onChanged?.(tx, before, after);
    return { ...after, version: saved.version, updatedAt: saved.updatedAt.toISOString() };
  });
}
