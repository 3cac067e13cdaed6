-- Message text search in the inbox (issue 15; docs/decisions.md "Inbox search"): substring
-- (ILIKE '%…%') search of message and note text through a trigram GIN index. pg_trgm is a
-- trusted contrib extension (a database owner may create it); PGlite loads it from its contrib
-- bundle (db/client.ts). A GIN trigram index cannot lead with org_id (btree_gin would be a second
-- extension): the organization is checked on the rows the index finds.
CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "messages_body_trgm_idx" ON "messages" USING gin ("body" gin_trgm_ops) WHERE "kind" <> 'system';
