ALTER TABLE "login_attempts" ADD COLUMN "device_id" uuid;--> statement-breakpoint
ALTER TABLE "login_attempts" ADD COLUMN "cleared_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "login_attempts_device_idx" ON "login_attempts" USING btree ("device_id","at");