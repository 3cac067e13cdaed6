CREATE TABLE "conversations" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"channel_id" uuid NOT NULL,
	"contact_id" uuid NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"assignee_member_id" uuid,
	"team_id" uuid,
	"priority" integer DEFAULT 0 NOT NULL,
	"snoozed_until" timestamp with time zone,
	"last_inbound_at" timestamp with time zone,
	"last_message_at" timestamp with time zone DEFAULT now() NOT NULL,
	"preview" text,
	"version" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "conversations_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "messages" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"conversation_id" uuid NOT NULL,
	"channel_id" uuid NOT NULL,
	"contact_id" uuid NOT NULL,
	"direction" text NOT NULL,
	"kind" text DEFAULT 'message' NOT NULL,
	"wamid" text,
	"type" text NOT NULL,
	"body" text,
	"payload" jsonb NOT NULL,
	"status" text NOT NULL,
	"error_code" integer,
	"error_title" text,
	"error_details" text,
	"client_msg_id" text,
	"priority" integer DEFAULT 0 NOT NULL,
	"sender_member_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"read_at" timestamp with time zone,
	"failed_at" timestamp with time zone,
	CONSTRAINT "messages_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "wa_channels" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"mode" text NOT NULL,
	"phone_number_id" text NOT NULL,
	"waba_id" text NOT NULL,
	"display_phone_number" text NOT NULL,
	"access_token_enc" text NOT NULL,
	"app_secret_enc" text NOT NULL,
	"verify_token_enc" text NOT NULL,
	"webhook_key" text NOT NULL,
	"mps_limit" integer DEFAULT 80 NOT NULL,
	"verified_name" text,
	"quality_rating" text,
	"last_tested_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "wa_channels_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "wa_webhook_events" (
	"org_id" uuid NOT NULL,
	"id" bigserial NOT NULL,
	"channel_id" uuid NOT NULL,
	"body_sha256" text NOT NULL,
	"body" text NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"processed_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"error" text,
	"outcome" text,
	CONSTRAINT "wa_webhook_events_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_org_id_channel_id_wa_channels_org_id_id_fk" FOREIGN KEY ("org_id","channel_id") REFERENCES "public"."wa_channels"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_org_id_contact_id_contacts_org_id_id_fk" FOREIGN KEY ("org_id","contact_id") REFERENCES "public"."contacts"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_org_id_assignee_member_id_memberships_org_id_id_fk" FOREIGN KEY ("org_id","assignee_member_id") REFERENCES "public"."memberships"("org_id","id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_org_id_conversation_id_conversations_org_id_id_fk" FOREIGN KEY ("org_id","conversation_id") REFERENCES "public"."conversations"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "wa_channels" ADD CONSTRAINT "wa_channels_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "wa_webhook_events" ADD CONSTRAINT "wa_webhook_events_org_id_channel_id_wa_channels_org_id_id_fk" FOREIGN KEY ("org_id","channel_id") REFERENCES "public"."wa_channels"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "conversations_live_key" ON "conversations" USING btree ("org_id","channel_id","contact_id") WHERE "conversations"."status" <> 'resolved';--> statement-breakpoint
CREATE INDEX "conversations_org_status_last_idx" ON "conversations" USING btree ("org_id","status","last_message_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "conversations_org_assignee_idx" ON "conversations" USING btree ("org_id","assignee_member_id","status","last_message_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "conversations_org_contact_idx" ON "conversations" USING btree ("org_id","contact_id");--> statement-breakpoint
CREATE UNIQUE INDEX "messages_org_wamid_key" ON "messages" USING btree ("org_id","wamid") WHERE "messages"."wamid" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "messages_org_client_msg_id_key" ON "messages" USING btree ("org_id","client_msg_id") WHERE "messages"."client_msg_id" is not null;--> statement-breakpoint
CREATE INDEX "messages_thread_idx" ON "messages" USING btree ("org_id","conversation_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "wa_channels_webhook_key_key" ON "wa_channels" USING btree ("webhook_key");--> statement-breakpoint
CREATE UNIQUE INDEX "wa_channels_phone_number_id_key" ON "wa_channels" USING btree ("phone_number_id");--> statement-breakpoint
CREATE INDEX "wa_channels_org_created_idx" ON "wa_channels" USING btree ("org_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "wa_webhook_events_body_key" ON "wa_webhook_events" USING btree ("org_id","channel_id","body_sha256");--> statement-breakpoint
CREATE INDEX "wa_webhook_events_unprocessed_idx" ON "wa_webhook_events" USING btree ("org_id","received_at") WHERE "wa_webhook_events"."processed_at" is null;