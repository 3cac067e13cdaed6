/** Thin fetch wrapper over the JSON API: problem+json errors become ApiError. */

export interface FieldProblem {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly fieldErrors: Record<string, string> = {},
    readonly body: unknown = null,
  ) {
    super(detail);
  }
}

export const API = "/api/v1";

type Listener = (err: ApiError, url: string) => void;
const listeners = new Set<Listener>();
/** Called for every failed request (used to notice a lost organization). */
export function onApiError(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

function normalizePath(p: unknown): string {
  const parts = Array.isArray(p) ? p.map(String) : String(p ?? "").split(/[./]/);
  const clean = parts.filter((s) => s !== "" && s !== "body" && s !== "querystring");
  return clean.join(".");
}

export async function api<T = unknown>(
  path: string,
  opts: { method?: string; body?: unknown; query?: Record<string, string | number | undefined | null> } = {},
): Promise<T> {
  let url = path.startsWith("/api") ? path : `${API}${path}`;
  if (opts.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
    const s = q.toString();
    if (s) url += `?${s}`;
  }
  const init: RequestInit = { method: opts.method ?? "GET", credentials: "same-origin", headers: {} };
  if (opts.body !== undefined) {
    if (typeof opts.body === "string") {
      (init.headers as Record<string, string>)["content-type"] = "text/csv";
      init.body = opts.body;
    } else {
      (init.headers as Record<string, string>)["content-type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
  }
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch {
    const err = new ApiError(0, "network_error", "network");
    for (const l of listeners) l(err, url);
    throw err;
  }
  if (res.status === 204) return undefined as T;
  const type = res.headers.get("content-type") ?? "";
  const data: unknown = type.includes("json") ? await res.json().catch(() => null) : await res.text();
  if (!res.ok) {
    const p = (data && typeof data === "object" ? data : {}) as {
      code?: string;
      detail?: string;
      title?: string;
      errors?: { path?: unknown; message?: string }[];
    };
    const fields: Record<string, string> = {};
    for (const e of p.errors ?? []) {
      const key = normalizePath(e.path);
      if (key && !fields[key]) fields[key] = e.message ?? "";
    }
    const err = new ApiError(
      res.status,
      p.code ?? `http_${res.status}`,
      p.detail ?? p.title ?? res.statusText,
      fields,
      data,
    );
    for (const l of listeners) l(err, url);
    throw err;
  }
  return data as T;
}

/**
 * Every item of a cursor-paginated list, pages of 100 followed to the end (at most `maxPages`):
 * for pickers, which must offer the 101st tag or list too.
 */
export async function allPages<T>(
  path: string,
  query: Record<string, string | number | undefined> = {},
  maxPages = 50,
): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const page = await api<{ items: T[]; nextCursor: string | null }>(path, {
      query: { ...query, limit: 100, cursor },
    });
    all.push(...itemsOf<T>(page));
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  return all;
}

/** Lists come as `{items, nextCursor}`; tolerate a bare array too. */
export function itemsOf<T>(data: unknown): T[] {
  if (Array.isArray(data)) return data as T[];
  if (data && typeof data === "object" && Array.isArray((data as { items?: unknown }).items))
    return (data as { items: T[] }).items;
  return [];
}

export function isApiError(e: unknown, status?: number): e is ApiError {
  return e instanceof ApiError && (status === undefined || e.status === status);
}
