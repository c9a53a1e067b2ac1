-- DropIndex
DROP INDEX "Trace_projectId_cost_id_idx";

-- DropIndex
DROP INDEX "Trace_projectId_durationMs_id_idx";

-- DropIndex
DROP INDEX "Trace_projectId_startTime_id_idx";

-- DropIndex
DROP INDEX "Trace_projectId_status_startTime_idx";

-- DropIndex
DROP INDEX "Trace_projectId_totalTokens_id_idx";

-- CreateIndex
CREATE INDEX "Trace_projectId_origin_status_startTime_idx" ON "Trace"("projectId", "origin", "status", "startTime" DESC);

-- CreateIndex
CREATE INDEX "Trace_projectId_origin_durationMs_id_idx" ON "Trace"("projectId", "origin", "durationMs", "id");

-- CreateIndex
CREATE INDEX "Trace_projectId_origin_cost_id_idx" ON "Trace"("projectId", "origin", "cost", "id");

-- CreateIndex
CREATE INDEX "Trace_projectId_origin_totalTokens_id_idx" ON "Trace"("projectId", "origin", "totalTokens", "id");
