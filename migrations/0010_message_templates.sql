CREATE TABLE "message_templates" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"channel_id" uuid NOT NULL,
	"waba_id" text NOT NULL,
	"name" text NOT NULL,
	"language" text NOT NULL,
	"category" text NOT NULL,
	"parameter_format" text DEFAULT 'POSITIONAL' NOT NULL,
	"components" jsonb NOT NULL,
	"status" text NOT NULL,
	"rejection_reason" text,
	"meta_id" text,
	"meta_edited_at" timestamp with time zone,
	"created_by_member_id" uuid,
	"updated_by_member_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "message_templates_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
ALTER TABLE "message_templates" ADD CONSTRAINT "message_templates_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "message_templates" ADD CONSTRAINT "message_templates_channel_fk" FOREIGN KEY ("org_id","channel_id") REFERENCES "public"."wa_channels"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "message_templates_org_waba_name_lang_key" ON "message_templates" USING btree ("org_id","waba_id","name","language");--> statement-breakpoint
CREATE INDEX "message_templates_org_name_idx" ON "message_templates" USING btree ("org_id","name","id");--> statement-breakpoint
CREATE INDEX "message_templates_org_meta_id_idx" ON "message_templates" USING btree ("org_id","meta_id");