import { existsSync } from "node:fs";
import path from "node:path";

/**
 * The folder holding package.json (and migrations/, dist/web). Found by walking up, so the
 * same code works from src/ under tsx and from the compiled copy in dist/node/.
 */
export function projectRoot(from = import.meta.dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`No package.json above ${from}`);
  }
}
