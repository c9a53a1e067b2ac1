-- CreateTable
CREATE TABLE "Organization" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "retentionMode" TEXT,
    "contentTtlDays" INTEGER,
    "traceTtlDays" INTEGER,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- The organization of the projects that existed before organizations.
INSERT INTO "Organization" ("id", "name") SELECT 'default', 'Default organization' WHERE EXISTS (SELECT 1 FROM "Project");

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "projectId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "keyHash" TEXT NOT NULL,
    "scopes" JSONB NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" DATETIME,
    "revokedAt" DATETIME
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Project" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "organizationId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "retentionMode" TEXT,
    "contentTtlDays" INTEGER,
    "traceTtlDays" INTEGER,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
-- Projects that existed before organizations belong to the default organization.
INSERT INTO "new_Project" ("createdAt", "id", "name", "organizationId") SELECT "createdAt", "id", "name", 'default' FROM "Project";
DROP TABLE "Project";
ALTER TABLE "new_Project" RENAME TO "Project";
CREATE UNIQUE INDEX "Project_organizationId_name_key" ON "Project"("organizationId", "name");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_keyHash_key" ON "ApiKey"("keyHash");

-- CreateIndex
CREATE INDEX "ApiKey_projectId_createdAt_idx" ON "ApiKey"("projectId", "createdAt");

-- AlterTable: added in place rather than by copying the tables
ALTER TABLE "Span" ADD COLUMN "retained" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "Trace" ADD COLUMN "retained" BOOLEAN NOT NULL DEFAULT false;

-- Spans written before retention rules kept their content.
UPDATE "Span" SET "retained" = true;
UPDATE "Trace" SET "retained" = true WHERE "rootSpanId" IS NOT NULL;

-- CreateIndex
CREATE INDEX "Span_projectId_retained_startTime_idx" ON "Span"("projectId", "retained", "startTime");
