/**
 * `npm run test:faults`: the fault-injection harness (test/faults) on its own: it runs real
 * processes for minutes and is not part of `npm test`. Same transform as vitest.config.ts.
 */
import { createRequire } from "node:module";
import swc from "unplugin-swc";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

export default defineConfig({
  plugins: [swc.vite({ module: { type: "es6" } })],
  resolve: { alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }] },
  test: {
    include: ["test/faults/**/*.faults.ts"],
    // Compiles dist/: the harness runs `node dist/index.js` and `node dist/embedded-mongo/cli.js`.
    globalSetup: ["test/faults/global-setup.ts"],
    testTimeout: 15 * 60_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
