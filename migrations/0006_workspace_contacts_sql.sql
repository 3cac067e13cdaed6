-- A team-specific tag names a team of its own organization; deleting the team keeps the tag
-- (it becomes an organization-wide tag). Drizzle cannot express SET NULL on one column of a
-- composite key (PostgreSQL 15+), so the constraint is written here.
ALTER TABLE "tags" ADD CONSTRAINT "tags_org_id_team_id_teams_fk" FOREIGN KEY ("org_id", "team_id")
  REFERENCES "public"."teams"("org_id", "id") ON DELETE SET NULL ("team_id");
--> statement-breakpoint
-- Search indexes (src/server/modules/contacts/query.ts): a phone prefix (`like '+1555%'`, any
-- collation) or a name prefix (collation "C") finds its matches and their sort keys in the index
-- alone (INCLUDE), so the first page of a selective search is ranked without reading the table.
CREATE INDEX "contacts_org_phone_search_idx" ON "contacts" USING btree ("org_id", "phone" text_pattern_ops)
  INCLUDE ("id", "created_at", "last_message_at", "name");
--> statement-breakpoint
CREATE INDEX "contacts_org_name_search_idx" ON "contacts" USING btree ("org_id", (lower(coalesce("name", '')) COLLATE "C"))
  INCLUDE ("id", "created_at", "last_message_at", "name");
