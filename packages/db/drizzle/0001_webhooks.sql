CREATE TABLE "webhooks" (
	"webhook_sid" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"account_sid" uuid NOT NULL,
	"url" text NOT NULL,
	"types" text[],
	"secret" text NOT NULL,
	"date_created" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "webhooks" ADD CONSTRAINT "webhooks_account_sid_accounts_account_sid_fk" FOREIGN KEY ("account_sid") REFERENCES "public"."accounts"("account_sid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "webhooks_account_sid_idx" ON "webhooks" USING btree ("account_sid");