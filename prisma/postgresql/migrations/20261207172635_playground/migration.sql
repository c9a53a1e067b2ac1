-- AlterTable
ALTER TABLE "Trace" ADD COLUMN     "origin" TEXT NOT NULL DEFAULT 'APP',
ADD COLUMN     "sourceSpanId" TEXT,
ADD COLUMN     "sourceTraceId" TEXT;

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
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ModelProvider_pkey" PRIMARY KEY ("projectId","id")
);

-- CreateIndex
CREATE INDEX "Trace_projectId_origin_startTime_id_idx" ON "Trace"("projectId", "origin", "startTime" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "Trace_projectId_sourceTraceId_startTime_id_idx" ON "Trace"("projectId", "sourceTraceId", "startTime" DESC, "id" DESC);
