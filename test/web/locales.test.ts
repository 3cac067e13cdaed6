/**
 * The web app's two catalogues: the same keys, no empty message, the same {{placeholders}}.
 * (The `Messages` type only checks that Spanish has at least the English keys with string values.)
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { en } from "../../src/web/locales/en.js";
import { es } from "../../src/web/locales/es.js";

type Tree = { [key: string]: string | Tree };

function flatten(tree: Tree, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === "string") out.set(path, value);
    else for (const [k, v] of flatten(value, path)) out.set(k, v);
  }
  return out;
}

const placeholders = (s: string) => [...s.matchAll(/\{\{\s*([\w.]+)[^}]*\}\}/g)].map((m) => m[1]).sort();

describe("web locales", () => {
  const english = flatten(en as unknown as Tree);
  const spanish = flatten(es as unknown as Tree);

  it("has a sizeable catalogue", () => {
    expect(english.size).toBeGreaterThan(100);
  });

  it("en and es have exactly the same keys", () => {
    const missingInEs = [...english.keys()].filter((k) => !spanish.has(k));
    const extraInEs = [...spanish.keys()].filter((k) => !english.has(k));
    expect({ missingInEs, extraInEs }).toEqual({ missingInEs: [], extraInEs: [] });
  });

  it("has no empty message in either language", () => {
    const empty = [
      ...[...english].filter(([, v]) => v.trim() === "").map(([k]) => `en:${k}`),
      ...[...spanish].filter(([, v]) => v.trim() === "").map(([k]) => `es:${k}`),
    ];
    expect(empty).toEqual([]);
  });

  it("uses the same interpolation placeholders in both languages", () => {
    const differing = [...english]
      .filter(([k, v]) => spanish.has(k) && placeholders(v).join() !== placeholders(spanish.get(k) ?? "").join())
      .map(([k]) => k);
    expect(differing).toEqual([]);
  });
});

/** Every `.ts` file under a directory. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : [];
  });
}

describe("server errors in the web app's languages", () => {
  it("translates every problem code the server throws, in en and es (lib/problems.ts)", () => {
    const root = path.resolve(import.meta.dirname, "../../src/server");
    // Codes passed to the problem helpers and AppError: the first snake_case string literal of the call.
    const call = /\b(?:new AppError|forbidden|badRequest|conflict|gone|notFound|unauthorized)\(([^;]{0,300})/g;
    const codes = new Set<string>();
    for (const file of sources(root)) {
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(call))
        for (const lit of (m[1] ?? "").matchAll(/"([a-z][a-z0-9]*(?:_[a-z0-9]+)+)"/g)) codes.add(lit[1]!);
    }
    expect(codes.size).toBeGreaterThan(30);
    const en_ = (en as unknown as { problems: Record<string, string> }).problems;
    const es_ = (es as unknown as { problems: Record<string, string> }).problems;
    const missing = [...codes].filter((c) => !en_[c] || !es_[c]).sort();
    expect(missing).toEqual([]);
  });
});
