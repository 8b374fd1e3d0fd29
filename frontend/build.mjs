// Copy the compiled NHS.UK frontend (CSS, ES module JS, images, manifest) into the
// Python package's static folder, so the web app serves them from /static/nhsuk/.
// Why a copy and not a bundler: nhsuk-frontend ships ready-built files; we add nothing.
import { cpSync, mkdirSync, rmSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "node_modules", "nhsuk-frontend", "dist", "nhsuk");
const out = join(here, "..", "src", "carepilot", "web", "static", "nhsuk");
const version = JSON.parse(
  readFileSync(join(here, "node_modules", "nhsuk-frontend", "package.json"), "utf8"),
).version;

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const name of ["nhsuk-frontend.min.css", "nhsuk-frontend.min.js"]) {
  cpSync(join(dist, name), join(out, name));
}
cpSync(join(dist, "assets"), join(out, "assets"), { recursive: true });
writeFileSync(join(out, "VERSION"), `${version}\n`);
console.log(`nhsuk-frontend ${version} -> ${out}`);
