/**
 * `npm run schema` writes schema/schema.graphql from the code; `npm run schema:check` fails when
 * the committed file is stale or when the served schema lacks or reshapes anything of the
 * contract's served areas (see src/contract-check.ts).
 */
import "reflect-metadata";
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { printSchema } from "graphql";
import { buildAppSchema } from "../schema.js";
import { checkContract, SERVED_AREAS } from "../contract-check.js";

const root = process.cwd();
const target = path.join(root, "schema/schema.graphql");
const sdl = printSchema(await buildAppSchema()) + "\n";

if (process.argv.includes("--check")) {
  let failed = false;
  if (!existsSync(target) || readFileSync(target, "utf8") !== sdl) {
    console.error("schema/schema.graphql is stale: run `npm run schema` and commit it");
    failed = true;
  }
  const contractPath = process.env.LETSAPP_CONTRACT ?? path.resolve(root, "../shared/api/contract.graphql");
  if (existsSync(contractPath)) {
    const problems = checkContract(readFileSync(contractPath, "utf8"), sdl, SERVED_AREAS);
    for (const p of problems) console.error(`contract: ${p}`);
    if (problems.length) failed = true;
    else console.log(`contract: the served areas (${SERVED_AREAS.join(", ") || "none yet"}) match ${contractPath}`);
  } else if (process.env.CI === "true") {
    console.error(`contract: ${contractPath} is missing (required under CI=true)`);
    failed = true;
  } else {
    console.warn(`contract: ${contractPath} not present; contract check skipped`);
  }
  process.exit(failed ? 1 : 0);
} else {
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, sdl);
  console.log(`wrote ${path.relative(root, target)}`);
}
