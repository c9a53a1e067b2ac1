-- Trigram indexes for the explorer's name search
CREATE EXTENSION IF NOT EXISTS "pg_trgm";

-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "Project" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Project_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Trace" (
    "projectId" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL DEFAULT '',
    "status" TEXT NOT NULL,
    "startTime" TIMESTAMP(3) NOT NULL,
    "endTime" TIMESTAMP(3),
    "durationMs" DOUBLE PRECISION,
    "spanCount" INTEGER NOT NULL DEFAULT 0,
    "totalTokens" INTEGER NOT NULL DEFAULT 0,
    "cost" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "composition" JSONB NOT NULL,
    "tags" JSONB NOT NULL,
    "meta" JSONB,
    "rootSpanId" TEXT,
    "inputPreview" TEXT,
    "outputPreview" TEXT,
    "spanSeq" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Trace_pkey" PRIMARY KEY ("projectId","id")
);

-- CreateTable
CREATE TABLE "Span" (
    "projectId" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "traceId" TEXT NOT NULL,
    "parentId" TEXT,
    "name" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "startTime" TIMESTAMP(3) NOT NULL,
    "endTime" TIMESTAMP(3),
    "durationMs" DOUBLE PRECISION,
    "input" JSONB,
    "output" JSONB,
    "error" TEXT,
    "meta" JSONB,
    "tags" JSONB NOT NULL,
    "score" DOUBLE PRECISION,
    "model" TEXT,
    "inputTokens" INTEGER,
    "outputTokens" INTEGER,
    "totalTokens" INTEGER,
    "cost" DOUBLE PRECISION,
    "instructions" TEXT,
    "seq" INTEGER NOT NULL,
    "ingestHash" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Span_pkey" PRIMARY KEY ("projectId","id")
);

-- CreateTable
CREATE TABLE "Event" (
    "projectId" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "traceId" TEXT NOT NULL,
    "spanId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "data" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Event_pkey" PRIMARY KEY ("projectId","id")
);

-- CreateTable
CREATE TABLE "Metric" (
    "projectId" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "traceId" TEXT NOT NULL,
    "spanId" TEXT NOT NULL,
    "dimension" TEXT NOT NULL,
    "value" DOUBLE PRECISION NOT NULL,
    "comment" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Metric_pkey" PRIMARY KEY ("projectId","id")
);

-- CreateIndex
CREATE INDEX "Trace_projectId_startTime_id_idx" ON "Trace"("projectId", "startTime" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "Trace_projectId_status_startTime_idx" ON "Trace"("projectId", "status", "startTime" DESC);

-- CreateIndex
CREATE INDEX "Trace_projectId_durationMs_id_idx" ON "Trace"("projectId", "durationMs", "id");

-- CreateIndex
CREATE INDEX "Trace_projectId_cost_id_idx" ON "Trace"("projectId", "cost", "id");

-- CreateIndex
CREATE INDEX "Trace_projectId_totalTokens_id_idx" ON "Trace"("projectId", "totalTokens", "id");

-- CreateIndex
CREATE INDEX "Trace_meta_idx" ON "Trace" USING GIN ("meta" jsonb_path_ops);

-- CreateIndex
CREATE INDEX "Trace_tags_idx" ON "Trace" USING GIN ("tags" jsonb_path_ops);

-- CreateIndex
CREATE INDEX "Trace_name_idx" ON "Trace" USING GIN ("name" gin_trgm_ops);

-- CreateIndex
CREATE UNIQUE INDEX "Trace_projectId_rootSpanId_key" ON "Trace"("projectId", "rootSpanId");

-- CreateIndex
CREATE INDEX "Span_projectId_traceId_startTime_idx" ON "Span"("projectId", "traceId", "startTime");

-- CreateIndex
CREATE INDEX "Span_projectId_traceId_seq_idx" ON "Span"("projectId", "traceId", "seq");

-- CreateIndex
CREATE INDEX "Span_projectId_startTime_id_idx" ON "Span"("projectId", "startTime" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "Span_projectId_parentId_idx" ON "Span"("projectId", "parentId");

-- CreateIndex
CREATE INDEX "Span_projectId_model_idx" ON "Span"("projectId", "model");

-- CreateIndex
CREATE INDEX "Span_meta_idx" ON "Span" USING GIN ("meta" jsonb_path_ops);

-- CreateIndex
CREATE INDEX "Event_projectId_spanId_createdAt_idx" ON "Event"("projectId", "spanId", "createdAt");

-- CreateIndex
CREATE INDEX "Event_projectId_traceId_createdAt_idx" ON "Event"("projectId", "traceId", "createdAt");

-- CreateIndex
CREATE INDEX "Metric_projectId_spanId_createdAt_idx" ON "Metric"("projectId", "spanId", "createdAt");
