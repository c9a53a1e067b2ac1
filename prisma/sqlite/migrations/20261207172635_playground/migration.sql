-- CreateTable
CREATE TABLE "ModelProvider" (
    "projectId" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "baseUrl" TEXT,
    "apiKeyCipher" TEXT,
    "headersCipher" TEXT,
    "headerNames" JSONB NOT NULL,
    "models" JSONB NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,

    PRIMARY KEY ("projectId", "id")
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Trace" (
    "projectId" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL DEFAULT '',
    "status" TEXT NOT NULL,
    "startTime" DATETIME NOT NULL,
    "endTime" DATETIME,
    "durationMs" REAL,
    "spanCount" INTEGER NOT NULL DEFAULT 0,
    "totalTokens" INTEGER NOT NULL DEFAULT 0,
    "cost" REAL NOT NULL DEFAULT 0,
    "composition" JSONB NOT NULL,
    "tags" JSONB NOT NULL,
    "meta" JSONB,
    "rootSpanId" TEXT,
    "inputPreview" TEXT,
    "outputPreview" TEXT,
    "spanSeq" INTEGER NOT NULL DEFAULT 0,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "retained" BOOLEAN NOT NULL DEFAULT false,
    "openCount" INTEGER NOT NULL DEFAULT 0,
    "errorCount" INTEGER NOT NULL DEFAULT 0,
    "tagCounts" JSONB,
    "sessionId" TEXT,
    "generationInputPreview" TEXT,
    "generationInputSpanId" TEXT,
    "generationInputStart" DATETIME,
    "generationOutputPreview" TEXT,
    "generationOutputSpanId" TEXT,
    "generationOutputStart" DATETIME,
    "origin" TEXT NOT NULL DEFAULT 'APP',
    "sourceTraceId" TEXT,
    "sourceSpanId" TEXT,

    PRIMARY KEY ("projectId", "id")
);
INSERT INTO "new_Trace" ("composition", "cost", "createdAt", "durationMs", "endTime", "errorCount", "generationInputPreview", "generationInputSpanId", "generationInputStart", "generationOutputPreview", "generationOutputSpanId", "generationOutputStart", "id", "inputPreview", "meta", "name", "openCount", "outputPreview", "projectId", "retained", "rootSpanId", "sessionId", "spanCount", "spanSeq", "startTime", "status", "tagCounts", "tags", "totalTokens", "updatedAt") SELECT "composition", "cost", "createdAt", "durationMs", "endTime", "errorCount", "generationInputPreview", "generationInputSpanId", "generationInputStart", "generationOutputPreview", "generationOutputSpanId", "generationOutputStart", "id", "inputPreview", "meta", "name", "openCount", "outputPreview", "projectId", "retained", "rootSpanId", "sessionId", "spanCount", "spanSeq", "startTime", "status", "tagCounts", "tags", "totalTokens", "updatedAt" FROM "Trace";
DROP TABLE "Trace";
ALTER TABLE "new_Trace" RENAME TO "Trace";
CREATE INDEX "Trace_projectId_startTime_id_idx" ON "Trace"("projectId", "startTime" DESC, "id" DESC);
CREATE INDEX "Trace_projectId_status_startTime_idx" ON "Trace"("projectId", "status", "startTime" DESC);
CREATE INDEX "Trace_projectId_durationMs_id_idx" ON "Trace"("projectId", "durationMs", "id");
CREATE INDEX "Trace_projectId_cost_id_idx" ON "Trace"("projectId", "cost", "id");
CREATE INDEX "Trace_projectId_totalTokens_id_idx" ON "Trace"("projectId", "totalTokens", "id");
CREATE INDEX "Trace_projectId_sessionId_startTime_id_idx" ON "Trace"("projectId", "sessionId", "startTime" DESC, "id" DESC);
CREATE INDEX "Trace_projectId_origin_startTime_id_idx" ON "Trace"("projectId", "origin", "startTime" DESC, "id" DESC);
CREATE INDEX "Trace_projectId_sourceTraceId_startTime_id_idx" ON "Trace"("projectId", "sourceTraceId", "startTime" DESC, "id" DESC);
CREATE UNIQUE INDEX "Trace_projectId_rootSpanId_key" ON "Trace"("projectId", "rootSpanId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
