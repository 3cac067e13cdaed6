import { type QueryKey, useInfiniteQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { api } from "./api.js";

/**
 * A list the server hands out a page at a time (`{items, nextCursor}`): the query's pages (for
 * `LoadMore`) with their rows as one array in `data` (for `QueryView`).
 * - `filters` go with every page and into the key; while the rows of new filters load, the
 *   previous ones stay on screen.
 * - While a row still moves on the server (`pollWhile.row`), the list is read again every
 *   `pollWhile.ms`; `poll` reads it again at that pace whatever the rows (the page knows when).
 */
export function useCursorList<T>({
  queryKey,
  path,
  limit,
  filters,
  enabled,
  poll,
  pollWhile,
}: {
  queryKey: QueryKey;
  path: string;
  limit: number;
  filters?: Record<string, string>;
  enabled?: boolean;
  poll?: number | false;
  pollWhile?: { row: (x: T) => boolean; ms: number };
}) {
  const pages = useInfiniteQuery({
    queryKey: filters ? [...queryKey, filters] : queryKey,
    queryFn: ({ pageParam }) =>
      api<{ items: T[]; nextCursor: string | null }>(path, { query: { ...filters, limit, cursor: pageParam } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    placeholderData: filters ? (prev) => prev : undefined,
    enabled,
    refetchInterval: (q) =>
      poll ??
      (pollWhile && q.state.data?.pages.some((p) => p.items.some((x) => pollWhile.row(x))) ? pollWhile.ms : false),
  });
  const data = useMemo(() => pages.data?.pages.flatMap((p) => p.items), [pages.data]);
  return { ...pages, data };
}
