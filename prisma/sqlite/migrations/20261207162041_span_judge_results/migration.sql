-- AlterTable
ALTER TABLE "Span" ADD COLUMN "observations" TEXT;
ALTER TABLE "Span" ADD COLUMN "scorerContext" JSONB;
