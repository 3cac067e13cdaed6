-- Removing a member must not fail on their conversations: the generated SET NULL on the
-- composite key (org_id, assignee_member_id) would null org_id too (NOT NULL: the removal
-- fails). SET NULL on the one column (PostgreSQL 15+), as tags' team key does. The inbox
-- returns a removed member's open conversations to the queue itself (with a system line);
-- this only covers resolved ones and any other path.
ALTER TABLE "conversations" DROP CONSTRAINT "conversations_org_id_assignee_member_id_memberships_org_id_id_fk";--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_org_id_assignee_member_id_memberships_org_id_id_fk" FOREIGN KEY ("org_id", "assignee_member_id")
  REFERENCES "public"."memberships"("org_id", "id") ON DELETE SET NULL ("assignee_member_id");
