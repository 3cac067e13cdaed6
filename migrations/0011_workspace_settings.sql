CREATE TABLE "workspace_settings" (
	"org_id" uuid PRIMARY KEY NOT NULL,
	"timezone" text NOT NULL,
	"business_hours" jsonb NOT NULL,
	"operators_see_unassigned" boolean NOT NULL,
	"assignment" jsonb NOT NULL,
	"default_language" text NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_by" uuid
);
--> statement-breakpoint
ALTER TABLE "workspace_settings" ADD CONSTRAINT "workspace_settings_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;