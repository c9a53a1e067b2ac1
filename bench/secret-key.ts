/**
 * The key every server the benchmark starts seals model provider secrets with (SPANTREE_SECRET_KEY):
 * given, so that no start writes ./data/secret-key into the checkout. Any 32 characters will do here.
 */
export const SECRET_KEY = 'benchmark-secret-key-0123456789abcdefghij';
