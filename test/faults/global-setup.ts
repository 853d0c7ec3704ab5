/**
 * The harness runs the compiled build (dist/). It compiles it first, as `npm test` does,
 * unless FAULTS_BUILD=0 says dist/ is already current (.ci/run, right after `npm test`).
 */
import setup from "../global-setup.js";

export default function faultsSetup(): void {
  if (process.env.FAULTS_BUILD === "0") return;
  setup();
}
