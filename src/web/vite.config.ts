/**
 * Builds the browser UI into dist/web/, where src/http/web-app.ts serves it: index.html, and assets
 * under /assets/ with content hashes in their names (so they can be cached for good). Paths are
 * relative to the package root, where npm runs scripts.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'src/web',
  base: '/',
  // Preact's JSX runtime, with no plugin.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  publicDir: false,
  build: {
    outDir: '../../dist/web',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: true,
    // The page allows no inline script (Content-Security-Policy), so no inline polyfill either.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  server: { port: 5173, proxy: { '/graphql': { target: 'http://127.0.0.1:4000', ws: true } } },
});
