/** The import graph of src/ and the layer rules (see layers.test.ts). */
import path from "node:path";
import type ts from "typescript";

export type Layer = "engine" | "shared" | "feature" | "root";

const SHARED_DIRS = ["common/", "auth/", "storage/", "subscriptions/", "mail/", "http/"];
const SHARED_FILES = ["pubsub.ts", "context.ts", "errors.ts", "config.ts", "playground.ts"];
/** Which layers each layer may import. */
const ALLOWED: Record<Layer, Layer[]> = {
  engine: ["engine"],
  shared: ["shared", "engine"],
  feature: ["feature", "shared"],
  root: ["root", "feature", "shared", "engine"],
};

export function layerOf(file: string): Layer {
  if (file.startsWith("embedded-mongo/")) return "engine";
  if (file.startsWith("modules/")) return "feature";
  if (SHARED_DIRS.some((d) => file.startsWith(d)) || SHARED_FILES.includes(file)) return "shared";
  return "root";
}

/** src-relative file → src-relative files it imports (relative specifiers only; packages are not layers). */
export function importGraph(
  srcDir: string,
  readDir: (dir: string, opts: { withFileTypes: true }) => Array<{ name: string; isDirectory(): boolean }>,
  readFile: (file: string) => string,
  typescript: typeof ts,
): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const e of readDir(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) {
        // preProcessFile lists imports, re-exports, dynamic imports and `declare module "…"`.
        const info = typescript.preProcessFile(readFile(full), true, true);
        const specs = [...info.importedFiles, ...(info.ambientExternalModules ?? []).map((fileName) => ({ fileName }))];
        const deps = specs
          .map((i) => i.fileName)
          .filter((s) => s.startsWith("."))
          .map((s) => path.relative(srcDir, path.resolve(path.dirname(full), s.replace(/\.js$/, ".ts"))));
        graph.set(path.relative(srcDir, full), [...new Set(deps)]);
      }
    }
  };
  walk(srcDir);
  return graph;
}

export function violations(graph: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [file, deps] of graph) {
    const from = layerOf(file);
    for (const dep of deps) {
      const to = layerOf(dep);
      if (!ALLOWED[from].includes(to)) out.push(`${file} (${from}) imports ${dep} (${to})`);
    }
  }
  return out;
}

const featureOf = (file: string): string | null => (file.startsWith("modules/") ? file.split("/")[1] : null);

/**
 * Groups of feature folders that import each other in a circle (strongly connected components
 * of the folder graph, Tarjan), each as "a, b, c" sorted; empty when the folders form a DAG.
 */
export function featureCycles(graph: Map<string, string[]>): string[] {
  const edges = new Map<string, Set<string>>();
  for (const [file, deps] of graph) {
    const a = featureOf(file);
    if (!a) continue;
    if (!edges.has(a)) edges.set(a, new Set());
    for (const dep of deps) {
      const b = featureOf(dep);
      if (b && b !== a) edges.get(a)!.add(b);
    }
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const groups: string[] = [];
  const connect = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        group.push(w);
      } while (w !== v);
      if (group.length > 1) groups.push(group.sort().join(", "));
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) connect(v);
  return groups.sort();
}
