-- AlterTable
ALTER TABLE "Span" ADD COLUMN     "costSource" TEXT NOT NULL DEFAULT 'UNKNOWN';

-- AlterTable
ALTER TABLE "Trace" ADD COLUMN     "sessionId" TEXT;

-- CreateTable
CREATE TABLE "Session" (
    "projectId" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "traceCount" INTEGER NOT NULL DEFAULT 0,
    "firstTime" TIMESTAMP(3) NOT NULL,
    "lastTime" TIMESTAMP(3) NOT NULL,
    "totalTokens" INTEGER NOT NULL DEFAULT 0,
    "cost" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "errorCount" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Session_pkey" PRIMARY KEY ("projectId","id")
);

-- CreateTable
CREATE TABLE "ModelPrice" (
    "projectId" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "inputPerMillion" DOUBLE PRECISION NOT NULL,
    "outputPerMillion" DOUBLE PRECISION NOT NULL,
    "cachedInputPerMillion" DOUBLE PRECISION,
    "reasoningPerMillion" DOUBLE PRECISION,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ModelPrice_pkey" PRIMARY KEY ("projectId","model")
);

-- CreateIndex
CREATE INDEX "Session_projectId_lastTime_id_idx" ON "Session"("projectId", "lastTime" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "Trace_projectId_sessionId_startTime_id_idx" ON "Trace"("projectId", "sessionId", "startTime" DESC, "id" DESC);

-- Spans written before costs had a source: a cost present was the writer's own.
UPDATE "Span" SET "costSource" = 'PROVIDED' WHERE "cost" IS NOT NULL;
