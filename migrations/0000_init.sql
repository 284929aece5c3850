CREATE TABLE "assignments" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"job_id" bigint NOT NULL,
	"lease_id" uuid NOT NULL,
	"worker_id" uuid NOT NULL,
	"volunteer_id" bigint NOT NULL,
	"state" text DEFAULT 'leased' NOT NULL,
	"leased_at" timestamp with time zone NOT NULL,
	"lease_deadline" timestamp with time zone NOT NULL,
	"heartbeat_at" timestamp with time zone,
	"progress" jsonb,
	"ended_at" timestamp with time zone,
	"end_reason" text,
	"fail_reason" text,
	"fail_detail" text,
	"validate_state" text DEFAULT 'pending' NOT NULL,
	CONSTRAINT "assignments_state_check" CHECK ("assignments"."state" in ('leased', 'completed', 'failed', 'expired', 'released')),
	CONSTRAINT "assignments_validate_state_check" CHECK ("assignments"."validate_state" in ('pending', 'valid', 'invalid', 'inconclusive', 'too_late'))
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"payload" jsonb NOT NULL,
	"state" text DEFAULT 'queued' NOT NULL,
	"requires" text[] DEFAULT '{}'::text[] NOT NULL,
	"priority" integer DEFAULT 0 NOT NULL,
	"shuffle_key" integer DEFAULT floor(random() * 2147483647)::int NOT NULL,
	"replicas" integer DEFAULT 1 NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"leased" integer DEFAULT 0 NOT NULL,
	"completed" integer DEFAULT 0 NOT NULL,
	"failures" integer DEFAULT 0 NOT NULL,
	"max_failures" integer DEFAULT 5 NOT NULL,
	"run_after" timestamp with time zone DEFAULT now() NOT NULL,
	"errors" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"source" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "jobs_state_check" CHECK ("jobs"."state" in ('queued', 'active', 'completed', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "results" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"assignment_id" bigint NOT NULL,
	"job_id" bigint NOT NULL,
	"volunteer_id" bigint NOT NULL,
	"kind" text NOT NULL,
	"body" jsonb NOT NULL,
	"body_bytes" integer NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"assimilated" boolean DEFAULT false NOT NULL,
	"seconds" double precision
);
--> statement-breakpoint
CREATE TABLE "volunteers" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"nickname" text NOT NULL,
	"team" text,
	"token_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "workers" (
	"id" uuid PRIMARY KEY NOT NULL,
	"volunteer_id" bigint NOT NULL,
	"kind" text NOT NULL,
	"capabilities" jsonb NOT NULL,
	"client_version" text NOT NULL,
	"protocol_version" integer NOT NULL,
	"address" text,
	"user_agent" text,
	"coordinator_id" text,
	"connected_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"disconnected_at" timestamp with time zone,
	CONSTRAINT "workers_kind_check" CHECK ("workers"."kind" in ('browser', 'node'))
);
--> statement-breakpoint
ALTER TABLE "assignments" ADD CONSTRAINT "assignments_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "assignments" ADD CONSTRAINT "assignments_worker_id_workers_id_fk" FOREIGN KEY ("worker_id") REFERENCES "public"."workers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "assignments" ADD CONSTRAINT "assignments_volunteer_id_volunteers_id_fk" FOREIGN KEY ("volunteer_id") REFERENCES "public"."volunteers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "results" ADD CONSTRAINT "results_assignment_id_assignments_id_fk" FOREIGN KEY ("assignment_id") REFERENCES "public"."assignments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "results" ADD CONSTRAINT "results_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "results" ADD CONSTRAINT "results_volunteer_id_volunteers_id_fk" FOREIGN KEY ("volunteer_id") REFERENCES "public"."volunteers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workers" ADD CONSTRAINT "workers_volunteer_id_volunteers_id_fk" FOREIGN KEY ("volunteer_id") REFERENCES "public"."volunteers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "assignments_lease_id" ON "assignments" USING btree ("lease_id");--> statement-breakpoint
CREATE INDEX "assignments_job" ON "assignments" USING btree ("job_id");--> statement-breakpoint
CREATE INDEX "assignments_expiry" ON "assignments" USING btree ("lease_deadline") WHERE "assignments"."state" = 'leased';--> statement-breakpoint
CREATE INDEX "assignments_worker_leased" ON "assignments" USING btree ("worker_id") WHERE "assignments"."state" = 'leased';--> statement-breakpoint
CREATE INDEX "jobs_claim" ON "jobs" USING btree ("priority" DESC NULLS LAST,"shuffle_key") WHERE "jobs"."state" = 'queued';--> statement-breakpoint
CREATE INDEX "jobs_state" ON "jobs" USING btree ("state");--> statement-breakpoint
CREATE UNIQUE INDEX "results_assignment" ON "results" USING btree ("assignment_id");--> statement-breakpoint
CREATE INDEX "results_job" ON "results" USING btree ("job_id");--> statement-breakpoint
CREATE UNIQUE INDEX "volunteers_nickname_lower" ON "volunteers" USING btree (lower("nickname"));--> statement-breakpoint
CREATE UNIQUE INDEX "volunteers_token_hash" ON "volunteers" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "workers_online" ON "workers" USING btree ("last_seen_at") WHERE "workers"."disconnected_at" is null;