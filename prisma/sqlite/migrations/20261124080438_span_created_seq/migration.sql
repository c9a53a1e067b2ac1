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
    "instructions" TEXT,
    "seq" INTEGER NOT NULL,
    "createdSeq" INTEGER NOT NULL DEFAULT 0,
    "ingestHash" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,

    PRIMARY KEY ("projectId", "id")
);
INSERT INTO "new_Span" ("cost", "createdAt", "durationMs", "endTime", "error", "id", "ingestHash", "input", "inputTokens", "instructions", "meta", "model", "name", "output", "outputTokens", "parentId", "projectId", "score", "seq", "startTime", "tags", "totalTokens", "traceId", "type", "updatedAt") SELECT "cost", "createdAt", "durationMs", "endTime", "error", "id", "ingestHash", "input", "inputTokens", "instructions", "meta", "model", "name", "output", "outputTokens", "parentId", "projectId", "score", "seq", "startTime", "tags", "totalTokens", "traceId", "type", "updatedAt" FROM "Span";
DROP TABLE "Span";
ALTER TABLE "new_Span" RENAME TO "Span";
CREATE INDEX "Span_projectId_traceId_startTime_idx" ON "Span"("projectId", "traceId", "startTime");
CREATE INDEX "Span_projectId_traceId_seq_idx" ON "Span"("projectId", "traceId", "seq");
CREATE INDEX "Span_projectId_startTime_id_idx" ON "Span"("projectId", "startTime" DESC, "id" DESC);
CREATE INDEX "Span_projectId_parentId_idx" ON "Span"("projectId", "parentId");
CREATE INDEX "Span_projectId_model_idx" ON "Span"("projectId", "model");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
