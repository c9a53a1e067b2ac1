-- AlterTable
ALTER TABLE "Trace" ADD COLUMN "sessionId" TEXT;

-- CreateTable
CREATE TABLE "Session" (
    "projectId" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "traceCount" INTEGER NOT NULL DEFAULT 0,
    "firstTime" DATETIME NOT NULL,
    "lastTime" DATETIME NOT NULL,
    "totalTokens" INTEGER NOT NULL DEFAULT 0,
    "cost" REAL NOT NULL DEFAULT 0,
    "errorCount" INTEGER NOT NULL DEFAULT 0,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,

    PRIMARY KEY ("projectId", "id")
);

-- CreateTable
CREATE TABLE "ModelPrice" (
    "projectId" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "inputPerMillion" REAL NOT NULL,
    "outputPerMillion" REAL NOT NULL,
    "cachedInputPerMillion" REAL,
    "reasoningPerMillion" REAL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,

    PRIMARY KEY ("projectId", "model")
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Span" (
    "projectId" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "traceId" TEXT NOT NULL,
    "parentId" TEXT,
    "name" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "startTime" DATETIME NOT NULL,
    "endTime" DATETIME,
    "durationMs" REAL,
    "input" JSONB,
    "output" JSONB,
    "error" TEXT,
    "meta" JSONB,
    "tags" JSONB NOT NULL,
    "score" REAL,
    "model" TEXT,
    "inputTokens" INTEGER,
    "outputTokens" INTEGER,
    "totalTokens" INTEGER,
    "cost" REAL,
    "costSource" TEXT NOT NULL DEFAULT 'UNKNOWN',
    "instructions" TEXT,
    "seq" INTEGER NOT NULL,
    "createdSeq" INTEGER NOT NULL DEFAULT 0,
    "ingestHash" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "retained" BOOLEAN NOT NULL DEFAULT false,

    PRIMARY KEY ("projectId", "id")
);
INSERT INTO "new_Span" ("cost", "createdAt", "createdSeq", "durationMs", "endTime", "error", "id", "ingestHash", "input", "inputTokens", "instructions", "meta", "model", "name", "output", "outputTokens", "parentId", "projectId", "retained", "score", "seq", "startTime", "tags", "totalTokens", "traceId", "type", "updatedAt") SELECT "cost", "createdAt", "createdSeq", "durationMs", "endTime", "error", "id", "ingestHash", "input", "inputTokens", "instructions", "meta", "model", "name", "output", "outputTokens", "parentId", "projectId", "retained", "score", "seq", "startTime", "tags", "totalTokens", "traceId", "type", "updatedAt" FROM "Span";
DROP TABLE "Span";
ALTER TABLE "new_Span" RENAME TO "Span";
CREATE INDEX "Span_projectId_traceId_startTime_idx" ON "Span"("projectId", "traceId", "startTime");
CREATE INDEX "Span_projectId_traceId_seq_idx" ON "Span"("projectId", "traceId", "seq");
CREATE INDEX "Span_projectId_traceId_endTime_idx" ON "Span"("projectId", "traceId", "endTime");
CREATE INDEX "Span_projectId_startTime_id_idx" ON "Span"("projectId", "startTime" DESC, "id" DESC);
CREATE INDEX "Span_projectId_parentId_idx" ON "Span"("projectId", "parentId");
CREATE INDEX "Span_projectId_model_idx" ON "Span"("projectId", "model");
CREATE INDEX "Span_projectId_retained_startTime_idx" ON "Span"("projectId", "retained", "startTime");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "Session_projectId_lastTime_id_idx" ON "Session"("projectId", "lastTime" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "Trace_projectId_sessionId_startTime_id_idx" ON "Trace"("projectId", "sessionId", "startTime" DESC, "id" DESC);

-- Spans written before costs had a source: a cost present was the writer's own.
UPDATE "Span" SET "costSource" = 'PROVIDED' WHERE "cost" IS NOT NULL;
