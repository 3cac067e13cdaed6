CREATE TABLE "assignment_state" (
	"org_id" uuid PRIMARY KEY NOT NULL,
	"last_member_id" uuid,
	"assigned_count" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "member_presence" (
	"org_id" uuid NOT NULL,
	"member_id" uuid NOT NULL,
	"status" text DEFAULT 'offline' NOT NULL,
	"capacity" integer,
	"status_changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "member_presence_org_id_member_id_pk" PRIMARY KEY("org_id","member_id")
);
--> statement-breakpoint
ALTER TABLE "assignment_state" ADD CONSTRAINT "assignment_state_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "member_presence" ADD CONSTRAINT "member_presence_org_id_member_id_memberships_org_id_id_fk" FOREIGN KEY ("org_id","member_id") REFERENCES "public"."memberships"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "member_presence_online_idx" ON "member_presence" USING btree ("org_id") WHERE "member_presence"."status" = 'online';