ALTER TABLE "oidc_clients" ADD COLUMN "resources" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "oidc_consents" ADD COLUMN "resources" text[] DEFAULT '{}'::text[] NOT NULL;