-- AlterTable
ALTER TABLE "Project" ADD COLUMN     "contentTtlDays" INTEGER,
ADD COLUMN     "organizationId" TEXT NOT NULL DEFAULT 'default',
ADD COLUMN     "retentionMode" TEXT,
ADD COLUMN     "traceTtlDays" INTEGER;

-- AlterTable
ALTER TABLE "Span" ADD COLUMN     "retained" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "Trace" ADD COLUMN     "retained" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "Organization" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "retentionMode" TEXT,
    "contentTtlDays" INTEGER,
    "traceTtlDays" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Organization_pkey" PRIMARY KEY ("id")
);

-- Projects that existed before organizations belong to the default organization.
ALTER TABLE "Project" ALTER COLUMN "organizationId" DROP DEFAULT;
INSERT INTO "Organization" ("id", "name") SELECT 'default', 'Default organization' WHERE EXISTS (SELECT 1 FROM "Project");

-- Spans written before retention rules kept their content.
UPDATE "Span" SET "retained" = true;
UPDATE "Trace" SET "retained" = true WHERE "rootSpanId" IS NOT NULL;

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "keyHash" TEXT NOT NULL,
    "scopes" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_keyHash_key" ON "ApiKey"("keyHash");

-- CreateIndex
CREATE INDEX "ApiKey_projectId_createdAt_idx" ON "ApiKey"("projectId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Project_organizationId_name_key" ON "Project"("organizationId", "name");

-- CreateIndex
CREATE INDEX "Span_projectId_retained_startTime_idx" ON "Span"("projectId", "retained", "startTime");
