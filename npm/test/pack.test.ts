/** `npm pack` gives a tarball that installs into an empty project and imports, with its types. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { tempDir } from "./helpers.js";

const run = promisify(execFile);
const PACKAGE = fileURLToPath(new URL("../..", import.meta.url));
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

test("the packed tarball installs and imports", async () => {
  const out = tempDir("pack");
  // dist/ is built by `npm test` (pretest) already; --ignore-scripts skips building it again.
  const { stdout } = await run(NPM, ["pack", "--json", "--ignore-scripts", "--pack-destination", out], { cwd: PACKAGE });
  const [packed] = JSON.parse(stdout);
  const files = packed.files.map((f: { path: string }) => f.path).sort();
  assert.deepEqual(files.filter((f: string) => !f.startsWith("dist/")), ["README.md", "package.json"]);
  for (const name of ["index", "connection", "sdk", "vercel", "start"]) {
    assert.ok(files.includes(`dist/${name}.js`) && files.includes(`dist/${name}.d.ts`), name);
  }
  const app = tempDir("app");
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  await run(NPM, ["install", "--offline", "--no-audit", "--no-fund", join(out, packed.filename)], { cwd: app });
  assert.ok(existsSync(join(app, "node_modules", "headroom-sdk", "dist", "index.d.ts")));
  const script = `import { withHeadroom, headroomMiddleware, headroomFetch, Headroom } from "headroom-sdk";
    console.log([typeof withHeadroom, typeof headroomFetch, headroomMiddleware().specificationVersion,
                 new Headroom({ url: "http://127.0.0.1:1/" }).url].join(" "));`;
  const imported = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: app });
  assert.equal(imported.stdout.trim(), "function function v3 http://127.0.0.1:1");
});
