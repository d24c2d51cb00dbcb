-- Hand edit: dids_did_group_fk and meeting_rooms_did_group_fk narrowed to SET NULL ("did_group_sid") (PostgreSQL 15+), see src/schema/dids.ts.

CREATE TABLE "accounts" (
	"account_sid" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"endpoint_sid" uuid NOT NULL,
	"login" text NOT NULL,
	"password_hash" text NOT NULL,
	"name" text DEFAULT 'N/A' NOT NULL,
	"call_flow_sid" uuid,
	"attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"date_created" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "accounts_endpoint_sid_unique" UNIQUE("endpoint_sid"),
	CONSTRAINT "accounts_login_unique" UNIQUE("login")
);
--> statement-breakpoint
CREATE TABLE "call_flows" (
	"call_flow_sid" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"attributes" jsonb NOT NULL,
	CONSTRAINT "call_flows_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "did_groups" (
	"did_group_sid" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"account_sid" uuid NOT NULL,
	"name" text DEFAULT 'N/A' NOT NULL,
	"call_flow_sid" uuid,
	"attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"date_created" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "did_groups_account_sid_did_group_sid_unique" UNIQUE("account_sid","did_group_sid")
);
--> statement-breakpoint
CREATE TABLE "dids" (
	"did_sid" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"account_sid" uuid NOT NULL,
	"phonenumber" text NOT NULL,
	"did_group_sid" uuid,
	"call_flow_sid" uuid,
	"attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"country_code" text,
	"in_country_format" text NOT NULL,
	"international_format" text NOT NULL,
	"date_created" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "dids_phonenumber_unique" UNIQUE("phonenumber"),
	CONSTRAINT "dids_phonenumber_check" CHECK ("dids"."phonenumber" ~ '^[0-9]{1,15}$')
);
--> statement-breakpoint
CREATE TABLE "endpoints" (
	"endpoint_sid" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"type" text DEFAULT 'conference' NOT NULL,
	"partner_sid" uuid NOT NULL,
	"attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "endpoints_type_check" CHECK ("endpoints"."type" in ('conference'))
);
--> statement-breakpoint
CREATE TABLE "access_codes" (
	"meeting_room_sid" uuid NOT NULL,
	"account_sid" uuid NOT NULL,
	"access_code" text NOT NULL,
	"role" text NOT NULL,
	"position" integer NOT NULL,
	CONSTRAINT "access_codes_pkey" PRIMARY KEY("meeting_room_sid","position"),
	CONSTRAINT "access_codes_account_sid_access_code_unique" UNIQUE("account_sid","access_code"),
	CONSTRAINT "access_codes_role_check" CHECK ("access_codes"."role" in ('host', 'participant', 'listener')),
	CONSTRAINT "access_codes_access_code_check" CHECK ("access_codes"."access_code" ~ '^[0-9*#]{1,32}$'),
	CONSTRAINT "access_codes_position_check" CHECK ("access_codes"."position" >= 0)
);
--> statement-breakpoint
CREATE TABLE "meeting_rooms" (
	"meeting_room_sid" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"account_sid" uuid NOT NULL,
	"name" text DEFAULT 'N/A' NOT NULL,
	"did_group_sid" uuid,
	"attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"date_created" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "meeting_rooms_meeting_room_sid_account_sid_unique" UNIQUE("meeting_room_sid","account_sid")
);
--> statement-breakpoint
CREATE TABLE "trunk_prefixes" (
	"prefix_sid" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"prefix" text NOT NULL,
	"account_sid" uuid NOT NULL,
	"date_created" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "trunk_prefixes_prefix_unique" UNIQUE("prefix"),
	CONSTRAINT "trunk_prefixes_prefix_check" CHECK ("trunk_prefixes"."prefix" ~ '^[0-9]{1,15}$')
);
--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_endpoint_sid_endpoints_endpoint_sid_fk" FOREIGN KEY ("endpoint_sid") REFERENCES "public"."endpoints"("endpoint_sid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_call_flow_sid_call_flows_call_flow_sid_fk" FOREIGN KEY ("call_flow_sid") REFERENCES "public"."call_flows"("call_flow_sid") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "did_groups" ADD CONSTRAINT "did_groups_account_sid_accounts_account_sid_fk" FOREIGN KEY ("account_sid") REFERENCES "public"."accounts"("account_sid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "did_groups" ADD CONSTRAINT "did_groups_call_flow_sid_call_flows_call_flow_sid_fk" FOREIGN KEY ("call_flow_sid") REFERENCES "public"."call_flows"("call_flow_sid") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dids" ADD CONSTRAINT "dids_account_sid_accounts_account_sid_fk" FOREIGN KEY ("account_sid") REFERENCES "public"."accounts"("account_sid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dids" ADD CONSTRAINT "dids_call_flow_sid_call_flows_call_flow_sid_fk" FOREIGN KEY ("call_flow_sid") REFERENCES "public"."call_flows"("call_flow_sid") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dids" ADD CONSTRAINT "dids_did_group_fk" FOREIGN KEY ("account_sid","did_group_sid") REFERENCES "public"."did_groups"("account_sid","did_group_sid") ON DELETE SET NULL ("did_group_sid") ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "access_codes" ADD CONSTRAINT "access_codes_meeting_room_fk" FOREIGN KEY ("meeting_room_sid","account_sid") REFERENCES "public"."meeting_rooms"("meeting_room_sid","account_sid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meeting_rooms" ADD CONSTRAINT "meeting_rooms_account_sid_accounts_account_sid_fk" FOREIGN KEY ("account_sid") REFERENCES "public"."accounts"("account_sid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meeting_rooms" ADD CONSTRAINT "meeting_rooms_did_group_fk" FOREIGN KEY ("account_sid","did_group_sid") REFERENCES "public"."did_groups"("account_sid","did_group_sid") ON DELETE SET NULL ("did_group_sid") ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trunk_prefixes" ADD CONSTRAINT "trunk_prefixes_account_sid_accounts_account_sid_fk" FOREIGN KEY ("account_sid") REFERENCES "public"."accounts"("account_sid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "dids_account_sid_idx" ON "dids" USING btree ("account_sid");--> statement-breakpoint
CREATE INDEX "meeting_rooms_account_sid_idx" ON "meeting_rooms" USING btree ("account_sid");