// Summary of a V8 CPU profile (inspector Profiler.stop) for bench/http.bench.ts: self time by
// where the code lives (an npm package, Node's own modules, Chorus' src/ files, GC), busy time only.

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface ProfileSummary {
  busyMs: number;
  idlePct: number;
  /** [category, % of busy time], largest first. */
  byCategory: [string, number][];
  /** [function @ place, % of busy time], largest first. */
  byFunction: [string, number][];
}

/** node_modules/<pkg>, node:<module>, src/<dir>, or a V8 pseudo-frame. */
function categoryOf(url: string, fn: string): string | null {
  if (fn === "(garbage collector)") return "GC";
  if (fn === "(program)") return "V8/native (program)";
  if (fn === "(idle)") return "(idle)";
  if (!url) return null; // a builtin: charged to its caller's category
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + 14).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith("node:")) {
    const mod = url.slice(5).replace(/^internal\//, "");
    if (/^(net|stream|streams\/|_http|http|timers|async_hooks|process\/task_queues)/.test(mod))
      return "node: http/net/streams";
    return `node: ${mod.split("/")[0]}`;
  }
  const src = url.indexOf("/src/");
  if (src >= 0)
    return `chorus ${url
      .slice(src + 1)
      .split("/")
      .slice(0, 3)
      .join("/")}`;
  const bench = url.indexOf("/bench/");
  if (bench >= 0) return "bench harness";
  return url;
}

export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const hits = new Map<number, number>();
  if (profile.samples) for (const s of profile.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
  else for (const n of profile.nodes) hits.set(n.id, n.hitCount ?? 0);
  const catCache = new Map<number, string>();
  const categoryFor = (id: number): string => {
    const cached = catCache.get(id);
    if (cached) return cached;
    const n = byId.get(id)!;
    let c = categoryOf(n.callFrame.url, n.callFrame.functionName);
    if (c === null) {
      const p = parent.get(id);
      c = p === undefined ? "V8/native (program)" : categoryFor(p);
    }
    catCache.set(id, c);
    return c;
  };
  const total = [...hits.values()].reduce((a, b) => a + b, 0);
  const cats = new Map<string, number>();
  const fns = new Map<string, number>();
  let idle = 0;
  for (const [id, h] of hits) {
    const cat = categoryFor(id);
    if (cat === "(idle)") {
      idle += h;
      continue;
    }
    cats.set(cat, (cats.get(cat) ?? 0) + h);
    const f = byId.get(id)!.callFrame;
    const where = f.url ? `${cat === f.url ? f.url.split("/").slice(-2).join("/") : cat}:${f.lineNumber + 1}` : cat;
    const key = `${f.functionName || "(anonymous)"} @ ${where}`;
    fns.set(key, (fns.get(key) ?? 0) + h);
  }
  const busy = total - idle;
  const pct = (m: Map<string, number>, n: number): [string, number][] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => [k, busy ? (100 * v) / busy : 0]);
  const durMs = (profile.endTime - profile.startTime) / 1000;
  return {
    busyMs: total ? (durMs * busy) / total : 0,
    idlePct: total ? (100 * idle) / total : 0,
    byCategory: pct(cats, 14),
    byFunction: pct(fns, 16),
  };
}
