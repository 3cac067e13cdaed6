CREATE TABLE "broadcast_recipients" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"broadcast_id" uuid NOT NULL,
	"seq" bigserial NOT NULL,
	"channel_id" uuid NOT NULL,
	"contact_id" uuid NOT NULL,
	"recipient" text NOT NULL,
	"contact_name" text,
	"variables" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"claim_owner" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"wamid" text,
	"error_code" integer,
	"error_title" text,
	"sent_at" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"read_at" timestamp with time zone,
	"failed_at" timestamp with time zone,
	"replied_at" timestamp with time zone,
	CONSTRAINT "broadcast_recipients_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "broadcasts" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"channel_id" uuid NOT NULL,
	"template_id" uuid,
	"variables" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"audience" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"scheduled_at" timestamp with time zone,
	"status" text DEFAULT 'draft' NOT NULL,
	"status_reason" text,
	"version" integer DEFAULT 0 NOT NULL,
	"excluded_opted_out" integer DEFAULT 0 NOT NULL,
	"excluded_duplicates" integer DEFAULT 0 NOT NULL,
	"lease_owner" text,
	"lease_until" timestamp with time zone,
	"created_by_member_id" uuid,
	"updated_by_member_id" uuid,
	"sent_by_member_id" uuid,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "broadcasts_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
ALTER TABLE "broadcast_recipients" ADD CONSTRAINT "broadcast_recipients_broadcast_fk" FOREIGN KEY ("org_id","broadcast_id") REFERENCES "public"."broadcasts"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "broadcasts" ADD CONSTRAINT "broadcasts_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "broadcasts" ADD CONSTRAINT "broadcasts_channel_fk" FOREIGN KEY ("org_id","channel_id") REFERENCES "public"."wa_channels"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "broadcast_recipients_contact_key" ON "broadcast_recipients" USING btree ("org_id","broadcast_id","contact_id");--> statement-breakpoint
CREATE INDEX "broadcast_recipients_page_idx" ON "broadcast_recipients" USING btree ("org_id","broadcast_id","seq");--> statement-breakpoint
CREATE INDEX "broadcast_recipients_queued_idx" ON "broadcast_recipients" USING btree ("org_id","broadcast_id","seq") WHERE "broadcast_recipients"."status" in ('queued', 'sending');--> statement-breakpoint
CREATE INDEX "broadcast_recipients_wamid_idx" ON "broadcast_recipients" USING btree ("org_id","wamid") WHERE "broadcast_recipients"."wamid" is not null;--> statement-breakpoint
CREATE INDEX "broadcast_recipients_contact_idx" ON "broadcast_recipients" USING btree ("org_id","contact_id");--> statement-breakpoint
CREATE INDEX "broadcasts_org_created_idx" ON "broadcasts" USING btree ("org_id","created_at","id");--> statement-breakpoint
CREATE INDEX "broadcasts_org_template_idx" ON "broadcasts" USING btree ("org_id","template_id");