-- AlterTable
ALTER TABLE "Trace" ADD COLUMN     "generationInputPreview" TEXT,
ADD COLUMN     "generationInputSpanId" TEXT,
ADD COLUMN     "generationInputStart" TIMESTAMP(3),
ADD COLUMN     "generationOutputPreview" TEXT,
ADD COLUMN     "generationOutputSpanId" TEXT,
ADD COLUMN     "generationOutputStart" TIMESTAMP(3);

-- A trace whose root span has not arrived is RUNNING, not OK or ERROR: exporters without pending
-- spans send the steps as they end and the root last. Traces stored before this rule follow it now.
UPDATE "Trace" SET "status" = 'RUNNING', "durationMs" = NULL WHERE "rootSpanId" IS NULL AND "spanCount" > 0;
