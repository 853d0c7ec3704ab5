import { createRequire } from "node:module";
import swc from "unplugin-swc";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

// esbuild (vitest's default transform) emits no decorator metadata, which typegoose and
// type-graphql need: SWC compiles the sources instead.
export default defineConfig({
  plugins: [swc.vite({ module: { type: "es6" } })],
  resolve: {
    // graphql 16 ships CJS (main) and ESM (module) builds. Node, and so every dependency,
    // loads the CJS one; vite would hand our sources the ESM one, and graphql refuses objects
    // from "another module or realm". One copy for everyone:
    alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }],
  },
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // vitest's default is one worker fewer than the cores: 1 on a 2-core CI machine, which then
    // runs the files one after another at about one core busy (the tests wait on sockets and
    // child processes much of the time). Two workers keep both cores busy.
    maxWorkers: 2,
    // The AWS SDK's notice that its 2027 releases need Node 22 (README, "Requirements") is for
    // operators; in the test run it would be noise printed by every S3 test process.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
