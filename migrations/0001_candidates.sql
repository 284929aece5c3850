CREATE TABLE "candidates" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"key_hash" text NOT NULL,
	"url" text NOT NULL,
	"alt" text NOT NULL,
	"page_url" text NOT NULL,
	"host" text NOT NULL,
	"language" text NOT NULL,
	"language_score" double precision NOT NULL,
	"crawl" text,
	"wat_job_id" bigint,
	"state" text DEFAULT 'new' NOT NULL,
	"needs_cross_origin" boolean DEFAULT false NOT NULL,
	"url_job_id" bigint,
	"status" text,
	"http_status" integer,
	"width" integer,
	"height" integer,
	"sha256" text,
	"similarity" double precision,
	"kept" boolean,
	"embedding" text,
	"model_hash" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"scored_at" timestamp with time zone,
	CONSTRAINT "candidates_state_check" CHECK ("candidates"."state" in ('new', 'packed', 'scored'))
);
--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "assimilated_at" timestamp with time zone;--> statement-breakpoint
CREATE UNIQUE INDEX "candidates_key" ON "candidates" USING btree ("key_hash");--> statement-breakpoint
CREATE INDEX "candidates_to_pack" ON "candidates" USING btree ("needs_cross_origin","host") WHERE "candidates"."state" = 'new';--> statement-breakpoint
CREATE INDEX "candidates_url_job" ON "candidates" USING btree ("url_job_id");--> statement-breakpoint
CREATE INDEX "jobs_to_assimilate" ON "jobs" USING btree ("id") WHERE "jobs"."state" = 'completed' and "jobs"."assimilated_at" is null;